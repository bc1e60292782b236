// SPDX-License-Identifier: MIT
//
// What a Filesystem gets for the operations it does not implement: ENOSYS,
// except open_atomic(), which is built from lookup + open / opendir +
// create so that every filesystem on this library answers FUSE_OPEN_ATOMIC
// in one request without code of its own.
#include <atomfs/fuse/filesystem.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

namespace atomfs::fuse {

Errno Filesystem::lookup(const Request &, NodeId, std::string_view, Entry &) { return ENOSYS; }
Errno Filesystem::getattr(const Request &, NodeId, std::optional<std::uint64_t>, Attr &)
{
	return ENOSYS;
}
Errno Filesystem::setattr(const Request &, NodeId, const SetAttr &, Attr &) { return ENOSYS; }
Errno Filesystem::readlink(const Request &, NodeId, std::span<char>, std::size_t &)
{
	return ENOSYS;
}
Errno Filesystem::mknod(const Request &, NodeId, std::string_view, mode_t, dev_t, mode_t, Entry &)
{
	return ENOSYS;
}
Errno Filesystem::mkdir(const Request &, NodeId, std::string_view, mode_t, mode_t, Entry &)
{
	return ENOSYS;
}
Errno Filesystem::symlink(const Request &, NodeId, std::string_view, std::string_view, Entry &)
{
	return ENOSYS;
}
Errno Filesystem::unlink(const Request &, NodeId, std::string_view) { return ENOSYS; }
Errno Filesystem::rmdir(const Request &, NodeId, std::string_view) { return ENOSYS; }
Errno Filesystem::rename(const Request &, NodeId, std::string_view, NodeId, std::string_view,
			 std::uint32_t)
{
	return ENOSYS;
}
Errno Filesystem::link(const Request &, NodeId, NodeId, std::string_view, Entry &) { return ENOSYS; }
Errno Filesystem::open(const Request &, NodeId, int, OpenFile &) { return ENOSYS; }
Errno Filesystem::create(const Request &, NodeId, std::string_view, int, mode_t, mode_t, Entry &,
			 OpenFile &)
{
	return ENOSYS;
}
Errno Filesystem::read(const Request &, NodeId, std::uint64_t, std::uint64_t, ReadBuffer &)
{
	return ENOSYS;
}
Errno Filesystem::write(const Request &, NodeId, std::uint64_t, std::uint64_t,
			std::span<const std::byte>, std::uint32_t, std::size_t &)
{
	return ENOSYS;
}
// Without a flush of its own a filesystem has nothing to write back.
Errno Filesystem::flush(const Request &, NodeId, std::uint64_t, std::uint64_t) { return 0; }
Errno Filesystem::release(const Request &, NodeId, std::uint64_t, int) { return 0; }
Errno Filesystem::fsync(const Request &, NodeId, std::uint64_t, bool) { return ENOSYS; }
// A directory handle is optional: fh 0 unless the filesystem keeps state.
Errno Filesystem::opendir(const Request &, NodeId, int, OpenFile &out)
{
	out = OpenFile{};
	return 0;
}
Errno Filesystem::readdir(const Request &, NodeId, std::uint64_t, std::uint64_t, DirBuffer &)
{
	return ENOSYS;
}
Errno Filesystem::releasedir(const Request &, NodeId, std::uint64_t) { return 0; }
Errno Filesystem::fsyncdir(const Request &, NodeId, std::uint64_t, bool) { return ENOSYS; }
Errno Filesystem::statfs(const Request &, NodeId, struct statvfs &out)
{
	out = {};
	out.f_namemax = 255;
	out.f_bsize = 512;
	return 0;
}
Errno Filesystem::setxattr(const Request &, NodeId, std::string_view, std::span<const std::byte>,
			   int)
{
	return ENOSYS;
}
Errno Filesystem::getxattr(const Request &, NodeId, std::string_view, std::span<std::byte>,
			   std::size_t &)
{
	return ENOSYS;
}
Errno Filesystem::listxattr(const Request &, NodeId, std::span<char>, std::size_t &)
{
	return ENOSYS;
}
Errno Filesystem::removexattr(const Request &, NodeId, std::string_view) { return ENOSYS; }
Errno Filesystem::access(const Request &, NodeId, int) { return ENOSYS; }
Errno Filesystem::getlk(const Request &, NodeId, std::uint64_t, std::uint64_t, Lock &)
{
	return ENOSYS;
}
Errno Filesystem::setlk(const Request &, NodeId, std::uint64_t, std::uint64_t, const Lock &, bool)
{
	return ENOSYS;
}
Errno Filesystem::flock(const Request &, NodeId, std::uint64_t, std::uint64_t, int)
{
	return ENOSYS;
}
Errno Filesystem::fallocate(const Request &, NodeId, std::uint64_t, int, std::uint64_t,
			    std::uint64_t)
{
	return ENOSYS;
}
Errno Filesystem::copy_file_range(const Request &, NodeId, std::uint64_t, std::uint64_t, NodeId,
				  std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
				  std::size_t &)
{
	return ENOSYS;
}
Errno Filesystem::lseek(const Request &, NodeId, std::uint64_t, std::uint64_t, int,
			std::uint64_t &)
{
	return ENOSYS;
}
Errno Filesystem::tmpfile(const Request &, NodeId, int, mode_t, mode_t, Entry &, OpenFile &)
{
	return ENOSYS;
}

// The default atomic open: two or three backend calls, one request.
//
// The loop closes the race between "the name is missing" and "create it":
// CREATE is asked with O_EXCL, so when another client creates the name
// between our LOOKUP and our CREATE we see EEXIST and go back to opening
// the file that now exists (unless the caller itself asked for O_EXCL). So
// out.created is true exactly when this call created the file. A name that
// keeps flipping between existing and missing for 16 rounds is reported as
// EIO rather than looped on forever.
Errno Filesystem::open_atomic(const Request &req, NodeId parent, std::string_view name, int flags,
			      mode_t mode, mode_t umask, AtomicOpen &out)
{
	constexpr int kAttempts = 16;
	for (int attempt = 0; attempt < kAttempts; attempt++) {
		Entry e;
		Errno err = lookup(req, parent, name, e);
		if (is_deferred(req))
			return 0; // answered when the filesystem resumes it
		if (err == 0 && e.nodeid == 0) {
			if (!(flags & O_CREAT)) { // negative: to the kernel as it is
				out = AtomicOpen{e, std::nullopt, false};
				return 0;
			}
			err = ENOENT; // a negative entry counts no lookup
		}
		if (err == 0) {
			if ((flags & O_CREAT) && (flags & O_EXCL)) {
				forget(e.nodeid, 1);
				return EEXIST;
			}
			const mode_t type = e.attr.st_mode & S_IFMT;
			OpenFile f;
			if (type == S_IFREG)
				err = open(req, e.nodeid, flags & ~(O_CREAT | O_EXCL), f);
			else if (type == S_IFDIR)
				err = opendir(req, e.nodeid, flags & ~(O_CREAT | O_EXCL), f);
			else { // symlink, FIFO, socket, device: the kernel takes over
				out = AtomicOpen{e, std::nullopt, false};
				return 0;
			}
			if (is_deferred(req)) { // the resumed call looks up again
				forget(e.nodeid, 1);
				return 0;
			}
			if (err) {
				forget(e.nodeid, 1);
				if (err == ENOENT || err == ESTALE)
					continue; // removed under us: look again
				return err;
			}
			out = AtomicOpen{e, f, false};
			return 0;
		}
		if (err != ENOENT || !(flags & O_CREAT))
			return err;
		OpenFile f;
		err = create(req, parent, name, flags | O_EXCL, mode, umask, e, f);
		if (is_deferred(req))
			return 0;
		if (err == EEXIST && !(flags & O_EXCL))
			continue; // created by someone else meanwhile: open theirs
		if (err)
			return err;
		out = AtomicOpen{e, f, true};
		return 0;
	}
	return EIO;
}

} // namespace atomfs::fuse
