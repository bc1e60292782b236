// SPDX-License-Identifier: MIT
//
// Opcode names as the counters, the debug log and the stats JSON print them
// ("LOOKUP", "OPEN_ATOMIC"): the kernel's names without the FUSE_ prefix.
#pragma once

#include "protocol/abi.h"

#include <cstdint>
#include <string_view>

namespace atomfs::fuse::protocol {

// Counters are kept per opcode below this bound; CUSE_INIT and anything
// larger are counted as "UNKNOWN".
inline constexpr std::uint32_t kOpcodeSlots = 64;

constexpr std::string_view opcode_name(std::uint32_t op)
{
	using namespace abi;
	switch (op) {
	case FUSE_LOOKUP: return "LOOKUP";
	case FUSE_FORGET: return "FORGET";
	case FUSE_GETATTR: return "GETATTR";
	case FUSE_SETATTR: return "SETATTR";
	case FUSE_READLINK: return "READLINK";
	case FUSE_SYMLINK: return "SYMLINK";
	case FUSE_MKNOD: return "MKNOD";
	case FUSE_MKDIR: return "MKDIR";
	case FUSE_UNLINK: return "UNLINK";
	case FUSE_RMDIR: return "RMDIR";
	case FUSE_RENAME: return "RENAME";
	case FUSE_LINK: return "LINK";
	case FUSE_OPEN: return "OPEN";
	case FUSE_READ: return "READ";
	case FUSE_WRITE: return "WRITE";
	case FUSE_STATFS: return "STATFS";
	case FUSE_RELEASE: return "RELEASE";
	case FUSE_FSYNC: return "FSYNC";
	case FUSE_SETXATTR: return "SETXATTR";
	case FUSE_GETXATTR: return "GETXATTR";
	case FUSE_LISTXATTR: return "LISTXATTR";
	case FUSE_REMOVEXATTR: return "REMOVEXATTR";
	case FUSE_FLUSH: return "FLUSH";
	case FUSE_INIT: return "INIT";
	case FUSE_OPENDIR: return "OPENDIR";
	case FUSE_READDIR: return "READDIR";
	case FUSE_RELEASEDIR: return "RELEASEDIR";
	case FUSE_FSYNCDIR: return "FSYNCDIR";
	case FUSE_GETLK: return "GETLK";
	case FUSE_SETLK: return "SETLK";
	case FUSE_SETLKW: return "SETLKW";
	case FUSE_ACCESS: return "ACCESS";
	case FUSE_CREATE: return "CREATE";
	case FUSE_INTERRUPT: return "INTERRUPT";
	case FUSE_BMAP: return "BMAP";
	case FUSE_DESTROY: return "DESTROY";
	case FUSE_IOCTL: return "IOCTL";
	case FUSE_POLL: return "POLL";
	case FUSE_NOTIFY_REPLY: return "NOTIFY_REPLY";
	case FUSE_BATCH_FORGET: return "BATCH_FORGET";
	case FUSE_FALLOCATE: return "FALLOCATE";
	case FUSE_READDIRPLUS: return "READDIRPLUS";
	case FUSE_RENAME2: return "RENAME2";
	case FUSE_LSEEK: return "LSEEK";
	case FUSE_COPY_FILE_RANGE: return "COPY_FILE_RANGE";
	case FUSE_SETUPMAPPING: return "SETUPMAPPING";
	case FUSE_REMOVEMAPPING: return "REMOVEMAPPING";
	case FUSE_SYNCFS: return "SYNCFS";
	case FUSE_TMPFILE: return "TMPFILE";
	case FUSE_STATX: return "STATX";
	case FUSE_OPEN_ATOMIC: return "OPEN_ATOMIC";
	default: return {};
	}
}

// The counter slot of an opcode; slot 0 (no opcode uses it) is "UNKNOWN".
constexpr std::uint32_t opcode_slot(std::uint32_t op)
{
	return op < kOpcodeSlots && !opcode_name(op).empty() ? op : 0;
}

} // namespace atomfs::fuse::protocol
