// SPDX-License-Identifier: MIT
//
// Names and attributes: LOOKUP, FORGET, GETATTR, SETATTR, the creating and
// removing operations, RENAME, LINK, STATFS, ACCESS.
#include "session/handlers.h"

#include "protocol/encode.h"

#include <sys/sysmacros.h>

#include <cerrno>
#include <climits>

namespace atomfs::fuse::handlers {
namespace {

void reply_attr(Context &c, Errno err, const Attr &a)
{
	if (err) {
		c.reply_error(err);
		return;
	}
	c.reply_struct(protocol::to_attr_out(a));
}

// new_decode_dev(): 12-bit major, 20-bit minor, as the kernel encodes rdev.
dev_t decode_rdev(std::uint32_t rdev)
{
	unsigned maj = (rdev & 0xfff00u) >> 8;
	unsigned min = (rdev & 0xffu) | ((rdev >> 12) & 0xfff00u);
	return makedev(maj, min);
}

} // namespace

void reply_entry(Context &c, const Entry &e)
{
	if (!c.reply_struct(protocol::to_entry_out(e)) && e.nodeid)
		c.fs.forget(e.nodeid, 1); // the kernel never saw this lookup
}

void lookup(Context &c)
{
	std::string_view name;
	if (!read_name(c, name))
		return (void)c.bad_request();
	Entry e;
	if (Errno err = c.fs.lookup(c.req, c.in.nodeid, name, e))
		return (void)c.reply_error(err);
	reply_entry(c, e);
}

void forget(Context &c)
{
	abi::fuse_forget_in in;
	if (!c.args.read(in))
		return (void)c.worker.stats->malformed();
	c.fs.forget(c.in.nodeid, in.nlookup);
}

void batch_forget(Context &c)
{
	abi::fuse_batch_forget_in in;
	if (!c.args.read(in))
		return (void)c.worker.stats->malformed();
	// Trust the bytes, not the count: forget what is really there.
	for (std::uint32_t i = 0; i < in.count; i++) {
		abi::fuse_forget_one one;
		if (!c.args.read(one)) {
			c.worker.stats->malformed();
			break;
		}
		c.fs.forget(one.nodeid, one.nlookup);
	}
}

void getattr(Context &c)
{
	abi::fuse_getattr_in in{};
	if (!c.args.read(in))
		return (void)c.bad_request();
	std::optional<std::uint64_t> fh;
	if (in.getattr_flags & abi::FUSE_GETATTR_FH)
		fh = in.fh;
	Attr a;
	reply_attr(c, c.fs.getattr(c.req, c.in.nodeid, fh, a), a);
}

void setattr(Context &c)
{
	abi::fuse_setattr_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	SetAttr s;
	s.valid = in.valid;
	protocol::from_fuse_attr_times(in, s.attr);
	if (in.valid & abi::FATTR_FH)
		s.fh = in.fh;
	Attr a;
	reply_attr(c, c.fs.setattr(c.req, c.in.nodeid, s, a), a);
}

void readlink(Context &c)
{
	auto space = c.out_space();
	std::span<char> buf(reinterpret_cast<char *>(space.data()),
			    std::min<std::size_t>(space.size(), PATH_MAX));
	std::size_t len = 0;
	if (Errno err = c.fs.readlink(c.req, c.in.nodeid, buf, len))
		return (void)c.reply_error(err);
	if (len > buf.size())
		return (void)c.reply_error(ENAMETOOLONG);
	c.reply(space.first(len));
}

void symlink(Context &c)
{
	std::string_view name;
	if (!read_name(c, name))
		return (void)c.bad_request();
	auto target = c.args.string();
	if (!target || target->empty())
		return (void)c.bad_request();
	Entry e;
	if (Errno err = c.fs.symlink(c.req, c.in.nodeid, name, *target, e))
		return (void)c.reply_error(err);
	reply_entry(c, e);
}

void mknod(Context &c)
{
	abi::fuse_mknod_in in;
	std::string_view name;
	if (!c.args.read(in) || !read_name(c, name))
		return (void)c.bad_request();
	Entry e;
	if (Errno err = c.fs.mknod(c.req, c.in.nodeid, name, in.mode, decode_rdev(in.rdev),
				   in.umask, e))
		return (void)c.reply_error(err);
	reply_entry(c, e);
}

void mkdir(Context &c)
{
	abi::fuse_mkdir_in in;
	std::string_view name;
	if (!c.args.read(in) || !read_name(c, name))
		return (void)c.bad_request();
	Entry e;
	if (Errno err = c.fs.mkdir(c.req, c.in.nodeid, name, in.mode, in.umask, e))
		return (void)c.reply_error(err);
	reply_entry(c, e);
}

void unlink(Context &c)
{
	std::string_view name;
	if (!read_name(c, name))
		return (void)c.bad_request();
	c.reply_error_or_ok(c.fs.unlink(c.req, c.in.nodeid, name));
}

void rmdir(Context &c)
{
	std::string_view name;
	if (!read_name(c, name))
		return (void)c.bad_request();
	c.reply_error_or_ok(c.fs.rmdir(c.req, c.in.nodeid, name));
}

namespace {
void do_rename(Context &c, std::uint64_t newdir, std::uint32_t flags)
{
	std::string_view from, to;
	if (!read_name(c, from) || !read_name(c, to))
		return (void)c.bad_request();
	c.reply_error_or_ok(c.fs.rename(c.req, c.in.nodeid, from, newdir, to, flags));
}
} // namespace

void rename(Context &c)
{
	abi::fuse_rename_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	do_rename(c, in.newdir, 0);
}

void rename2(Context &c)
{
	abi::fuse_rename2_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	do_rename(c, in.newdir, in.flags);
}

void link(Context &c)
{
	abi::fuse_link_in in;
	std::string_view name;
	if (!c.args.read(in) || !read_name(c, name))
		return (void)c.bad_request();
	Entry e;
	if (Errno err = c.fs.link(c.req, in.oldnodeid, c.in.nodeid, name, e))
		return (void)c.reply_error(err);
	reply_entry(c, e);
}

void statfs(Context &c)
{
	struct statvfs st {};
	if (Errno err = c.fs.statfs(c.req, c.in.nodeid, st))
		return (void)c.reply_error(err);
	abi::fuse_statfs_out out{};
	out.st.blocks = st.f_blocks;
	out.st.bfree = st.f_bfree;
	out.st.bavail = st.f_bavail;
	out.st.files = st.f_files;
	out.st.ffree = st.f_ffree;
	out.st.bsize = static_cast<std::uint32_t>(st.f_bsize);
	out.st.namelen = static_cast<std::uint32_t>(st.f_namemax);
	out.st.frsize = static_cast<std::uint32_t>(st.f_frsize);
	c.reply_struct(out);
}

void access(Context &c)
{
	abi::fuse_access_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	c.reply_error_or_ok(c.fs.access(c.req, c.in.nodeid, static_cast<int>(in.mask)));
}

} // namespace atomfs::fuse::handlers
