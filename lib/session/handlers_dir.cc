// SPDX-License-Identifier: MIT
//
// Directories: OPENDIR, READDIR, READDIRPLUS, RELEASEDIR, FSYNCDIR.
#include "session/handlers.h"

#include "protocol/encode.h"

#include <cerrno>
#include <cstring>
#include <vector>

namespace atomfs::fuse::handlers {
namespace {

// Packs fuse_dirent / fuse_direntplus records into the worker's reply
// buffer, never past the size the kernel asked for.
class ReplyDirBuffer final : public DirBuffer {
public:
	ReplyDirBuffer(std::span<std::byte> space, bool plus, std::vector<NodeId> &counted)
		: space_(space), plus_(plus), counted_(counted)
	{
		counted_.clear(); // the worker's vector, reused: no allocation per request
	}

	bool add(std::string_view name, ino_t ino, mode_t type, std::uint64_t next_off) override
	{
		if (plus_ || name.empty())
			return false;
		std::size_t size = abi::dirent_size(name.size());
		if (used_ + size > space_.size())
			return false;
		std::byte *p = space_.data() + used_;
		abi::fuse_dirent d{};
		d.ino = ino;
		d.off = next_off;
		d.namelen = static_cast<std::uint32_t>(name.size());
		d.type = (type & S_IFMT) >> 12;
		std::memcpy(p, &d, sizeof(d));
		std::memcpy(p + sizeof(d), name.data(), name.size());
		std::memset(p + sizeof(d) + name.size(), 0, size - sizeof(d) - name.size());
		used_ += size;
		return true;
	}

	bool fits_plus(std::string_view name) const override
	{
		return plus_ && !name.empty() &&
		       used_ + abi::direntplus_size(name.size()) <= space_.size();
	}

	bool add_plus(std::string_view name, const Entry &entry, std::uint64_t next_off) override
	{
		if (!fits_plus(name))
			return false;
		std::size_t size = abi::direntplus_size(name.size());
		std::byte *p = space_.data() + used_;
		abi::fuse_direntplus d{};
		d.entry_out = protocol::to_entry_out(entry);
		d.dirent.ino = entry.attr.st_ino;
		d.dirent.off = next_off;
		d.dirent.namelen = static_cast<std::uint32_t>(name.size());
		d.dirent.type = (entry.attr.st_mode & S_IFMT) >> 12;
		std::memcpy(p, &d, sizeof(d));
		std::memcpy(p + sizeof(d), name.data(), name.size());
		std::memset(p + sizeof(d) + name.size(), 0, size - sizeof(d) - name.size());
		used_ += size;
		if (entry.nodeid)
			counted_.push_back(entry.nodeid);
		return true;
	}

	bool plus() const override { return plus_; }
	std::size_t used() const { return used_; }
	// Lookups carried by READDIRPLUS entries, to give back if the reply is lost.
	const std::vector<NodeId> &counted() const { return counted_; }

private:
	std::span<std::byte> space_;
	bool plus_;
	std::size_t used_ = 0;
	std::vector<NodeId> &counted_;
};

void do_readdir(Context &c, bool plus)
{
	abi::fuse_read_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	auto space = c.out_space();
	if (in.size < space.size())
		space = space.first(in.size);
	ReplyDirBuffer buf(space, plus, c.worker.counted);
	Errno err = c.fs.readdir(c.req, c.in.nodeid, in.fh, in.offset, buf);
	if (err || c.deferred) { // deferred: the resumed call fills a new reply
		for (NodeId id : buf.counted())
			c.fs.forget(id, 1);
		return (void)c.reply_error(err);
	}
	if (!c.reply(space.first(buf.used())))
		for (NodeId id : buf.counted())
			c.fs.forget(id, 1);
}

} // namespace

void opendir(Context &c) { open_node(c, true); }

void readdir(Context &c) { do_readdir(c, false); }

void readdirplus(Context &c) { do_readdir(c, true); }

void releasedir(Context &c)
{
	abi::fuse_release_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	c.reply_error_or_ok(c.fs.releasedir(c.req, c.in.nodeid, in.fh));
}

void fsyncdir(Context &c)
{
	abi::fuse_fsync_in in;
	if (!c.args.read(in))
		return (void)c.bad_request();
	c.reply_error_or_ok(c.fs.fsyncdir(c.req, c.in.nodeid, in.fh,
					  in.fsync_flags & abi::FUSE_FSYNC_FDATASYNC));
}

} // namespace atomfs::fuse::handlers
