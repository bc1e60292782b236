// SPDX-License-Identifier: MIT
//
// Extended attributes, through /proc/self/fd/N (the *xattr syscalls take no
// O_PATH fd, and the *xattrat ones refuse it with AT_EMPTY_PATH). Following
// that magic link lands on the inode itself and is final, so for a
// symlink's O_PATH fd the path-following calls act on the symlink's own
// attributes (trusted.*, security.*), as l*xattr would natively; the VFS
// refuses user.* on symlinks as it does natively.
#include "passthrough.h"

#include "creds.h"
#include "util.h"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>
#include <string>

namespace atomfs::fs {

namespace {
// xattr names are at most XATTR_NAME_MAX (255) bytes.
struct XattrName {
	char buf[256];
	fuse::Errno err = 0;
	explicit XattrName(std::string_view s)
	{
		if (s.empty() || s.size() > 255 || s.find('\0') != std::string_view::npos) {
			err = s.size() > 255 ? ERANGE : EINVAL;
			return;
		}
		std::memcpy(buf, s.data(), s.size());
		buf[s.size()] = 0;
	}
};
} // namespace

// Names the kernel checked for us: user.* (inode_permission as the
// caller), trusted.* (CAP_SYS_ADMIN), security.* (capabilities and LSMs,
// on the caller: the kernel itself removes security.capability through us
// when a write or truncate kills privileges, which must work for any
// writer) and the POSIX ACLs (owner, FUSE_POSIX_ACL). The VFS leaves the
// rest of system.* to the filesystem, and on some backing filesystems
// (NFSv4, SMB) those are writable ACLs: they are set and removed as the
// caller, without capabilities (a root caller keeps ours), so that the
// backing filesystem judges the caller as natively.
static bool kernel_checked(std::string_view name)
{
	return !name.starts_with("system.") || name == "system.posix_acl_access" ||
	       name == "system.posix_acl_default";
}

// user.* is judged by the file's mode and ACL (read access to get, write
// access to set and remove, the owner in a sticky directory), which the
// kernel checked on attributes it may have cached while the source
// changed: those calls run as the caller too (creds.h), with its
// capabilities as setfsuid leaves them (none of the filesystem ones).
static bool by_file_access(std::string_view name)
{
	return name.starts_with("user.");
}

static bool is_acl(std::string_view name)
{
	return name == "system.posix_acl_access" || name == "system.posix_acl_default";
}

fuse::Errno AtomFs::setxattr(const Request &req, NodeId node, std::string_view name,
			     std::span<const std::byte> value, int flags)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	XattrName xn(name);
	if (xn.err)
		return xn.err;
	std::shared_ptr<Inode> in;
	FdRef fd;
	if (Errno e = node_fd(node, in, fd))
		return e;
	ProcPath proc(fd.get());
	// A POSIX ACL is the owner's to set: the kernel judged that from the
	// owner it may have cached while the source's changed (chown there),
	// so a non-root caller sets it as itself, with all its groups: the
	// backing filesystem then also drops set-group-ID as natively (the
	// caller outside the file's group has no CAP_FSETID after setfsuid).
	if (is_acl(name) && as_root_ && req.caller.uid != 0)
		return as_caller(
			       req.caller, true,
			       [&] {
				       return ::setxattr(proc.c_str(), xn.buf, value.data(),
							 value.size(), flags);
			       },
			       true) != 0
			       ? errno
			       : 0;
	// Setting an access ACL updates the mode from it; natively the backing
	// filesystem also drops set-group-ID there when the caller is neither
	// in the file's group nor capable. We set it as root, who keeps the
	// bit, so the kernel tells us (FUSE_SETXATTR_ACL_KILL_SGID): drop it
	// before (a failure then changes nothing) and put it back if the ACL
	// is refused.
	struct stat st;
	const bool kill = (req.fuse_flags & fuse::kSetxattrAclKillSgid) &&
			  name == std::string_view("system.posix_acl_access") &&
			  ::stat(proc.c_str(), &st) == 0 && (st.st_mode & S_ISGID);
	if (kill && ::chmod(proc.c_str(), st.st_mode & 07777 & ~S_ISGID) != 0)
		return errno;
	int r;
	if (by_file_access(name)) {
		r = as_caller(req.caller, as_root_, [&] {
			return ::setxattr(proc.c_str(), xn.buf, value.data(), value.size(), flags);
		});
	} else {
		const bool as_caller = as_root_ && req.caller.uid != 0 && !kernel_checked(name);
		ScopedCreds c(req.caller, as_caller, nullptr, -1, true);
		r = c.ok() ? ::setxattr(proc.c_str(), xn.buf, value.data(), value.size(), flags) : -1;
		if (!c.ok())
			errno = EPERM;
	}
	if (r != 0) {
		int e = errno;
		if (kill)
			(void)::chmod(proc.c_str(), st.st_mode & 07777);
		return e;
	}
	return 0;
}

fuse::Errno AtomFs::getxattr(const Request &req, NodeId node, std::string_view name,
			     std::span<std::byte> buf, std::size_t &len)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	XattrName xn(name);
	if (xn.err)
		return xn.err;
	std::shared_ptr<Inode> in;
	FdRef fd;
	if (Errno e = node_fd(node, in, fd))
		return e;
	ProcPath proc(fd.get());
	ssize_t n = as_caller(req.caller, as_root_ && by_file_access(name), [&] {
		return ::getxattr(proc.c_str(), xn.buf, buf.data(), buf.size());
	});
	if (n < 0)
		return errno;
	len = n;
	return 0;
}

fuse::Errno AtomFs::listxattr(const Request &req, NodeId node, std::span<char> buf,
			      std::size_t &len)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	std::shared_ptr<Inode> in;
	FdRef fd;
	if (Errno e = node_fd(node, in, fd))
		return e;
	ProcPath proc(fd.get());
	ssize_t n = ::listxattr(proc.c_str(), buf.data(), buf.size());
	if (n < 0)
		return errno;
	len = n;
	return 0;
}

fuse::Errno AtomFs::removexattr(const Request &req, NodeId node, std::string_view name)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	XattrName xn(name);
	if (xn.err)
		return xn.err;
	std::shared_ptr<Inode> in;
	FdRef fd;
	if (Errno e = node_fd(node, in, fd))
		return e;
	ProcPath proc(fd.get());
	if (by_file_access(name) || (is_acl(name) && req.caller.uid != 0))
		return as_caller(req.caller, as_root_,
				 [&] { return ::removexattr(proc.c_str(), xn.buf); }) != 0
			       ? errno
			       : 0;
	const bool as_caller = as_root_ && req.caller.uid != 0 && !kernel_checked(name);
	ScopedCreds c(req.caller, as_caller, nullptr, -1, true);
	if (!c.ok())
		return EPERM;
	if (::removexattr(proc.c_str(), xn.buf) != 0)
		return errno;
	return 0;
}

} // namespace atomfs::fs
