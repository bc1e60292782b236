// SPDX-License-Identifier: MIT
//
// Acting as the caller for one operation.
//
// Files created through the mount must belong to the process that created
// them, as on a native filesystem: owner = caller's fsuid, group = caller's
// fsgid (or the directory's group when it is set-group-ID), and the caller's
// umask applied unless the parent has a default ACL. Creating as root and
// chown()ing afterwards would leave a window with a root-owned file, would
// ignore setgid directories and could not honour default ACLs, so we switch
// the worker thread's fsuid/fsgid around the creating syscall instead.
//
// setfsuid/setfsgid are per thread on Linux (the raw syscalls; glibc does not
// broadcast them to other threads as it does for setuid), so other requests
// served concurrently keep root's identity. The umask is per process unless
// the thread unshares CLONE_FS; each worker does that once, lazily, and then
// sets its own umask per request.
//
// Supplementary groups: FUSE tells the server only uid/gid/pid, plus, for
// creating requests, the parent directory's group when the caller holds it
// as a supplementary group (FUSE_CREATE_SUPP_GROUP). That group (or none)
// becomes the thread's only supplementary group for the call (setgroups is
// per thread as a raw syscall too). The backing filesystem then checks the
// caller's access again, from the source's current modes and ACLs, not
// from what the kernel has cached (which is why opens, setattr, unlink,
// rename and user.* xattrs run as the caller too, not only the creating
// calls). When it refuses with EACCES (or EPERM) the caller
// may still be allowed through another of its groups (a named-group ACL
// entry, a directory of a group that is not the parent's): as_caller()
// then retries once with the caller's full group list read from
// /proc/PID/status. No capability is kept: the backing filesystem decides.
#pragma once

#include <atomfs/fuse/filesystem.h>

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace atomfs::fs {

// The credential syscalls with 32-bit ids. On i386 and 32-bit ARM the plain
// SYS_setfsuid, SYS_setfsgid, SYS_setgroups and SYS_getgroups are the old
// 16-bit calls (glibc's wrappers pick the *32 ones, but we make the raw
// per-thread syscalls): a uid above 65535 would become another user, and
// setgroups would read a gid_t list as 16-bit values ({100, 1001} as
// {100, 0}: group root).
namespace sys {
#ifdef SYS_setfsuid32
inline constexpr long setfsuid = SYS_setfsuid32, setfsgid = SYS_setfsgid32,
		      setgroups = SYS_setgroups32, getgroups = SYS_getgroups32;
#else
inline constexpr long setfsuid = SYS_setfsuid, setfsgid = SYS_setfsgid,
		      setgroups = SYS_setgroups, getgroups = SYS_getgroups;
#endif
static_assert(sizeof(uid_t) == 4 && sizeof(gid_t) == 4);
} // namespace sys

// A worker thread of a root server needs no supplementary groups of its
// own (its capabilities override them): the first credential switch on
// each thread (ScopedCreds, BackingCreds) drops them for good, so that a
// switch for a call that names no group (opens, renames, setattr...)
// changes none, the common case costing four credential changes, not
// seven syscalls with two setgroups (which allocate). Both classes rely on
// it: a thread that dropped them must never get them back (BackingCreds
// restoring a list it read before the drop would hand the server's groups,
// root's 0 among them, to every later caller). false when the drop
// failed: then every switch saves and restores the thread's list.
inline bool thread_without_groups()
{
	thread_local int state = 0; // 0 unknown, 1 dropped, -1 kept
	if (state == 0)
		state = ::syscall(sys::setgroups, 0, nullptr) == 0 ? 1 : -1;
	return state > 0;
}

class ScopedCreds {
public:
	// enabled: false when the server is not root (it cannot switch).
	// groups/ngroups: the caller's supplementary groups when known;
	// otherwise only the group FUSE named (supp_gid), or none.
	// no_caps: no capability either (setfsuid keeps CAP_SYS_ADMIN and
	// others that are not filesystem capabilities).
	ScopedCreds(const fuse::Caller &c, bool enabled, const gid_t *groups = nullptr,
		    int ngroups = -1, bool no_caps = false)
	    : on_(enabled)
	{
		if (!on_)
			return;
		const gid_t g = c.supp_gid;
		const bool set_groups = ngroups > 0 || (ngroups < 0 && g != kNoGid);
		// Root as root: every capability stays, and the thread's fsuid and
		// fsgid are 0 already; only groups or dropped capabilities differ.
		if (c.uid == 0 && c.gid == 0 && !set_groups && !no_caps) {
			on_ = false;
			return;
		}
		if (thread_without_groups()) {
			// Nothing to save: the thread's list is empty, and is put
			// back empty.
			restore_empty_ = true;
			if (set_groups)
				groups_set_ = ngroups > 0 ? ::syscall(sys::setgroups, ngroups, groups) == 0
							  : ::syscall(sys::setgroups, 1, &g) == 0;
			failed_ = set_groups && !groups_set_;
		} else {
			// The thread keeps groups of its own (the server's): they
			// must be replaced, or the caller would act with them.
			save_and_set_groups(g, groups, ngroups);
			failed_ = !groups_set_;
		}
		// gid first: after dropping fsuid we would still be allowed to, but
		// keep the order the kernel's own helpers use. Both report the old
		// id whether or not they changed it (without CAP_SETUID/CAP_SETGID:
		// a container, a systemd CapabilityBoundingSet); an invalid id (-1)
		// changes nothing and reports the current one.
		::syscall(sys::setfsgid, c.gid);
		::syscall(sys::setfsuid, c.uid);
		if (::syscall(sys::setfsgid, -1) != static_cast<long>(c.gid) ||
		    ::syscall(sys::setfsuid, -1) != static_cast<long>(c.uid))
			failed_ = true;
		if (no_caps) {
			if (::syscall(SYS_capget, &caps_h_, caps_) == 0) {
				__user_cap_data_struct none[2] = {caps_[0], caps_[1]};
				none[0].effective = none[1].effective = 0;
				caps_set_ = ::syscall(SYS_capset, &caps_h_, none) == 0;
			}
			failed_ = failed_ || !caps_set_;
		}
		if (failed_)
			report_failure();
	}
	// false when the thread could not take the caller's credentials: the
	// call must then be refused (EPERM), not made as root.
	bool ok() const { return !failed_; }
	~ScopedCreds()
	{
		if (!on_)
			return;
		if (caps_set_) {
			__user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
			::syscall(SYS_capset, &h, caps_);
		}
		::syscall(sys::setfsuid, 0);
		::syscall(sys::setfsgid, 0);
		if (groups_set_ && restore_empty_)
			::syscall(sys::setgroups, 0, nullptr);
		else if (groups_set_)
			::syscall(sys::setgroups, nsaved_, big_.empty() ? saved_ : big_.data());
	}
	ScopedCreds(const ScopedCreds &) = delete;
	ScopedCreds &operator=(const ScopedCreds &) = delete;

private:
	static void report_failure()
	{
		static std::atomic<bool> said{false};
		if (!said.exchange(true))
			std::fprintf(stderr, "atomfs: cannot act as the caller (setfsuid, setfsgid "
					     "or setgroups refused; CAP_SETUID and CAP_SETGID "
					     "needed): such calls are refused with EPERM\n");
	}
	static constexpr gid_t kNoGid = static_cast<gid_t>(-1);
	void save_and_set_groups(gid_t g, const gid_t *groups, int ngroups)
	{
		long n = ::syscall(sys::getgroups, kMaxSaved, saved_);
		if (n < 0 && errno == EINVAL) {
			n = ::syscall(sys::getgroups, 0, nullptr);
			if (n >= 0) {
				big_.resize(static_cast<size_t>(n));
				n = ::syscall(sys::getgroups, n, big_.data());
			}
		}
		if (n < 0)
			return;
		nsaved_ = static_cast<int>(n);
		if (ngroups >= 0)
			groups_set_ = ::syscall(sys::setgroups, ngroups, groups) == 0;
		else
			groups_set_ = ::syscall(sys::setgroups, g == kNoGid ? 0 : 1, &g) == 0;
	}
	static constexpr int kMaxSaved = 32;
	bool on_;
	bool failed_ = false;
	bool restore_empty_ = false;
	bool groups_set_ = false;
	int nsaved_ = 0;
	gid_t saved_[kMaxSaved];
	std::vector<gid_t> big_; // the server's groups when more than kMaxSaved
	bool caps_set_ = false;
	__user_cap_header_struct caps_h_{_LINUX_CAPABILITY_VERSION_3, 0};
	__user_cap_data_struct caps_[2]{};
};

// Sets this thread's umask for a creating call; returns false when the
// thread cannot have its own umask (the caller must then mask the mode).
inline bool set_thread_umask(mode_t umask_bits)
{
	thread_local int state = 0; // 0 unknown, 1 own fs struct, -1 shared
	if (state == 0)
		state = ::unshare(CLONE_FS) == 0 ? 1 : -1;
	if (state < 0)
		return false;
	::umask(umask_bits & 07777);
	return true;
}

// The mode for a creating syscall made as the caller: the thread takes the
// caller's umask, so that the backing filesystem applies it, or a parent's
// default ACL instead of it, as natively; without a umask of its own the
// thread masks the mode here.
inline mode_t mode_for_create(mode_t mode, mode_t umask_bits)
{
	return set_thread_umask(umask_bits) ? mode : mode & ~(umask_bits & 07777);
}

// The caller's supplementary groups (and, with capeff, its effective
// capabilities), from /proc/PID/status: the request names only its fsuid
// and fsgid, so read the thread's credentials, and trust them only if its
// fsuid and fsgid are the request's (a reused pid then cannot speak for
// it). false when unsure.
inline bool caller_groups(const fuse::Caller &c, std::vector<gid_t> &out,
			  unsigned long long *capeff = nullptr)
{
	out.clear();
	if (c.pid <= 0)
		return false;
	char path[40];
	std::snprintf(path, sizeof(path), "/proc/%d/status", static_cast<int>(c.pid));
	std::FILE *f = std::fopen(path, "re");
	if (!f)
		return false;
	// Groups: holds up to NGROUPS_MAX numbers: read lines of any length.
	char *line = nullptr;
	size_t cap = 0;
	bool ids = true, groups = false, caps = !capeff;
	unsigned long v[4];
	while (!(groups && caps) && ::getline(&line, &cap, f) > 0) {
		if (std::sscanf(line, "Uid: %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) == 4)
			ids = ids && v[3] == c.uid;
		else if (std::sscanf(line, "Gid: %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) == 4)
			ids = ids && v[3] == c.gid;
		else if (capeff && std::sscanf(line, "CapEff: %llx", capeff) == 1)
			caps = true; // after Groups in the file
		else if (std::strncmp(line, "Groups:", 7) == 0) {
			for (char *p = line + 7, *end; ; p = end) {
				unsigned long g = std::strtoul(p, &end, 10);
				if (end == p)
					break;
				out.push_back(static_cast<gid_t>(g));
			}
			groups = true; // after Uid and Gid in the file
		}
	}
	std::free(line);
	std::fclose(f);
	if (!ids || !groups || !caps)
		out.clear();
	return ids && groups && caps;
}

// Whether the caller is in group gid through a supplementary group.
inline bool caller_in_group(const fuse::Caller &c, gid_t gid)
{
	std::vector<gid_t> g;
	return caller_groups(c, g) && std::find(g.begin(), g.end(), gid) != g.end();
}

// Runs op (a syscall: -1 and errno on failure) as the caller; on EACCES
// or EPERM once more with the caller's full group list (see the top of
// this file): a group grants access (EACCES), and also chgrp to it, a
// hard link under fs.protected_hardlinks (EPERM). The common case stays
// one syscall; errno is op's. full_groups: the list is needed even when
// op succeeds without it (a chmod keeping set-group-ID, which the backing
// filesystem drops silently for a caller outside the file's group).
template <class Op> int as_caller(const fuse::Caller &c, bool enabled, Op &&op,
				  bool full_groups = false)
{
	std::vector<gid_t> g;
	if (full_groups && enabled && caller_groups(c, g)) {
		int r, err;
		{
			ScopedCreds creds(c, enabled, g.data(), static_cast<int>(g.size()));
			r = creds.ok() ? op() : -1;
			err = creds.ok() ? errno : EPERM;
		}
		errno = err;
		return r;
	}
	int r, err;
	{
		ScopedCreds creds(c, enabled);
		r = creds.ok() ? op() : -1;
		err = creds.ok() ? errno : EPERM;
	}
	if (r < 0 && (err == EACCES || err == EPERM) && enabled && caller_groups(c, g)) {
		ScopedCreds creds(c, enabled, g.data(), static_cast<int>(g.size()));
		r = creds.ok() ? op() : -1;
		err = creds.ok() ? errno : EPERM;
	}
	errno = err;
	return r;
}

// Whether the caller may keep set-ID bits, where the kernel does not say
// it (chown, fallocate, copy_file_range carry no CAP_FSETID verdict; write,
// truncate and O_TRUNC do, through their KILL flags): no, yes, or ask
// /proc/PID/status (CapEff) when there are bits to lose. A uid-0 caller
// without CAP_FSETID (a container, capsh --drop) is not capable; when the
// status cannot be trusted the bits go (the side a native kernel errs on).
enum class Fsetid { no, yes, ask };

inline bool caller_has_fsetid(const fuse::Caller &c)
{
	std::vector<gid_t> g;
	unsigned long long capeff = 0;
	return caller_groups(c, g, &capeff) && (capeff >> CAP_FSETID & 1);
}

// FUSE_HANDLE_KILLPRIV_V2 leaves clearing set-user-ID/set-group-ID to us,
// and we act as root, whose CAP_FSETID keeps them. The mode a write,
// truncate or chown by the caller leaves natively, from st, the file
// before the change (setattr_should_drop_suidgid): set-user-ID goes,
// set-group-ID goes when the file is group-executable, or when the caller
// is outside the file's (old) group and may not keep it.
inline mode_t mode_without_suidgid(const struct stat &st, const fuse::Caller &c, Fsetid capable)
{
	mode_t m = st.st_mode & 07777;
	if (!S_ISREG(st.st_mode) || !(m & (S_ISUID | S_ISGID)))
		return m;
	m &= ~S_ISUID;
	if ((m & S_ISGID) &&
	    ((st.st_mode & S_IXGRP) ||
	     (c.gid != st.st_gid && !caller_in_group(c, st.st_gid) &&
	      !(capable == Fsetid::yes || (capable == Fsetid::ask && caller_has_fsetid(c))))))
		m &= ~S_ISGID;
	return m;
}

// Applies mode m to fd, which may be an O_PATH fd (fchmod refuses those).
inline int chmod_fd(int fd, mode_t m)
{
	if (::fchmod(fd, m) == 0)
		return 0;
	if (errno != EBADF)
		return errno;
	char proc[40];
	std::snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return ::fchmodat(AT_FDCWD, proc, m, 0) == 0 ? 0 : errno;
}

// Applies mode_without_suidgid to the file behind fd (open, or O_PATH).
inline int kill_suidgid(int fd, const fuse::Caller &c, Fsetid capable = Fsetid::no)
{
	struct stat st;
	if (::fstat(fd, &st) != 0)
		return errno;
	mode_t m = mode_without_suidgid(st, c, capable);
	return m != (st.st_mode & 07777) ? chmod_fd(fd, m) : 0;
}

// The credentials a passthrough backing file is registered with
// (FUSE_DEV_IOC_BACKING_OPEN records the caller's): the kernel writes to
// the backing file with them, so the backing filesystem clears set-ID bits
// and security.capability on a passthrough write as it would for a writer
// without CAP_FSETID outside the file's group, which is what the kernel
// expects of us with FUSE_HANDLE_KILLPRIV_V2. CAP_SYS_ADMIN (needed for
// the ioctl) and CAP_DAC_OVERRIDE (the kernel reopens the file per FUSE
// file with these credentials) stay. Per thread: capset and the raw
// setgroups/setfsgid syscalls affect only the calling thread.
// A worker's own capabilities and groups are the same at every
// registration (whatever changes them, ScopedCreds, restores them before it
// returns), so they are read once per thread; a thread in no group (root
// usually is) needs no setgroups. That leaves capset, setfsgid and their
// undoing around the ioctl.
class BackingCreds {
public:
	BackingCreds()
	{
		// First: the list read below is then the empty one for good.
		(void)thread_without_groups();
		Saved &s = saved();
		if (!s.read) {
			if (::syscall(SYS_capget, &h_, s.caps) != 0)
				return;
			long n = ::syscall(sys::getgroups, kMaxSaved, s.groups);
			s.ngroups = n >= 0 ? static_cast<int>(n) : -1;
			s.read = true;
		}
		__user_cap_data_struct d[2] = {s.caps[0], s.caps[1]};
		d[CAP_FSETID / 32].effective &= ~(1u << (CAP_FSETID % 32));
		if (::syscall(SYS_capset, &h_, d) != 0)
			return;
		caps_set_ = true;
		if (s.ngroups > 0 && ::syscall(sys::setgroups, 0, nullptr) == 0)
			groups_set_ = true;
		old_fsgid_ = static_cast<gid_t>(::syscall(sys::setfsgid, kNoGroup));
	}
	~BackingCreds()
	{
		if (!caps_set_)
			return;
		Saved &s = saved();
		::syscall(sys::setfsgid, old_fsgid_);
		if (groups_set_)
			::syscall(sys::setgroups, s.ngroups, s.groups);
		__user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
		::syscall(SYS_capset, &h, s.caps);
	}
	BackingCreds(const BackingCreds &) = delete;
	BackingCreds &operator=(const BackingCreds &) = delete;

private:
	// A group no file is expected to have: in_group_p() is false for it.
	static constexpr gid_t kNoGroup = static_cast<gid_t>(-2);
	static constexpr int kMaxSaved = 64;
	// The thread's own credentials, read at its first registration.
	struct Saved {
		bool read = false;
		__user_cap_data_struct caps[2]{};
		int ngroups = -1; // -1: more than kMaxSaved (then never changed)
		gid_t groups[kMaxSaved];
	};
	static Saved &saved()
	{
		thread_local Saved s;
		return s;
	}
	__user_cap_header_struct h_{_LINUX_CAPABILITY_VERSION_3, 0};
	bool caps_set_ = false;
	bool groups_set_ = false;
	gid_t old_fsgid_ = 0;
};

} // namespace atomfs::fs
