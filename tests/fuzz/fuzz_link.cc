// SPDX-License-Identifier: MIT
//
// Adapter between the harness and the library's fake kernel transport
// (lib/transport/fake_kernel.h). Kept to this one function so that a change
// of the transport's interface touches nothing else in the harness.
#include "fuzz_link.h"

#include "transport/fake_kernel.h"

namespace atomfs::fuzz {

std::unique_ptr<fuse::Session> attach_over_socket(fuse::Filesystem &fs, int fd,
						  const fuse::SessionOptions &opts)
{
	return fuse::Session::attach(fs, fuse::make_socket_transport(fd), opts);
}

} // namespace atomfs::fuzz
