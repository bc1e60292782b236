// SPDX-License-Identifier: MIT
//
// From the filesystem's types (struct stat, Entry, OpenFile) to wire structs.
#pragma once

#include "protocol/abi.h"

#include <atomfs/fuse/filesystem.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace atomfs::fuse::protocol {

// A timeout in seconds as the kernel's (seconds, nanoseconds) pair.
// Negative or NaN means 0; huge values saturate instead of wrapping.
inline void split_timeout(double t, std::uint64_t &sec, std::uint32_t &nsec)
{
	if (!(t > 0)) {
		sec = 0;
		nsec = 0;
		return;
	}
	if (t >= 1e18) {
		sec = 1000000000000000000ull;
		nsec = 0;
		return;
	}
	double whole = std::floor(t);
	sec = static_cast<std::uint64_t>(whole);
	auto ns = static_cast<std::uint32_t>((t - whole) * 1e9);
	nsec = ns > 999999999u ? 999999999u : ns;
}

inline abi::fuse_attr to_fuse_attr(const struct stat &st)
{
	abi::fuse_attr a{};
	a.ino = st.st_ino;
	a.size = static_cast<std::uint64_t>(st.st_size);
	a.blocks = static_cast<std::uint64_t>(st.st_blocks);
	a.atime = static_cast<std::uint64_t>(st.st_atim.tv_sec);
	a.mtime = static_cast<std::uint64_t>(st.st_mtim.tv_sec);
	a.ctime = static_cast<std::uint64_t>(st.st_ctim.tv_sec);
	a.atimensec = static_cast<std::uint32_t>(st.st_atim.tv_nsec);
	a.mtimensec = static_cast<std::uint32_t>(st.st_mtim.tv_nsec);
	a.ctimensec = static_cast<std::uint32_t>(st.st_ctim.tv_nsec);
	a.mode = st.st_mode;
	a.nlink = static_cast<std::uint32_t>(st.st_nlink);
	a.uid = st.st_uid;
	a.gid = st.st_gid;
	// The kernel decodes rdev with new_decode_dev(): 12-bit major, 20-bit minor.
	unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
	a.rdev = (min & 0xff) | (maj << 8) | ((min & ~0xffu) << 12);
	a.blksize = static_cast<std::uint32_t>(st.st_blksize);
	return a;
}

inline abi::fuse_entry_out to_entry_out(const Entry &e)
{
	abi::fuse_entry_out o{};
	o.nodeid = e.nodeid;
	o.generation = e.generation;
	split_timeout(e.entry_timeout, o.entry_valid, o.entry_valid_nsec);
	split_timeout(e.attr_timeout, o.attr_valid, o.attr_valid_nsec);
	o.attr = to_fuse_attr(e.attr);
	return o;
}

inline abi::fuse_attr_out to_attr_out(const Attr &a)
{
	abi::fuse_attr_out o{};
	split_timeout(a.timeout, o.attr_valid, o.attr_valid_nsec);
	o.attr = to_fuse_attr(a.attr);
	return o;
}

inline abi::fuse_open_out to_open_out(const OpenFile &f)
{
	abi::fuse_open_out o{};
	o.fh = f.fh;
	o.open_flags = f.open_flags;
	o.backing_id = f.backing_id;
	return o;
}

inline void from_fuse_attr_times(const abi::fuse_setattr_in &in, struct stat &st)
{
	st.st_mode = in.mode;
	st.st_uid = in.uid;
	st.st_gid = in.gid;
	st.st_size = static_cast<off_t>(in.size);
	st.st_atim.tv_sec = static_cast<time_t>(in.atime);
	st.st_atim.tv_nsec = in.atimensec;
	st.st_mtim.tv_sec = static_cast<time_t>(in.mtime);
	st.st_mtim.tv_nsec = in.mtimensec;
	st.st_ctim.tv_sec = static_cast<time_t>(in.ctime);
	st.st_ctim.tv_nsec = in.ctimensec;
}

} // namespace atomfs::fuse::protocol
