// SPDX-License-Identifier: MIT
//
// Mounting and unmounting a FUSE filesystem: mount(2) on an fd of /dev/fuse
// as root, Debian's fusermount3 (the _FUSE_COMMFD fd-passing protocol)
// otherwise.
#pragma once

#include <atomfs/fuse/session.h>

#include <string>

namespace atomfs::fuse {

struct MountHandle {
	int fd = -1;             // /dev/fuse, owned by the caller
	bool fusermount = false; // unmount through fusermount3 -u
	std::string mountpoint;  // absolute
};

// Returns false with a one-line reason; a stale mount left by a dead server
// on the mountpoint is named as such.
bool mount_fuse(const MountOptions &opts, MountHandle &out, std::string &error);

// Lazy unmount (MNT_DETACH / fusermount3 -u -z): open files keep the
// connection until closed, new lookups no longer reach it.
void unmount_fuse(const MountHandle &m);

} // namespace atomfs::fuse
