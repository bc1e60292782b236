// SPDX-License-Identifier: MIT
//
// The /dev/fuse transport: the fd the mount was made with, plus one clone
// (FUSE_DEV_IOC_CLONE) per further worker so that every worker reads and
// replies on its own fd.
#pragma once

#include "transport/transport.h"

#include <memory>

namespace atomfs::fuse {

// Takes ownership of `fd` (an open /dev/fuse that a mount refers to).
std::unique_ptr<Transport> make_dev_fuse_transport(int fd);

} // namespace atomfs::fuse
