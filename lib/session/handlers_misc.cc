// SPDX-License-Identifier: MIT
//
// Extended attributes, locks, and the session's own opcodes (INIT,
// DESTROY, INTERRUPT).
#include "session/handlers.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <functional>

namespace atomfs::fuse::handlers {
namespace {

// GETXATTR / LISTXATTR: size 0 asks how much; otherwise the bytes, or
// ERANGE when they do not fit in size.
void reply_sized(Context &c, Errno err, std::uint32_t size, std::size_t len)
{
	if (err)
		return (void)c.reply_error(err);
	if (size == 0) {
		abi::fuse_getxattr_out out{};
		out.size = static_cast<std::uint32_t>(len);
		return (void)c.reply_struct(out);
	}
	if (len > size)
		return (void)c.reply_error(ERANGE);
	c.reply(c.out_space().first(len));
}

std::span<std::byte> sized_space(Context &c, std::uint32_t size)
{
	auto space = c.out_space();
	return size < space.size() ? space.first(size) : space;
}

bool read_lock(Context &c, abi::fuse_lk_in &in, Lock &lock)
{
	if (!c.args.read(in))
		return false;
	lock.start = in.lk.start;
	lock.end = in.lk.end;
	lock.type = in.lk.type;
	lock.pid = in.lk.pid;
	return true;
}

// SETLK and SETLKW; with FUSE_LK_FLOCK they are flock(2) (FUSE_FLOCK_LOCKS).
// A wait is first tried without waiting; only a lock held elsewhere makes
// it wait, on a thread of its own (waits.h), never on a worker.
void do_setlk(Context &c, bool wait)
{
	abi::fuse_lk_in in;
	Lock lock;
	if (!read_lock(c, in, lock))
		return (void)c.bad_request();
	const NodeId node = c.in.nodeid;
	const std::uint64_t fh = in.fh, owner = in.owner;
	Filesystem *fs = &c.fs;
	std::function<Errno(const Request &, bool)> call;
	if (in.lk_flags & abi::FUSE_LK_FLOCK) {
		const int op = lock.type == F_RDLCK ? LOCK_SH : lock.type == F_WRLCK ? LOCK_EX : LOCK_UN;
		call = [=](const Request &r, bool block) {
			return fs->flock(r, node, fh, owner, block ? op : op | LOCK_NB);
		};
	} else {
		call = [=](const Request &r, bool block) {
			return fs->setlk(r, node, fh, owner, lock, block);
		};
	}
	Errno err = call(c.req, false);
	if (!wait || (err != EAGAIN && err != EACCES))
		return (void)c.reply_error_or_ok(err);
	if (!c.session.wait_elsewhere(c, [call](const Request &r) { return call(r, true); }))
		c.reply_error(ENOLCK);
}

} // namespace

void setxattr(Context &c)
{
	// 16 bytes with FUSE_SETXATTR_EXT, the old 8 otherwise.
	abi::fuse_setxattr_in in{};
	std::size_t size = (c.session.connection().flags & abi::FUSE_SETXATTR_EXT)
				   ? sizeof(in)
				   : abi::FUSE_COMPAT_SETXATTR_IN_SIZE;
	std::string_view name;
	if (!c.args.read_prefix(in, size) || !read_name(c, name))
		return (void)c.bad_request();
	auto value = c.args.bytes(in.size);
	if (!value)
		return (void)c.bad_request();
	c.req.fuse_flags = in.setxattr_flags;
	c.reply_error_or_ok(
		c.fs.setxattr(c.req, c.in.nodeid, name, *value, static_cast<int>(in.flags)));
}

void getxattr(Context &c)
{
	abi::fuse_getxattr_in in;
	std::string_view name;
	if (!c.args.read(in) || !read_name(c, name))
		return (void)c.bad_request();
	std::size_t len = 0;
	auto buf = in.size ? sized_space(c, in.size) : std::span<std::byte>{};
	Errno err = c.fs.getxattr(c.req, c.in.nodeid, name, buf, len);
	reply_sized(c, err, in.size, len);
}

void listxattr(Context &c)
{
	abi::fuse_getxattr_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	std::size_t len = 0;
	auto space = in.size ? sized_space(c, in.size) : std::span<std::byte>{};
	std::span<char> buf(reinterpret_cast<char *>(space.data()), space.size());
	Errno err = c.fs.listxattr(c.req, c.in.nodeid, buf, len);
	reply_sized(c, err, in.size, len);
}

void removexattr(Context &c)
{
	std::string_view name;
	if (!read_name(c, name))
		return (void)c.bad_request();
	c.reply_error_or_ok(c.fs.removexattr(c.req, c.in.nodeid, name));
}

void getlk(Context &c)
{
	abi::fuse_lk_in in;
	Lock lock;
	if (!read_lock(c, in, lock))
		return (void)c.bad_request();
	if (Errno err = c.fs.getlk(c.req, c.in.nodeid, in.fh, in.owner, lock))
		return (void)c.reply_error(err);
	abi::fuse_lk_out out{};
	out.lk.start = lock.start;
	out.lk.end = lock.end;
	out.lk.type = lock.type;
	out.lk.pid = lock.pid;
	c.reply_struct(out);
}

void setlk(Context &c) { do_setlk(c, false); }

void setlkw(Context &c) { do_setlk(c, true); }

void init(Context &c) { c.session.handle_init(c); }

void destroy(Context &c) { c.session.handle_destroy(c); }

// A deferred request (pending_reply.h) or a wait (SETLKW, waits.h) learns
// of it; the others are answered or about to be. No reply either way.
void interrupt(Context &c)
{
	abi::fuse_interrupt_in in;
	if (c.args.read(in))
		c.session.interrupt(in.unique);
}

void ignore(Context &c) { (void)c; }

} // namespace atomfs::fuse::handlers
