// SPDX-License-Identifier: MIT
//
// atomfs: construction, INIT, and the operations on names and attributes.
// Opening (open, create, open_atomic, tmpfile) and data are in open.cc,
// directories in dir.cc, extended attributes in xattr.cc.
#include "passthrough.h"

#include "creds.h"
#include "util.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace atomfs::fs {

FileHandle::~FileHandle()
{
	if (fd >= 0)
		::close(fd);
	if (inode)
		inode->open_files--;
}

DirHandle::~DirHandle()
{
	if (fd >= 0)
		::close(fd);
}

// Half of the fd limit for cached inode fds; the rest is for open files,
// directory handles and the library.
static std::size_t default_fd_budget()
{
	struct rlimit rl {};
	if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 4096;
	std::size_t n = rl.rlim_cur / 2;
	return n < 64 ? 64 : n;
}

AtomFs::AtomFs(const Config &cfg, int root_fd)
    : cfg_(cfg), table_(root_fd, cfg.fd_budget ? cfg.fd_budget : default_fd_budget()),
      as_root_(::geteuid() == 0)
{
	if (!cfg_.cache) {
		cfg_.timeout = 0;
		cfg_.writeback = false;
	}
}

AtomFs::~AtomFs() = default;

std::unique_ptr<AtomFs> AtomFs::create(const Config &cfg, std::string &error)
{
	int fd = ::open(cfg.source.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		error = "cannot open source " + cfg.source + ": " + std::strerror(errno);
		return nullptr;
	}
	return std::make_unique<AtomFs>(cfg, fd);
}

std::string AtomFs::stats_json_fields() const
{
	char buf[256];
	std::snprintf(buf, sizeof(buf),
		      "\"inodes\": %zu, \"cached_fds\": %zu, \"file_handles\": %s, "
		      "\"backing_registrations\": %llu, \"idle_backing_ids\": %zu",
		      table_.size(), table_.open_fds(),
		      table_.handles_enabled() ? "true" : "false",
		      (unsigned long long)backing_registrations_.load(std::memory_order_relaxed),
		      idle_backings_.load(std::memory_order_relaxed));
	return buf;
}

void AtomFs::init(const fuse::ConnectionInfo &info, std::uint64_t &want)
{
	// want holds what we asked for (SessionOptions) and the kernel offers.
	if (!(cfg_.cache && cfg_.writeback))
		want &= ~fuse::kCapWritebackCache;
	writeback_ = want & fuse::kCapWritebackCache;
	// The kernel refuses passthrough together with writeback caching, and
	// registering backing files needs CAP_SYS_ADMIN.
	if (!(cfg_.passthrough && as_root_) || writeback_)
		want &= ~fuse::kCapPassthrough;
	passthrough_ = want & fuse::kCapPassthrough;
	killpriv_v2_ = want & fuse::kCapHandleKillprivV2;
	// With default_permissions the kernel checks access itself; without
	// FUSE_POSIX_ACL it would do so from the mode alone, and a named entry
	// denying a user (u:nobody:---) would be ignored. Rather no mount.
	if (cfg_.kernel_checks && !(want & fuse::kCapPosixAcl)) {
		std::fprintf(stderr, "atomfs: the kernel did not grant FUSE_POSIX_ACL, needed by "
				     "default_permissions/allow_other to honour ACLs: unmounting\n");
		refused_ = true;
		if (cfg_.on_refused)
			cfg_.on_refused();
	}
}

void AtomFs::destroy() {}

// --meta-latency: deferred to the timer (latency.h), so the worker is free
// meanwhile; the resumed call (req.resumed) does the work. --sync-latency,
// or a request that cannot be deferred: a sleep on the worker.
bool AtomFs::charge_latency(const Request &req)
{
	if (cfg_.meta_latency.count() <= 0 || req.resumed)
		return false;
	if (!cfg_.sync_latency) {
		if (fuse::PendingReply p = fuse::defer(req)) {
			std::call_once(timer_once_, [this] { timer_ = std::make_unique<LatencyTimer>(); });
			timer_->resume_after(cfg_.meta_latency, std::move(p));
			return true;
		}
	}
	struct timespec ts;
	ts.tv_sec = cfg_.meta_latency.count() / 1000000000;
	ts.tv_nsec = cfg_.meta_latency.count() % 1000000000;
	while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
	return false;
}

fuse::Errno AtomFs::node_fd(NodeId id, std::shared_ptr<Inode> &inode, FdRef &fd)
{
	inode = table_.get(id);
	if (!inode)
		return ESTALE;
	return table_.fd(inode, fd);
}

fuse::Errno AtomFs::dir_fd(NodeId id, std::shared_ptr<Inode> &dir, FdRef &fd)
{
	if (Errno e = node_fd(id, dir, fd))
		return e;
	return dir->is_dir() ? 0 : ENOTDIR;
}

void AtomFs::fill_entry(const Inode &in, const struct stat &st, Entry &out) const
{
	out.nodeid = in.nodeid;
	out.generation = in.generation;
	out.attr = st;
	out.entry_timeout = cfg_.timeout;
	out.attr_timeout = cfg_.timeout;
}

fuse::Errno AtomFs::entry_from_fd(int fd, bool fd_is_path, Entry &out,
				  std::shared_ptr<Inode> *inode)
{
	struct stat st;
	if (::fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
		int e = errno;
		if (fd_is_path)
			::close(fd);
		return e;
	}
	Errno err;
	auto in = table_.intern(st, fd_is_path ? fd : -1, fd, err);
	if (!in)
		return err;
	fill_entry(*in, st, out);
	if (inode)
		*inode = std::move(in);
	return 0;
}

fuse::Errno AtomFs::lookup_at(int parent_fd, const char *name, Entry &out)
{
	int fd = ::openat(parent_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno;
	return entry_from_fd(fd, true, out, nullptr);
}

fuse::Errno AtomFs::lookup(const Request &req, NodeId parent, std::string_view name, Entry &out)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	Name n(name);
	if (n.err)
		return n.err;
	std::shared_ptr<Inode> p;
	FdRef pfd;
	if (Errno e = node_fd(parent, p, pfd))
		return e;
	// No negative entries unless asked (--negative-timeout): a name created
	// in the source directly must show up at once, not after a timeout.
	Errno e = lookup_at(pfd.get(), n.c_str(), out);
	if (e == ENOENT)
		return missing(out);
	if (!e)
		test_generation(name, out);
	return e;
}

fuse::Errno AtomFs::missing(Entry &out) const
{
	if (!(cfg_.negative_timeout > 0))
		return ENOENT;
	out = Entry{};
	out.entry_timeout = cfg_.negative_timeout;
	return 0;
}

void AtomFs::test_generation(std::string_view name, Entry &out)
{
	// A server that reuses node ids (say, the backing inode number) sends
	// the same nodeid with a new generation for a new object: the kernel
	// must take it for another inode.
	if (cfg_.test_new_generation && out.nodeid && name.starts_with("newgen"))
		out.generation += 1 + test_generation_bump_.fetch_add(1, std::memory_order_relaxed);
}

void AtomFs::forget(NodeId node, std::uint64_t nlookup)
{
	drop_lookups(node, nlookup);
}

fuse::Errno AtomFs::getattr(const Request &req, NodeId node, std::optional<std::uint64_t> fh,
			    fuse::Attr &out)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	if (fh) {
		if (auto h = files_.get(*fh); h && h->inode && h->inode->nodeid == node) {
			if (::fstat(h->fd, &out.attr) != 0)
				return errno;
			out.timeout = cfg_.timeout;
			return 0;
		}
	}
	std::shared_ptr<Inode> in;
	FdRef fd;
	if (Errno e = node_fd(node, in, fd))
		return e;
	if (::fstatat(fd.get(), "", &out.attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
		return errno;
	out.timeout = cfg_.timeout;
	return 0;
}

fuse::Errno AtomFs::setattr(const Request &req, NodeId node, const fuse::SetAttr &in,
			    fuse::Attr &out)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	std::shared_ptr<Inode> inode;
	FdRef fd;
	if (Errno e = node_fd(node, inode, fd))
		return e;
	std::shared_ptr<FileHandle> h;
	if (in.fh)
		h = files_.get(*in.fh);
	int ffd = h ? h->fd : -1;
	ProcPath proc(fd.get());
	std::uint32_t v = in.valid;
	// Every change is made as the caller (creds.h): with default_permissions
	// the kernel judged ownership and write access from attributes it may
	// have cached for a second while the source changed (chown, chmod,
	// setfacl there), so the backing filesystem judges again. Except the
	// kernel's own mtime update of --writeback (flushed as whoever closes
	// or syncs the file, who need not own it): fuse_flush_times() sends
	// the mtime of a file it wrote, with a writable handle of it (a user's
	// utimensat of the mtime alone looks the same but never carries a
	// handle). Set-ID files are changed with all the caller's groups: the
	// backing filesystem drops set-group-ID for a caller outside the
	// file's group, without an error to retry on.
	const bool kernel_mtime =
		writeback_ && (v & fuse::kSetattrMtime) && h && h->writable &&
		h->inode == inode &&
		!(v & (fuse::kSetattrMode | fuse::kSetattrUid | fuse::kSetattrGid |
		       fuse::kSetattrSize | fuse::kSetattrAtime | fuse::kSetattrAtimeNow |
		       fuse::kSetattrMtimeNow));
	const bool caller = as_root_ && !kernel_mtime;
	struct stat before;
	const bool setid = caller && inode->is_reg() &&
			   (::fstatat(fd.get(), "", &before, AT_EMPTY_PATH) != 0 ||
			    (before.st_mode & (S_ISUID | S_ISGID)));

	if (v & fuse::kSetattrMode) {
		const mode_t m = in.attr.st_mode & 07777;
		int r = as_caller(
			req.caller, caller,
			[&] {
				return ffd >= 0 ? ::fchmod(ffd, m) : ::fchmodat(AT_FDCWD, proc.c_str(), m, 0);
			},
			setid || (m & S_ISGID));
		if (r != 0)
			return errno;
	}
	// A truncate by a caller without CAP_FSETID, or any chown of a
	// non-directory (HANDLE_KILLPRIV_V2): we act as root, who keeps the
	// bits. Decided from the file as it is before the change (its old
	// group, as setattr_should_drop_suidgid) and applied before it, so
	// that no one sees the file truncated or given away with its bits and
	// no error is reported after the file changed. A truncate's verdict on
	// CAP_FSETID is the kernel's (it sends the flag only without it); a
	// chown's flag comes always, so for uid 0 its CapEff decides.
	// A non-root caller's own chown, or truncate by path, makes the backing
	// filesystem drop the bits itself (the caller has no CAP_FSETID, and
	// all its groups for a set-ID file), as natively: only if the change
	// is allowed, so a refused one leaves them.
	const bool ftruncate_as_root = (v & fuse::kSetattrSize) && h && h->writable;
	const bool backing_drops = caller && req.caller.uid != 0 && !ftruncate_as_root;
	if ((v & fuse::kSetattrKillSuidgid) && as_root_ && inode->is_reg() && !backing_drops) {
		const Fsetid capable = (v & fuse::kSetattrSize) || req.caller.uid != 0
					       ? Fsetid::no
					       : Fsetid::ask;
		if (Errno e = kill_suidgid(ffd >= 0 ? ffd : fd.get(), req.caller, capable))
			return e;
	}
	if (v & (fuse::kSetattrUid | fuse::kSetattrGid)) {
		uid_t uid = (v & fuse::kSetattrUid) ? in.attr.st_uid : (uid_t)-1;
		gid_t gid = (v & fuse::kSetattrGid) ? in.attr.st_gid : (gid_t)-1;
		if (as_caller(
			    req.caller, caller,
			    [&] {
				    return ::fchownat(fd.get(), "", uid, gid,
						      AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
			    },
			    setid) != 0)
			return errno;
	}
	if (v & fuse::kSetattrSize) {
		if (!inode->is_reg())
			return inode->is_dir() ? EISDIR : EINVAL;
		// An open file's own truncate needs no access beyond its open.
		int r = (h && h->writable)
				? ::ftruncate(ffd, in.attr.st_size)
				: as_caller(
					  req.caller, caller,
					  [&] { return ::truncate(proc.c_str(), in.attr.st_size); },
					  setid);
		if (r != 0)
			return errno;
	}
	if (v & (fuse::kSetattrAtime | fuse::kSetattrMtime | fuse::kSetattrAtimeNow |
		 fuse::kSetattrMtimeNow)) {
		struct timespec ts[2];
		ts[0].tv_nsec = ts[1].tv_nsec = UTIME_OMIT;
		if (v & fuse::kSetattrAtimeNow)
			ts[0].tv_nsec = UTIME_NOW;
		else if (v & fuse::kSetattrAtime)
			ts[0] = in.attr.st_atim;
		if (v & fuse::kSetattrMtimeNow)
			ts[1].tv_nsec = UTIME_NOW;
		else if (v & fuse::kSetattrMtime)
			ts[1] = in.attr.st_mtim;
		auto set_times = [&] {
			if (ffd >= 0)
				return ::futimens(ffd, ts);
			if (inode->is_symlink())
				return ::utimensat(fd.get(), "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
			return ::utimensat(AT_FDCWD, proc.c_str(), ts, 0);
		};
		int r = as_caller(req.caller, caller, set_times);
		// --writeback keeps mtime in the kernel, which turns a touch
		// (utimensat(NULL), judged by write access) into "atime now,
		// mtime its own clock" (judged by ownership): a writer who does
		// not own the file is refused that, so it gets the touch it asked
		// for, judged as natively (EACCES without write access).
		if (r != 0 && errno == EPERM && caller && writeback_ &&
		    (v & fuse::kSetattrAtimeNow) && (v & fuse::kSetattrMtime) &&
		    !(v & fuse::kSetattrMtimeNow)) {
			ts[1].tv_nsec = UTIME_NOW;
			r = as_caller(req.caller, caller, set_times);
		}
		if (r != 0)
			return errno;
	}
	if (::fstatat(fd.get(), "", &out.attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
		return errno;
	out.timeout = cfg_.timeout;
	return 0;
}

fuse::Errno AtomFs::readlink(const Request &req, NodeId node, std::span<char> buf, std::size_t &len)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	std::shared_ptr<Inode> in;
	FdRef fd;
	if (Errno e = node_fd(node, in, fd))
		return e;
	if (!in->is_symlink())
		return EINVAL;
	ssize_t n = ::readlinkat(fd.get(), "", buf.data(), buf.size());
	if (n < 0)
		return errno;
	len = n;
	return 0;
}

fuse::Errno AtomFs::mknod(const Request &req, NodeId parent, std::string_view name, mode_t mode,
			  dev_t rdev, mode_t umask, Entry &out)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	Name n(name);
	std::shared_ptr<Inode> p;
	FdRef pfd;
	if (Errno e = parent_dir(parent, n, p, pfd))
		return e;
	{
		const mode_t m = mode_for_create(mode, umask);
		if (as_caller(req.caller, as_root_,
			      [&] { return ::mknodat(pfd.get(), n.c_str(), m, rdev); }) != 0)
			return errno;
	}
	return lookup_at(pfd.get(), n.c_str(), out);
}

fuse::Errno AtomFs::mkdir(const Request &req, NodeId parent, std::string_view name, mode_t mode,
			  mode_t umask, Entry &out)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	Name n(name);
	std::shared_ptr<Inode> p;
	FdRef pfd;
	if (Errno e = parent_dir(parent, n, p, pfd))
		return e;
	{
		const mode_t m = mode_for_create(mode, umask) & 07777;
		if (as_caller(req.caller, as_root_,
			      [&] { return ::mkdirat(pfd.get(), n.c_str(), m); }) != 0)
			return errno;
	}
	return lookup_at(pfd.get(), n.c_str(), out);
}

fuse::Errno AtomFs::symlink(const Request &req, NodeId parent, std::string_view name,
			    std::string_view target, Entry &out)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	Name n(name);
	std::shared_ptr<Inode> p;
	FdRef pfd;
	if (Errno e = parent_dir(parent, n, p, pfd))
		return e;
	// The target is data, resolved by the client's VFS, never by us.
	if (target.empty() || target.size() >= PATH_MAX ||
	    target.find('\0') != std::string_view::npos)
		return target.empty() ? ENOENT : (target.size() >= PATH_MAX ? ENAMETOOLONG : EINVAL);
	char t[PATH_MAX];
	std::memcpy(t, target.data(), target.size());
	t[target.size()] = 0;
	{
		if (as_caller(req.caller, as_root_,
			      [&] { return ::symlinkat(t, pfd.get(), n.c_str()); }) != 0)
			return errno;
	}
	return lookup_at(pfd.get(), n.c_str(), out);
}

void AtomFs::pin_victim(int parent_fd, const char *name, bool is_dir)
{
	// An evicted fd could not be re-opened from its handle once the last
	// name is gone, yet the kernel may still use the inode (open files,
	// fstat after unlink): keep its fd before removing the name.
	if (!table_.handles_enabled())
		return;
	struct stat st;
	if (::fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	if (!is_dir && !S_ISDIR(st.st_mode) && st.st_nlink > 1)
		return;
	if (auto in = table_.find(st.st_dev, st.st_ino))
		table_.pin(in);
}

// unlink, rmdir and rename run as the caller: the backing filesystem then
// judges write and search access to the directories, and the sticky bit,
// against their current modes, owners and ACLs, not against the
// attributes the kernel's default_permissions check may have cached.
fuse::Errno AtomFs::unlink(const Request &req, NodeId parent, std::string_view name)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	Name n(name);
	std::shared_ptr<Inode> p;
	FdRef pfd;
	if (Errno e = parent_dir(parent, n, p, pfd))
		return e;
	pin_victim(pfd.get(), n.c_str(), false);
	if (as_caller(req.caller, as_root_, [&] { return ::unlinkat(pfd.get(), n.c_str(), 0); }) != 0)
		return errno;
	return 0;
}

fuse::Errno AtomFs::rmdir(const Request &req, NodeId parent, std::string_view name)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	Name n(name);
	std::shared_ptr<Inode> p;
	FdRef pfd;
	if (Errno e = parent_dir(parent, n, p, pfd))
		return e;
	pin_victim(pfd.get(), n.c_str(), true);
	if (as_caller(req.caller, as_root_,
		      [&] { return ::unlinkat(pfd.get(), n.c_str(), AT_REMOVEDIR); }) != 0)
		return errno;
	return 0;
}

fuse::Errno AtomFs::rename(const Request &req, NodeId parent, std::string_view name,
			   NodeId new_parent, std::string_view new_name, std::uint32_t flags)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return EINVAL;
	Name n(name);
	std::shared_ptr<Inode> p;
	FdRef pfd;
	if (Errno e = parent_dir(parent, n, p, pfd))
		return e;
	Name nn(new_name);
	if (nn.err)
		return nn.err;
	std::shared_ptr<Inode> np;
	FdRef npfd;
	if (Errno e = dir_fd(new_parent, np, npfd))
		return e;
	if (!(flags & (RENAME_NOREPLACE | RENAME_EXCHANGE)))
		pin_victim(npfd.get(), nn.c_str(), false);
	if (as_caller(req.caller, as_root_, [&] {
		    return ::renameat2(pfd.get(), n.c_str(), npfd.get(), nn.c_str(), flags);
	    }) != 0)
		return errno;
	return 0;
}

fuse::Errno AtomFs::link(const Request &req, NodeId node, NodeId new_parent,
			 std::string_view new_name, Entry &out)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	Name n(new_name);
	std::shared_ptr<Inode> p;
	FdRef pfd;
	if (Errno e = parent_dir(new_parent, n, p, pfd))
		return e;
	std::shared_ptr<Inode> in;
	FdRef fd;
	if (Errno e = node_fd(node, in, fd))
		return e;
	{
		// As the caller: fs.protected_hardlinks then judges the caller,
		// as it would natively. /proc/self/fd/N with AT_SYMLINK_FOLLOW
		// names the inode itself (even a symlink) without needing
		// CAP_DAC_READ_SEARCH, which the fsuid switch drops.
		ProcPath proc(fd.get());
		if (as_caller(req.caller, as_root_, [&] {
			    return ::linkat(AT_FDCWD, proc.c_str(), pfd.get(), n.c_str(),
					    AT_SYMLINK_FOLLOW);
		    }) != 0)
			return errno;
	}
	return lookup_at(pfd.get(), n.c_str(), out);
}

fuse::Errno AtomFs::statfs(const Request &req, NodeId node, struct statvfs &out)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	std::shared_ptr<Inode> in;
	FdRef fd;
	if (Errno e = node_fd(node, in, fd))
		return e;
	if (::fstatvfs(fd.get(), &out) != 0)
		return errno;
	return 0;
}

fuse::Errno AtomFs::access(const Request &req, NodeId node, int mask)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	std::shared_ptr<Inode> in;
	FdRef fd;
	if (Errno e = node_fd(node, in, fd))
		return e;
	ScopedCreds c(req.caller, as_root_);
	if (!c.ok())
		return EPERM;
	ProcPath proc(fd.get());
	if (::faccessat(AT_FDCWD, proc.c_str(), mask, AT_EACCESS) != 0)
		return errno;
	return 0;
}

} // namespace atomfs::fs
