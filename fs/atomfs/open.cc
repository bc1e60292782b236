// SPDX-License-Identifier: MIT
//
// Opening files (open, create, tmpfile and the one-step open_atomic) and the
// operations on open files.
//
// Reply flags:
// - FOPEN_NOFLUSH: close(2) sends FLUSH only to let the server write back
//   or drop per-owner state. We keep no POSIX lock state (locks are left to
//   the kernel: we never ask for FUSE_POSIX_LOCKS) and write data through at
//   WRITE time, so FLUSH has nothing to do unless the kernel itself holds
//   dirty pages. In 6.12 fuse_flush() ignores NOFLUSH when writeback caching
//   is on (it must write dirty pages back first), so we set it on every open
//   without writeback and on read-only opens with it.
// - FOPEN_KEEP_CACHE: when caching, if the file's mtime and size are what we
//   saw at the previous open or release, nobody changed it behind the
//   kernel's page cache.
// - FOPEN_PARALLEL_DIRECT_WRITES: pwrite() on one fd is safe concurrently.
// - Kernel passthrough (when granted): regular files get a backing id, and
//   only the flags the kernel allows with it (no KEEP_CACHE).
#include "passthrough.h"

#include "creds.h"
#include "util.h"

#include <atomfs/fuse/session.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace atomfs::fs {

static std::int64_t mtime_ns(const struct stat &st)
{
	return (std::int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

std::uint32_t AtomFs::open_reply_flags(Inode &in, int flags, const struct stat &st)
{
	std::uint32_t f = fuse::kFopenParallelDirectWrites;
	if (!writeback_ || (flags & O_ACCMODE) == O_RDONLY)
		f |= fuse::kFopenNoflush;
	std::int64_t m = mtime_ns(st), sz = st.st_size;
	std::int64_t old_m = in.stamp_mtime_ns.exchange(m, std::memory_order_relaxed);
	std::int64_t old_sz = in.stamp_size.exchange(sz, std::memory_order_relaxed);
	if (cfg_.cache && old_m == m && old_sz == sz && !(flags & O_TRUNC))
		f |= fuse::kFopenKeepCache;
	return f;
}

// The flags for a backing open: the kernel's writeback cache may read pages
// of a write-only file and appends itself.
static int backing_flags(int flags, bool writeback)
{
	int f = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW);
	if (writeback) {
		if ((f & O_ACCMODE) == O_WRONLY)
			f = (f & ~O_ACCMODE) | O_RDWR;
		f &= ~O_APPEND;
	}
	return f | O_CLOEXEC;
}

// Set-ID files are served by us, not passed through: write() then clears
// the bits exactly when the kernel says the writer lacks CAP_FSETID, and
// for set-group-ID by the caller's groups. The backing credentials
// (BackingCreds) lack CAP_FSETID and every group, so a file that becomes
// set-ID while open for passthrough loses the bits on any passthrough
// write (even root's): more than natively, never less.
static bool has_setid_bits(const struct stat &st)
{
	return st.st_mode & (S_ISUID | S_ISGID);
}

static bool has_setid_bits(int fd)
{
	struct stat st;
	return ::fstat(fd, &st) != 0 || has_setid_bits(st);
}

// Passthrough for an open of `in` (fd is this open's backing file, st its
// attributes now): the inode's shared backing id, registered on its first
// open. The kernel opens its own backing file per FUSE file from the
// registered file's path with the FUSE file's flags, so any open fd of the
// inode serves every later open, whatever its access mode.
//
// Registering costs the BACKING_OPEN ioctl and the credential switch around
// it (BackingCreds), closing another ioctl: after the last open file the id
// stays registered, idle, until the kernel forgets the inode (forget()) or
// the inode is opened while set-ID, for at most as many inodes as the fd
// budget (an idle id holds a kernel file, not one of our fds). A file that
// was replaced behind the inode is not an issue: the id names the inode's
// own object, which its O_PATH fd or handle names too.
//
// The kernel may refuse one file (ELOOP for a file on a stacked filesystem
// such as overlayfs, whose depth reaches max_stack_depth): that inode is
// then served through us, and so are its further opens while one of those
// is open (the kernel refuses a passthrough open of an inode in cached
// mode, and a cached open of one in passthrough mode, with EIO). Returns
// the id, 0 without passthrough, kNoBacking for such a cached open.
int AtomFs::attach_backing(const Request &req, Inode &in, int fd, const struct stat &st,
			   fuse::OpenFile &out)
{
	if (!passthrough_ || !req.session)
		return 0;
	std::lock_guard<std::mutex> lock(in.backing_mu);
	if (in.backing_id > 0 && in.backing_users == 0) {
		// An idle id: used again, unless the file is set-ID now.
		idle_backings_.fetch_sub(1, std::memory_order_relaxed);
		if (has_setid_bits(st)) {
			req.session->close_backing(in.backing_id);
			in.backing_id = 0;
		}
	}
	if (in.backing_id <= 0) {
		int id = 0;
		if (!in.cached_users && !has_setid_bits(st)) {
			backing_session_.store(req.session, std::memory_order_relaxed);
			BackingCreds writer_without_fsetid;
			id = req.session->open_backing(fd);
		}
		if (id <= 0) {
			in.cached_users++;
			return kNoBacking;
		}
		backing_registrations_.fetch_add(1, std::memory_order_relaxed);
		in.backing_id = id;
	}
	in.backing_users++;
	out.backing_id = in.backing_id;
	out.open_flags = (out.open_flags & (fuse::kFopenNoflush | fuse::kFopenParallelDirectWrites)) |
			 fuse::kFopenPassthrough;
	return in.backing_id;
}

void AtomFs::detach_backing(const Request &req, Inode &in, int backing_id)
{
	std::lock_guard<std::mutex> lock(in.backing_mu);
	if (backing_id == kNoBacking) {
		if (in.cached_users)
			in.cached_users--;
		return;
	}
	if (in.backing_users && --in.backing_users == 0 && in.backing_id > 0) {
		if (!in.forgotten && idle_backings_.fetch_add(1, std::memory_order_relaxed) <
					     table_.fd_budget())
			return; // kept for the next open (attach_backing)
		if (!in.forgotten)
			idle_backings_.fetch_sub(1, std::memory_order_relaxed);
		if (req.session)
			req.session->close_backing(in.backing_id);
		in.backing_id = 0;
	}
}

void AtomFs::drop_lookups(NodeId node, std::uint64_t n)
{
	std::shared_ptr<Inode> dead = table_.forget(node, n, cfg_.test_strict_forget);
	if (!dead)
		return;
	std::lock_guard<std::mutex> lock(dead->backing_mu);
	dead->forgotten = true;
	if (dead->backing_id > 0 && dead->backing_users == 0) {
		idle_backings_.fetch_sub(1, std::memory_order_relaxed);
		if (fuse::Session *s = backing_session_.load(std::memory_order_relaxed))
			s->close_backing(dead->backing_id);
		dead->backing_id = 0;
	}
}

// Makes the FileHandle for an open fd (owned) and fills the open reply.
static std::uint64_t install_file(HandleTable<FileHandle> &files, int fd, int flags,
				  std::shared_ptr<Inode> in, int backing_id)
{
	auto h = std::make_shared<FileHandle>();
	h->fd = fd;
	h->writable = (flags & O_ACCMODE) != O_RDONLY;
	in->open_files++;
	h->inode = std::move(in);
	h->backing_id = backing_id;
	return files.add(std::move(h));
}

// The open itself is the caller's: the kernel's default_permissions check
// judged attributes it may have cached for a second (--timeout) while the
// source's mode, owner or ACL changed, so the backing filesystem judges
// the caller again against the source as it is (creds.h; a group the
// request does not name is tried on EACCES). Two exceptions stay root's:
// -o noatime's O_NOATIME, which only the owner may ask for (added once
// the caller's open succeeded), and a write-only open that writeback
// caching turns into O_RDWR (the kernel reads pages of it): the caller's
// write access is checked alone, then root opens.
int AtomFs::open_as_caller(const Request &req, int path_fd, int flags)
{
	ProcPath proc(path_fd);
	const char *path = proc.c_str();
	const int f = backing_flags(flags, writeback_);
	if ((f & O_ACCMODE) != (flags & O_ACCMODE) && as_root_) {
		if (as_caller(req.caller, true,
			      [&] { return ::faccessat(AT_FDCWD, path, W_OK, AT_EACCESS); }) != 0)
			return -1;
		return ::open(path, f | (cfg_.noatime ? O_NOATIME : 0));
	}
	// O_TRUNC of a set-ID file: the backing filesystem drops set-group-ID
	// unless the caller is in the file's group, so it needs every group.
	const bool full_groups = (flags & O_TRUNC) && has_setid_bits(path_fd);
	int fd = as_caller(req.caller, as_root_, [&] { return ::open(path, f); }, full_groups);
	// -o noatime: the kernel skips atime on the mount, and our reads of the
	// source must not set it either (root may set it on any file).
	if (fd >= 0 && cfg_.noatime) {
		int fl = ::fcntl(fd, F_GETFL);
		if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NOATIME) != 0) {
			int e = errno;
			::close(fd);
			errno = e;
			return -1;
		}
	}
	return fd;
}

fuse::Errno AtomFs::open_file(const Request &req, const std::shared_ptr<Inode> &in, int path_fd,
			      int flags, const struct stat *st, fuse::OpenFile &out)
{
	// Reopening the O_PATH fd through /proc: the object is the one we
	// resolved without following links, so O_NOFOLLOW is already honoured.
	int fd = open_as_caller(req, path_fd, flags);
	if (fd < 0)
		return errno;
	struct stat now;
	if (!st) {
		if (::fstat(fd, &now) != 0) {
			int e = errno;
			::close(fd);
			return e;
		}
		st = &now;
	}
	out = {};
	// O_TRUNC arrives inside OPEN (FUSE_ATOMIC_O_TRUNC) and we open as
	// root, whose CAP_FSETID keeps set-ID bits; the kernel says when the
	// caller lacks it (FUSE_OPEN_KILL_SUIDGID; without HANDLE_KILLPRIV_V2
	// only the uid can tell).
	if ((flags & O_TRUNC) && as_root_ && (st->st_mode & (S_ISUID | S_ISGID)) &&
	    (killpriv_v2_ ? (req.fuse_flags & fuse::kOpenKillSuidgid) != 0 : req.caller.uid != 0))
		(void)kill_suidgid(fd, req.caller);
	out.open_flags = open_reply_flags(*in, flags, *st);
	int backing = attach_backing(req, *in, fd, *st, out);
	out.fh = install_file(files_, fd, flags, in, backing);
	return 0;
}

fuse::Errno AtomFs::open(const Request &req, NodeId node, int flags, fuse::OpenFile &out)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	std::shared_ptr<Inode> in;
	FdRef fd;
	if (Errno e = node_fd(node, in, fd))
		return e;
	if (in->is_dir())
		return EISDIR;
	if (!in->is_reg())
		return EINVAL; // the kernel opens special files itself
	Errno e = open_file(req, in, fd.get(), flags, nullptr, out);
	if (!e && cfg_.test_created_flag)
		out.open_flags |= fuse::kFopenFileCreated;
	return e;
}

fuse::Errno AtomFs::finish_create(const Request &req, int fd, Entry &entry,
				  fuse::OpenFile &out, int flags)
{
	std::shared_ptr<Inode> in;
	if (Errno e = entry_from_fd(fd, false, entry, &in)) {
		::close(fd);
		return e;
	}
	out = {};
	out.open_flags = open_reply_flags(*in, flags, entry.attr);
	out.open_flags &= ~fuse::kFopenKeepCache; // new file: nothing cached
	int backing = attach_backing(req, *in, fd, entry.attr, out);
	out.fh = install_file(files_, fd, flags, std::move(in), backing);
	return 0;
}

fuse::Errno AtomFs::create(const Request &req, NodeId parent, std::string_view name, int flags,
			   mode_t mode, mode_t umask, Entry &entry, fuse::OpenFile &out)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	Name n(name);
	std::shared_ptr<Inode> p;
	FdRef pfd;
	if (Errno e = parent_dir(parent, n, p, pfd))
		return e;
	// The kernel sends CREATE for a name it believes absent; never follow
	// a symlink someone put there meanwhile. A name that appeared
	// meanwhile is opened (O_EXCL first, so that we know it was not ours)
	// and, with O_TRUNC, loses its set-ID bits as open() would.
	const int f = backing_flags(flags, writeback_) | O_CREAT | O_NOFOLLOW;
	const mode_t m = mode_for_create(mode, umask) & 07777;
	int fd = as_caller(req.caller, as_root_,
			   [&] { return ::openat(pfd.get(), n.c_str(), f | O_EXCL, m); });
	int err = errno;
	if (fd < 0 && err == EEXIST && !(flags & O_EXCL)) {
		fd = as_caller(req.caller, as_root_,
			       [&] { return ::openat(pfd.get(), n.c_str(), f, m); });
		err = errno;
		if (fd >= 0 && (flags & O_TRUNC) && as_root_ &&
		    (killpriv_v2_ ? (req.fuse_flags & fuse::kOpenKillSuidgid) != 0
				  : req.caller.uid != 0))
			(void)kill_suidgid(fd, req.caller);
	}
	if (fd < 0)
		return err;
	Errno e = finish_create(req, fd, entry, out, flags);
	if (!e && cfg_.test_created_flag)
		out.open_flags |= fuse::kFopenFileCreated;
	return e;
}

// As the caller, for the reason open_as_caller() gives: listing needs read
// access the source may have taken away since the kernel's check.
fuse::Errno AtomFs::open_dir(const Request &req, int path_fd, fuse::OpenFile &out)
{
	ProcPath proc(path_fd);
	int fd = as_caller(req.caller, as_root_, [&] {
		return ::open(proc.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	});
	if (fd < 0)
		return errno;
	auto h = std::make_shared<DirHandle>();
	h->fd = fd;
	out = {};
	out.fh = dirs_.add(std::move(h));
	return 0;
}

// One backend step per request: see the comment in passthrough.h and
// docs in README. Every exit path either returns an error with no lookup
// counted, or an entry whose lookup is counted exactly once.
fuse::Errno AtomFs::open_atomic(const Request &req, NodeId parent, std::string_view name,
				int flags, mode_t mode, mode_t umask, fuse::AtomicOpen &out)
{
	if (!cfg_.atomic_open)
		return ENOSYS;
	// --test-bad-attr: once the file is open, reply with a size the kernel
	// refuses (above LLONG_MAX on the wire), keeping the type so that the
	// kernel, not the library, has to release the handle.
	struct BadAttr {
		fuse::AtomicOpen *out;
		~BadAttr()
		{
			if (out && out->file)
				out->entry.attr.st_size = -1;
		}
	} bad_attr{cfg_.test_bad_attr && name.starts_with("bad-attr") ? &out : nullptr};
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	Name n(name);
	std::shared_ptr<Inode> p;
	FdRef pfd;
	if (Errno e = parent_dir(parent, n, p, pfd))
		return e;
	const bool creat = flags & O_CREAT;
	const bool excl = creat && (flags & O_EXCL);
	const int acc = flags & O_ACCMODE;

	// Bounded: each turn means another client created then removed the name
	// between our two syscalls.
	for (int attempt = 0; attempt < 64; attempt++) {
		if (creat) {
			int fd;
			{
				const mode_t m = mode_for_create(mode, umask) & 07777;
				const int f = backing_flags(flags, writeback_) | O_CREAT | O_EXCL |
					      O_NOFOLLOW;
				fd = as_caller(req.caller, as_root_,
					       [&] { return ::openat(pfd.get(), n.c_str(), f, m); });
			}
			if (fd >= 0) {
				out.file.emplace();
				if (Errno e = finish_create(req, fd, out.entry, *out.file,
							    flags)) {
					out.file.reset();
					return e;
				}
				out.created = true;
				return 0;
			}
			if (errno != EEXIST)
				return errno;
			if (excl)
				return EEXIST;
			if (on_create_found_name)
				on_create_found_name(name);
		}

		// The name exists (or we were not asked to create it): look at it
		// without opening it, so that a FIFO cannot block us and a symlink
		// is never followed.
		int path = ::openat(pfd.get(), n.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (path < 0) {
			if (errno == ENOENT && creat)
				continue; // removed since our O_EXCL create: try again
			if (errno == ENOENT)
				return missing(out.entry);
			return errno;
		}
		struct stat st;
		if (::fstatat(path, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
			int e = errno;
			::close(path);
			return e;
		}
		Errno err = 0;
		if (S_ISDIR(st.st_mode)) {
			if (creat || acc != O_RDONLY)
				err = EISDIR;
		} else if (S_ISREG(st.st_mode) && (flags & O_DIRECTORY)) {
			err = ENOTDIR;
		}
		if (err) {
			::close(path);
			return err;
		}

		// The table takes `path` over (or closes it): open the file from
		// our own duplicate.
		int probe = ::fcntl(path, F_DUPFD_CLOEXEC, 0);
		if (probe < 0) {
			int e = errno;
			::close(path);
			return e;
		}
		std::shared_ptr<Inode> in;
		err = 0;
		in = table_.intern(st, path, probe, err);
		if (!in) {
			::close(probe);
			return err;
		}
		fill_entry(*in, st, out.entry);
		test_generation(name, out.entry);
		out.created = false;
		if (S_ISREG(st.st_mode))
			err = open_file(req, in, probe, flags, &st, out.file.emplace());
		else if (S_ISDIR(st.st_mode))
			err = open_dir(req, probe, out.file.emplace());
		::close(probe);
		if (err) {
			out.file.reset();
			drop_lookups(in->nodeid, 1); // undo the lookup we counted
			return err;
		}
		// Symlinks, FIFOs, sockets and devices: entry only; the kernel
		// follows the link or opens the node itself.
		return 0;
	}
	return EAGAIN;
}

fuse::Errno AtomFs::tmpfile(const Request &req, NodeId parent, int flags, mode_t mode,
			    mode_t umask, Entry &entry, fuse::OpenFile &out)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	std::shared_ptr<Inode> p;
	FdRef pfd;
	if (Errno e = dir_fd(parent, p, pfd))
		return e;
	int f = backing_flags(flags, writeback_) & ~(O_TMPFILE | O_DIRECTORY);
	if ((f & O_ACCMODE) == O_RDONLY)
		f |= O_RDWR;
	int fd;
	{
		const mode_t m = mode_for_create(mode, umask) & 07777;
		fd = as_caller(req.caller, as_root_,
			       [&] { return ::openat(pfd.get(), ".", f | O_TMPFILE, m); });
		if (fd < 0)
			return errno;
	}
	return finish_create(req, fd, entry, out, flags);
}

fuse::Errno AtomFs::read(const Request &, NodeId, std::uint64_t fh, std::uint64_t off,
			 fuse::ReadBuffer &out)
{
	auto h = files_.get(fh);
	if (!h)
		return EBADF;
	auto space = out.space();
	std::size_t done = 0;
	// A short READ reply means end of file to the kernel: fill it.
	while (done < space.size()) {
		ssize_t n = ::pread(h->fd, space.data() + done, space.size() - done, off + done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (done)
				break;
			return errno;
		}
		if (n == 0)
			break;
		done += n;
	}
	out.commit(done);
	return 0;
}

fuse::Errno AtomFs::write(const Request &req, NodeId, std::uint64_t fh, std::uint64_t off,
			  std::span<const std::byte> data, std::uint32_t write_flags,
			  std::size_t &written)
{
	auto h = files_.get(fh);
	if (!h)
		return EBADF;
	// Before the data, as the kernel's file_remove_privs() does.
	if ((write_flags & fuse::kWriteKillSuidgid) && as_root_)
		if (Errno e = kill_suidgid(h->fd, req.caller))
			return e;
	std::size_t done = 0;
	while (done < data.size()) {
		ssize_t n = ::pwrite(h->fd, data.data() + done, data.size() - done, off + done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (done)
				break;
			return errno;
		}
		done += n;
	}
	written = done;
	return 0;
}

fuse::Errno AtomFs::flush(const Request &, NodeId, std::uint64_t fh, std::uint64_t)
{
	auto h = files_.get(fh);
	if (!h)
		return EBADF;
	// Closing a duplicate is what close(2) would do on the backing file
	// (NFS-style close-to-open flush, backend lock release).
	int d = ::fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
	if (d < 0)
		return errno;
	if (::close(d) != 0)
		return errno;
	return 0;
}

fuse::Errno AtomFs::release(const Request &req, NodeId, std::uint64_t fh, int)
{
	auto h = files_.take(fh);
	if (!h)
		return EBADF;
	// Our close would not drop the lock when the kernel holds this file as
	// the inode's passthrough backing file for its other opens.
	if (h->flocked.load(std::memory_order_relaxed))
		(void)::flock(h->fd, LOCK_UN);
	if (h->backing_id && h->inode)
		detach_backing(req, *h->inode, h->backing_id);
	if (h->writable && h->inode) {
		// Our own writes are in the kernel's cache already: remember the
		// result so the next open may keep it.
		struct stat st;
		if (::fstat(h->fd, &st) == 0) {
			h->inode->stamp_mtime_ns.store(mtime_ns(st), std::memory_order_relaxed);
			h->inode->stamp_size.store(st.st_size, std::memory_order_relaxed);
		}
	}
	return 0;
}

fuse::Errno AtomFs::fsync(const Request &, NodeId, std::uint64_t fh, bool datasync)
{
	auto h = files_.get(fh);
	if (!h)
		return EBADF;
	if ((datasync ? ::fdatasync(h->fd) : ::fsync(h->fd)) != 0)
		return errno;
	return 0;
}

// flock(2) on the backing file from the open file's own fd: one lock per
// open file description, as flock semantics want, and visible to processes
// using the source directly (FUSE_FLOCK_LOCKS).
fuse::Errno AtomFs::flock(const Request &, NodeId, std::uint64_t fh, std::uint64_t, int op)
{
	auto h = files_.get(fh);
	if (!h)
		return EBADF;
	if ((op & ~LOCK_NB) != LOCK_UN)
		h->flocked.store(true, std::memory_order_relaxed);
	if (::flock(h->fd, op) != 0)
		return errno;
	return 0;
}

// FALLOCATE and COPY_FILE_RANGE carry no kill flag, and with
// HANDLE_KILLPRIV_V2 the kernel leaves the clearing to us: a caller other
// than uid 0 has no CAP_FSETID (file capabilities aside); for uid 0 its
// CapEff tells (a container's root, capsh --drop=cap_fsetid).
bool AtomFs::must_kill_suidgid(const Request &req) const
{
	return killpriv_v2_ && as_root_ && (req.caller.uid != 0 || !caller_has_fsetid(req.caller));
}

fuse::Errno AtomFs::fallocate(const Request &req, NodeId, std::uint64_t fh, int mode,
			      std::uint64_t off, std::uint64_t len)
{
	auto h = files_.get(fh);
	if (!h)
		return EBADF;
	if (must_kill_suidgid(req))
		if (Errno e = kill_suidgid(h->fd, req.caller))
			return e;
	if (::fallocate(h->fd, mode, off, len) != 0)
		return errno;
	return 0;
}

fuse::Errno AtomFs::copy_file_range(const Request &req, NodeId, std::uint64_t in_fh,
				    std::uint64_t in_off, NodeId, std::uint64_t out_fh,
				    std::uint64_t out_off, std::uint64_t len, std::uint64_t flags,
				    std::size_t &copied)
{
	auto in = files_.get(in_fh);
	auto out = files_.get(out_fh);
	if (!in || !out)
		return EBADF;
	if (must_kill_suidgid(req))
		if (Errno e = kill_suidgid(out->fd, req.caller))
			return e;
	loff_t io = in_off, oo = out_off;
	ssize_t n = ::copy_file_range(in->fd, &io, out->fd, &oo, len, flags);
	if (n < 0)
		return errno;
	copied = n;
	return 0;
}

fuse::Errno AtomFs::lseek(const Request &, NodeId, std::uint64_t fh, std::uint64_t off,
			  int whence, std::uint64_t &result)
{
	auto h = files_.get(fh);
	if (!h)
		return EBADF;
	off_t r = ::lseek(h->fd, off, whence);
	if (r < 0)
		return errno;
	result = r;
	return 0;
}

} // namespace atomfs::fs
