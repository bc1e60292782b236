// SPDX-License-Identifier: MIT
//
// The fake kernel (<atomfs/fuse/testing/fake_kernel.h>) with what the
// library's own tests and the fuzzer use besides: the wire ABI and the
// socket transport the session is attached to.
#pragma once

#include "protocol/abi.h"
#include "transport/transport.h"

#include <atomfs/fuse/testing/fake_kernel.h>

#include <memory>

namespace atomfs::fuse {

// Takes ownership of `fd` (one end of a SOCK_SEQPACKET socketpair).
std::unique_ptr<Transport> make_socket_transport(int fd);

} // namespace atomfs::fuse
