// SPDX-License-Identifier: MIT
#include "session/mount.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace atomfs::fuse {
namespace {

std::string errstr(int e) { return std::strerror(e); }

// Options that are mount(2) flags rather than fuse options.
struct FlagOption {
	const char *name;
	unsigned long set;
	unsigned long clear;
};
constexpr FlagOption kFlagOptions[] = {
	{"ro", MS_RDONLY, 0},	     {"rw", 0, MS_RDONLY},
	{"nosuid", MS_NOSUID, 0},    {"suid", 0, MS_NOSUID},
	{"nodev", MS_NODEV, 0},	     {"dev", 0, MS_NODEV},
	{"noexec", MS_NOEXEC, 0},    {"exec", 0, MS_NOEXEC},
	{"noatime", MS_NOATIME, 0},  {"atime", 0, MS_NOATIME},
	{"nodiratime", MS_NODIRATIME, 0},
	{"relatime", MS_RELATIME, 0}, {"strictatime", MS_STRICTATIME, 0},
	{"sync", MS_SYNCHRONOUS, 0}, {"async", 0, MS_SYNCHRONOUS},
	{"dirsync", MS_DIRSYNC, 0},  {"lazytime", MS_LAZYTIME, 0},
};

bool is_flag_option(const std::string &o, unsigned long &flags)
{
	for (const FlagOption &f : kFlagOptions) {
		if (o == f.name) {
			flags = (flags | f.set) & ~f.clear;
			return true;
		}
	}
	return false;
}

std::string source_name(const MountOptions &opts)
{
	if (!opts.fsname.empty())
		return opts.fsname;
	return opts.subtype.empty() ? "fuse" : opts.subtype;
}

// The mountpoint must be a reachable directory; a dead server's mount
// answers ENOTCONN, which deserves its own message.
bool check_mountpoint(const std::string &mnt, struct stat &st, std::string &error)
{
	if (::stat(mnt.c_str(), &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			error = "mountpoint " + mnt + " is not a directory";
			return false;
		}
		return true;
	}
	int e = errno;
	if (e == ENOTCONN || e == ECONNABORTED)
		error = "mountpoint " + mnt + " is a stale FUSE mount left by a server that died; "
			"unmount it first (umount -l " + mnt + " or fusermount3 -uz " + mnt + ")";
	else
		error = "mountpoint " + mnt + ": " + errstr(e);
	return false;
}

bool mount_as_root(const MountOptions &opts, const std::string &mnt, const struct stat &st,
		   MountHandle &out, std::string &error)
{
	int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		error = "cannot open /dev/fuse: " + errstr(errno);
		return false;
	}
	unsigned long flags = MS_NOSUID | MS_NODEV; // as libfuse: ask for suid/dev explicitly
	if (opts.read_only)
		flags |= MS_RDONLY;
	char data[256];
	std::snprintf(data, sizeof(data), "fd=%d,rootmode=%o,user_id=%u,group_id=%u", fd,
		      st.st_mode & S_IFMT, ::getuid(), ::getgid());
	std::string d = data;
	if (opts.allow_other)
		d += ",allow_other";
	if (opts.default_permissions)
		d += ",default_permissions";
	for (const std::string &o : opts.extra) {
		if (o.empty() || is_flag_option(o, flags))
			continue;
		d += "," + o;
	}
	std::string type = opts.subtype.empty() ? "fuse" : "fuse." + opts.subtype;
	std::string src = source_name(opts);
	if (::mount(src.c_str(), mnt.c_str(), type.c_str(), flags, d.c_str()) != 0) {
		int e = errno;
		::close(fd);
		error = "mount(2) of " + mnt + " failed: " + errstr(e);
		return false;
	}
	out.fd = fd;
	out.fusermount = false;
	return true;
}

// fusermount3 mounts for us and passes the /dev/fuse fd back over the
// socket named by _FUSE_COMMFD (one SCM_RIGHTS message).
bool mount_with_fusermount(const MountOptions &opts, const std::string &mnt, MountHandle &out,
			   std::string &error)
{
	std::string o = "fsname=" + source_name(opts);
	if (!opts.subtype.empty())
		o += ",subtype=" + opts.subtype;
	if (opts.allow_other)
		o += ",allow_other";
	if (opts.default_permissions)
		o += ",default_permissions";
	if (opts.read_only)
		o += ",ro";
	for (const std::string &x : opts.extra)
		if (!x.empty())
			o += "," + x;

	int sv[2];
	if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		error = "socketpair: " + errstr(errno);
		return false;
	}
	pid_t pid = ::fork();
	if (pid < 0) {
		error = "fork: " + errstr(errno);
		::close(sv[0]);
		::close(sv[1]);
		return false;
	}
	if (pid == 0) {
		int child = ::dup(sv[1]); // without O_CLOEXEC: fusermount3 inherits it
		char num[16];
		std::snprintf(num, sizeof(num), "%d", child);
		::setenv("_FUSE_COMMFD", num, 1);
		::execlp("fusermount3", "fusermount3", "-o", o.c_str(), "--", mnt.c_str(),
			 (char *)nullptr);
		std::fprintf(stderr, "atomfs: cannot run fusermount3: %s\n", std::strerror(errno));
		::_exit(127);
	}
	::close(sv[1]);

	int fd = -1;
	char byte;
	struct iovec iov = {&byte, 1};
	alignas(struct cmsghdr) char ctl[CMSG_SPACE(sizeof(int))];
	struct msghdr msg {};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl;
	msg.msg_controllen = sizeof(ctl);
	ssize_t n;
	do
		n = ::recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
	}
	::close(sv[0]);
	int status = 0;
	while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (fd < 0) {
		error = "fusermount3 could not mount " + mnt + " (its message is above)";
		return false;
	}
	out.fd = fd;
	out.fusermount = true;
	return true;
}

} // namespace

bool mount_fuse(const MountOptions &opts, MountHandle &out, std::string &error)
{
	if (opts.mountpoint.empty()) {
		error = "no mountpoint given";
		return false;
	}
	char abs[PATH_MAX];
	if (!::realpath(opts.mountpoint.c_str(), abs)) {
		struct stat st;
		if (!check_mountpoint(opts.mountpoint, st, error))
			return false;
		error = "mountpoint " + opts.mountpoint + ": " + errstr(errno);
		return false;
	}
	out.mountpoint = abs;
	struct stat st;
	if (!check_mountpoint(out.mountpoint, st, error))
		return false;
	if (::geteuid() == 0)
		return mount_as_root(opts, out.mountpoint, st, out, error);
	return mount_with_fusermount(opts, out.mountpoint, out, error);
}

void unmount_fuse(const MountHandle &m)
{
	if (!m.fusermount) {
		::umount2(m.mountpoint.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
		return;
	}
	pid_t pid = ::fork();
	if (pid == 0) {
		int null = ::open("/dev/null", O_RDWR);
		if (null >= 0)
			::dup2(null, 2);
		::execlp("fusermount3", "fusermount3", "-u", "-q", "-z", "--",
			 m.mountpoint.c_str(), (char *)nullptr);
		::_exit(127);
	}
	if (pid > 0) {
		int status;
		while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
		}
	}
}

} // namespace atomfs::fuse
