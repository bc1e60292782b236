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
