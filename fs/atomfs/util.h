// SPDX-License-Identifier: MIT
//
// Small helpers shared by the operation files.
#pragma once

#include <atomfs/fuse/filesystem.h>

#include <fcntl.h>
#include <limits.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace atomfs::fs {

// Wire bits we use (FUSE ABI, fuse_kernel.h); kept here under our own names
// so that this code does not depend on which ABI header a TU includes.
namespace wire {
inline constexpr std::uint32_t FATTR_MODE = 1u << 0, FATTR_UID = 1u << 1, FATTR_GID = 1u << 2,
				FATTR_SIZE = 1u << 3, FATTR_ATIME = 1u << 4,
				FATTR_MTIME = 1u << 5, FATTR_FH = 1u << 6,
				FATTR_ATIME_NOW = 1u << 7, FATTR_MTIME_NOW = 1u << 8,
				FATTR_KILL_SUIDGID = 1u << 11;
inline constexpr std::uint32_t FOPEN_DIRECT_IO = 1u << 0, FOPEN_KEEP_CACHE = 1u << 1,
				FOPEN_CACHE_DIR = 1u << 3, FOPEN_NOFLUSH = 1u << 5,
				FOPEN_PARALLEL_DIRECT_WRITES = 1u << 6,
				FOPEN_PASSTHROUGH = 1u << 7, FOPEN_FILE_CREATED = 1u << 8;
inline constexpr std::uint64_t FUSE_WRITEBACK_CACHE = 1ull << 16,
				FUSE_HANDLE_KILLPRIV_V2 = 1ull << 28,
				FUSE_PASSTHROUGH = 1ull << 37;
} // namespace wire

// A validated single path component, NUL-terminated for syscalls.
// Refuses what could leave the directory: "", ".", "..", '/', and NUL.
struct Name {
	char buf[NAME_MAX + 1];
	fuse::Errno err = 0;
	explicit Name(std::string_view s)
	{
		if (s.size() > NAME_MAX) {
			err = ENAMETOOLONG;
		} else if (s.empty() || s == "." || s == ".." ||
			   s.find('/') != std::string_view::npos ||
			   s.find('\0') != std::string_view::npos) {
			err = EINVAL;
		} else {
			std::memcpy(buf, s.data(), s.size());
			buf[s.size()] = 0;
		}
	}
	const char *c_str() const { return buf; }
};

// "/proc/self/fd/N" for syscalls that have no AT_EMPTY_PATH form.
struct ProcPath {
	char buf[32];
	explicit ProcPath(int fd) { std::snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd); }
	const char *c_str() const { return buf; }
};

} // namespace atomfs::fs
