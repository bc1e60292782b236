// SPDX-License-Identifier: MIT
//
// Open files: OPEN, CREATE, OPEN_ATOMIC, TMPFILE, READ, WRITE, FLUSH,
// RELEASE, FSYNC, FALLOCATE, LSEEK, COPY_FILE_RANGE.
#include "session/handlers.h"

#include "protocol/encode.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

namespace atomfs::fuse::handlers {

static_assert(kOpenKillSuidgid == abi::FUSE_OPEN_KILL_SUIDGID);
static_assert(kSetxattrAclKillSgid == abi::FUSE_SETXATTR_ACL_KILL_SGID);
static_assert(kWriteKillSuidgid == abi::FUSE_WRITE_KILL_SUIDGID);
static_assert(kSetattrKillSuidgid == abi::FATTR_KILL_SUIDGID);
static_assert(kFopenDirectIo == abi::FOPEN_DIRECT_IO && kFopenKeepCache == abi::FOPEN_KEEP_CACHE &&
	      kFopenCacheDir == abi::FOPEN_CACHE_DIR && kFopenNoflush == abi::FOPEN_NOFLUSH &&
	      kFopenParallelDirectWrites == abi::FOPEN_PARALLEL_DIRECT_WRITES &&
	      kFopenPassthrough == abi::FOPEN_PASSTHROUGH &&
	      kFopenFileCreated == abi::FOPEN_FILE_CREATED);
static_assert(kSetattrMode == abi::FATTR_MODE && kSetattrUid == abi::FATTR_UID &&
	      kSetattrGid == abi::FATTR_GID && kSetattrSize == abi::FATTR_SIZE &&
	      kSetattrAtime == abi::FATTR_ATIME && kSetattrMtime == abi::FATTR_MTIME &&
	      kSetattrFh == abi::FATTR_FH && kSetattrAtimeNow == abi::FATTR_ATIME_NOW &&
	      kSetattrMtimeNow == abi::FATTR_MTIME_NOW);
static_assert(kCapWritebackCache == abi::FUSE_WRITEBACK_CACHE &&
	      kCapPosixAcl == abi::FUSE_POSIX_ACL &&
	      kCapHandleKillprivV2 == abi::FUSE_HANDLE_KILLPRIV_V2 &&
	      kCapPassthrough == abi::FUSE_PASSTHROUGH);

namespace {

// READ data goes straight into the worker's reply buffer: one copy.
class ReplyReadBuffer final : public ReadBuffer {
public:
	explicit ReplyReadBuffer(std::span<std::byte> space) : space_(space) {}
	std::span<std::byte> space() override { return space_; }
	void commit(std::size_t n) override { used_ = n < space_.size() ? n : space_.size(); }
	std::size_t used() const { return used_; }

private:
	std::span<std::byte> space_;
	std::size_t used_ = 0;
};

// Entry + open reply (CREATE, TMPFILE, OPEN_ATOMIC). If the kernel never
// gets it, the lookup and the open it carried are given back.
void reply_entry_open(Context &c, const Entry &e, const OpenFile *f, std::uint32_t extra_flags)
{
	abi::fuse_entry_out eo = protocol::to_entry_out(e);
	abi::fuse_open_out oo{};
	if (f) {
		oo = protocol::to_open_out(*f);
		oo.open_flags |= extra_flags;
	}
	if (c.reply(std::as_bytes(std::span(&eo, 1)), std::as_bytes(std::span(&oo, 1))))
		return;
	if (f)
		release_lost(c, e.nodeid, *f, S_ISDIR(e.attr.st_mode), 0);
	if (e.nodeid)
		c.fs.forget(e.nodeid, 1);
}

bool read_create_args(Context &c, abi::fuse_create_in &in, std::string_view &name)
{
	if (!c.args.read(in) || !read_name(c, name))
		return false;
	c.req.fuse_flags = in.open_flags;
	return true;
}

} // namespace

void release_lost(Context &c, NodeId node, const OpenFile &f, bool dir, int flags)
{
	if (dir)
		c.fs.releasedir(c.req, node, f.fh);
	else
		c.fs.release(c.req, node, f.fh, flags);
}

void open_node(Context &c, bool dir)
{
	abi::fuse_open_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	const int flags = static_cast<int>(in.flags);
	c.req.fuse_flags = in.open_flags;
	OpenFile f;
	Errno err = dir ? c.fs.opendir(c.req, c.in.nodeid, flags, f)
			: c.fs.open(c.req, c.in.nodeid, flags, f);
	if (err)
		return (void)c.reply_error(err);
	if (!c.reply_struct(protocol::to_open_out(f)))
		release_lost(c, c.in.nodeid, f, dir, flags);
}

void open(Context &c) { open_node(c, false); }

void create(Context &c)
{
	abi::fuse_create_in in;
	std::string_view name;
	if (!read_create_args(c, in, name))
		return (void)c.bad_request();
	Entry e;
	OpenFile f;
	if (Errno err = c.fs.create(c.req, c.in.nodeid, name, static_cast<int>(in.flags), in.mode,
				    in.umask, e, f))
		return (void)c.reply_error(err);
	reply_entry_open(c, e, &f, 0);
}

// FUSE_OPEN_ATOMIC: lookup (+ create) + open in one request. Regular files
// and directories come back opened; symlinks, FIFOs, sockets and devices
// come back as an entry with a zeroed fuse_open_out (the kernel follows the
// link or opens the node itself). A negative entry (nodeid 0) goes to the
// kernel as it is, with its entry timeout: the kernel caches the negative
// dentry for that long, as for LOOKUP, and answers ENOENT.
void open_atomic(Context &c)
{
	abi::fuse_create_in in;
	std::string_view name;
	if (!read_create_args(c, in, name))
		return (void)c.bad_request();
	AtomicOpen r;
	if (Errno err = c.fs.open_atomic(c.req, c.in.nodeid, name, static_cast<int>(in.flags),
					 in.mode, in.umask, r))
		return (void)c.reply_error(err);
	if (c.deferred)
		return; // r is not filled in yet
	const mode_t type = r.entry.attr.st_mode & S_IFMT;
	if (r.file && (!r.entry.nodeid || (type != S_IFREG && type != S_IFDIR))) {
		// Only files and directories may be opened by the server; a
		// handle for anything else would never be released.
		c.fs.release(c.req, r.entry.nodeid, r.file->fh, 0);
		r.file.reset();
	}
	if (!r.entry.nodeid) {
		Entry negative;
		negative.entry_timeout = r.entry.entry_timeout;
		return reply_entry_open(c, negative, nullptr, 0);
	}
	reply_entry_open(c, r.entry, r.file ? &*r.file : nullptr,
			 r.created ? abi::FOPEN_FILE_CREATED : 0);
}

void tmpfile(Context &c)
{
	abi::fuse_create_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	c.req.fuse_flags = in.open_flags;
	Entry e;
	OpenFile f;
	if (Errno err = c.fs.tmpfile(c.req, c.in.nodeid, static_cast<int>(in.flags), in.mode,
				     in.umask, e, f))
		return (void)c.reply_error(err);
	reply_entry_open(c, e, &f, 0);
}

void read(Context &c)
{
	abi::fuse_read_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	auto space = c.out_space();
	if (in.size < space.size())
		space = space.first(in.size);
	ReplyReadBuffer buf(space);
	if (Errno err = c.fs.read(c.req, c.in.nodeid, in.fh, in.offset, buf))
		return (void)c.reply_error(err);
	c.reply(space.first(buf.used()));
}

void write(Context &c)
{
	abi::fuse_write_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	auto data = c.args.bytes(in.size);
	if (!data)
		return (void)c.bad_request();
	std::size_t written = 0;
	if (Errno err = c.fs.write(c.req, c.in.nodeid, in.fh, in.offset, *data, in.write_flags,
				   written))
		return (void)c.reply_error(err);
	abi::fuse_write_out out{};
	out.size = static_cast<std::uint32_t>(written < in.size ? written : in.size);
	c.reply_struct(out);
}

void flush(Context &c)
{
	abi::fuse_flush_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	c.reply_error_or_ok(c.fs.flush(c.req, c.in.nodeid, in.fh, in.lock_owner));
}

void release(Context &c)
{
	abi::fuse_release_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	c.reply_error_or_ok(c.fs.release(c.req, c.in.nodeid, in.fh, static_cast<int>(in.flags)));
}

void fsync(Context &c)
{
	abi::fuse_fsync_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	c.reply_error_or_ok(c.fs.fsync(c.req, c.in.nodeid, in.fh,
				       in.fsync_flags & abi::FUSE_FSYNC_FDATASYNC));
}

void fallocate(Context &c)
{
	abi::fuse_fallocate_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	c.reply_error_or_ok(c.fs.fallocate(c.req, c.in.nodeid, in.fh, static_cast<int>(in.mode),
					   in.offset, in.length));
}

void lseek(Context &c)
{
	abi::fuse_lseek_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	std::uint64_t result = 0;
	if (Errno err = c.fs.lseek(c.req, c.in.nodeid, in.fh, in.offset,
				   static_cast<int>(in.whence), result))
		return (void)c.reply_error(err);
	abi::fuse_lseek_out out{result};
	c.reply_struct(out);
}

void copy_file_range(Context &c)
{
	abi::fuse_copy_file_range_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	std::size_t copied = 0;
	if (Errno err = c.fs.copy_file_range(c.req, c.in.nodeid, in.fh_in, in.off_in,
					     in.nodeid_out, in.fh_out, in.off_out, in.len,
					     in.flags, copied))
		return (void)c.reply_error(err);
	// The reply's size is 32 bits; the kernel never asks for more.
	abi::fuse_write_out out{};
	out.size = static_cast<std::uint32_t>(copied > 0xffffffffu ? 0xffffffffu : copied);
	c.reply_struct(out);
}

} // namespace atomfs::fuse::handlers
