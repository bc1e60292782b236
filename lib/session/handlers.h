// SPDX-License-Identifier: MIT
//
// One function per opcode: read the arguments (range-checked), call the
// filesystem, encode the reply. Grouped by what they touch: names and
// attributes (handlers_entry.cc), open files (handlers_file.cc),
// directories (handlers_dir.cc), xattrs and locks (handlers_misc.cc).
#pragma once

#include "session/session_impl.h"

namespace atomfs::fuse::handlers {

// handlers_entry.cc
void lookup(Context &);
void forget(Context &);
void batch_forget(Context &);
void getattr(Context &);
void setattr(Context &);
void readlink(Context &);
void symlink(Context &);
void mknod(Context &);
void mkdir(Context &);
void unlink(Context &);
void rmdir(Context &);
void rename(Context &);
void rename2(Context &);
void link(Context &);
void statfs(Context &);
void access(Context &);

// handlers_file.cc
void open(Context &);
void create(Context &);
void open_atomic(Context &);
void tmpfile(Context &);
void read(Context &);
void write(Context &);
void flush(Context &);
void release(Context &);
void fsync(Context &);
void fallocate(Context &);
void lseek(Context &);
void copy_file_range(Context &);

// handlers_dir.cc
void opendir(Context &);
void readdir(Context &);
void readdirplus(Context &);
void releasedir(Context &);
void fsyncdir(Context &);

// handlers_misc.cc
void setxattr(Context &);
void getxattr(Context &);
void listxattr(Context &);
void removexattr(Context &);
void getlk(Context &);
void setlk(Context &);
void setlkw(Context &);
void init(Context &);
void destroy(Context &);
void interrupt(Context &);
void ignore(Context &);

// Shared by the entry-making handlers: reply an Entry, and give its lookup
// back to the filesystem if the kernel never gets it.
void reply_entry(Context &c, const Entry &e);

// OPEN and OPENDIR (handlers_file.cc): the same arguments and reply; a handle
// the kernel never receives is released (RELEASE / RELEASEDIR).
void open_node(Context &c, bool dir);
void release_lost(Context &c, NodeId node, const OpenFile &f, bool dir, int flags);

// A path component from the request: NUL-terminated inside the arguments
// and not empty (the filesystem checks "." / ".." / '/').
inline bool read_name(Context &c, std::string_view &out)
{
	auto s = c.args.string();
	if (!s || s->empty())
		return false;
	out = *s;
	return true;
}

} // namespace atomfs::fuse::handlers
