// SPDX-License-Identifier: MIT
//
// atomfs SOURCE MOUNTPOINT [options]: see options.cc (usage) and README.md.
#include "options.h"
#include "passthrough.h"

#include <atomfs/fuse/session.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace atomfs;

namespace {

fuse::Session *g_session = nullptr;

void on_terminate(int)
{
	if (g_session)
		g_session->exit();
}

// More fds than the default soft limit help the fd cache; the hard limit
// is what it is (the inode table copes with any).
void raise_fd_limit()
{
	struct rlimit rl;
	if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		::setrlimit(RLIMIT_NOFILE, &rl);
	}
}

void die_usage(const std::string &msg)
{
	std::fprintf(stderr, "atomfs: %s\n", msg.c_str());
	std::exit(2);
}

} // namespace

int main(int argc, char **argv)
{
	std::vector<std::string> args(argv + 1, argv + argc);
	fs::Options opts;
	std::string error;
	if (!fs::parse_options(args, opts, error))
		die_usage(error);
	if (opts.help) {
		std::fputs(fs::usage_text(), stdout);
		return 0;
	}
	if (opts.version) {
		std::printf("atomfs %s\n", ATOMFS_VERSION);
		return 0;
	}
	if (!fs::check_paths(opts, error))
		die_usage(error);

	raise_fd_limit();
	// Creating calls apply the caller's umask themselves (per thread).
	::umask(0);

	const bool root = ::geteuid() == 0;
	opts.session.writeback_cache = opts.cfg.cache && opts.cfg.writeback;
	// flock(2) through the mount locks the backing file (open.cc, flock).
	opts.session.flock_locks = true;
	// Kernel passthrough reopens the backing file with the caller's flags,
	// so its reads would set the source's atime: -o noatime keeps reads in
	// the server, which opens with O_NOATIME.
	opts.session.passthrough = opts.cfg.passthrough && root && !opts.session.writeback_cache &&
				   !opts.cfg.noatime;
	if (!opts.cfg.cache) {
		opts.cfg.timeout = 0;
	}
	// With default_permissions (which allow_other implies) the kernel
	// checks access itself, from the mode alone unless it may read the
	// POSIX ACLs: FUSE_POSIX_ACL. Without it only the mounting user gets
	// in and the backing filesystem judges that user's accesses, ACLs
	// included; asking for it there would turn on default_permissions and
	// its GETATTRs for nothing.
	opts.session.posix_acl = opts.mount.default_permissions;
	opts.cfg.kernel_checks = opts.mount.default_permissions;
	// Set-ID bits are cleared by us (open.cc, kill_suidgid) and by the
	// backing filesystem, so the kernel need not ask GETXATTR
	// (security.capability) before every write to decide it.
	opts.session.handle_killpriv_v2 = true;

	// Daemonize before mounting (threads do not survive fork), but let the
	// parent exit only once the child reports the mount's outcome.
	int report[2] = {-1, -1};
	if (!opts.foreground) {
		if (::pipe2(report, O_CLOEXEC) != 0) {
			std::fprintf(stderr, "atomfs: pipe: %s\n", std::strerror(errno));
			return 1;
		}
		pid_t pid = ::fork();
		if (pid < 0) {
			std::fprintf(stderr, "atomfs: fork: %s\n", std::strerror(errno));
			return 1;
		}
		if (pid > 0) {
			::close(report[1]);
			char status = 1;
			ssize_t n;
			do
				n = ::read(report[0], &status, 1);
			while (n < 0 && errno == EINTR);
			return n == 1 && status == 0 ? 0 : 1;
		}
		::close(report[0]);
		::setsid();
	}

	opts.cfg.on_refused = [] {
		if (g_session)
			g_session->exit();
	};
	auto fs = fs::AtomFs::create(opts.cfg, error);
	if (!fs) {
		std::fprintf(stderr, "atomfs: %s\n", error.c_str());
		return 1;
	}
	auto session = fuse::Session::mount(*fs, opts.mount, opts.session, error);
	if (!session) {
		std::fprintf(stderr, "atomfs: cannot mount %s: %s\n", opts.mountpoint.c_str(),
			     error.c_str());
		return 1;
	}
	g_session = session.get();
	if (fs->refused()) // INIT came before g_session was set
		session->exit();
	struct sigaction sa {};
	sa.sa_handler = on_terminate;
	sigemptyset(&sa.sa_mask);
	::sigaction(SIGINT, &sa, nullptr);
	::sigaction(SIGTERM, &sa, nullptr);
	::sigaction(SIGHUP, &sa, nullptr);

	if (!opts.foreground) {
		char ok = 0;
		(void)!::write(report[1], &ok, 1);
		::close(report[1]);
		(void)!::chdir("/");
		int null = ::open("/dev/null", O_RDWR);
		if (null >= 0) {
			::dup2(null, 0);
			::dup2(null, 1);
			if (!opts.session.debug)
				::dup2(null, 2);
			if (null > 2)
				::close(null);
		}
	}
	int rc = session->run();
	g_session = nullptr;
	return rc == 0 && !fs->refused() ? 0 : 1;
}
