// SPDX-License-Identifier: MIT
//
// The one place the fuzz harness touches the library's fake kernel
// transport: a session serving `fs` over one end of a SOCK_SEQPACKET
// socketpair, each message one request (kernel -> server) or one reply.
#pragma once

#include <atomfs/fuse/session.h>

#include <memory>

namespace atomfs::fuzz {

std::unique_ptr<fuse::Session> attach_over_socket(fuse::Filesystem &fs, int fd,
						  const fuse::SessionOptions &opts);

} // namespace atomfs::fuzz
