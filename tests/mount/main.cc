// SPDX-License-Identifier: MIT
//
// The mounted tests' main. With --as-user (the mount.user.* ctest variant)
// and started as root, the tests run as an ordinary user (ATOMFS_TEST_USER,
// default nobody): the server then mounts through fusermount3 and has no
// capabilities, so it cannot reopen file handles, which is how an ordinary
// user's mount runs. Root only prepares what a desktop system provides and
// a container may not: /dev/fuse usable by everyone (Debian's udev rule
// makes it 0666) and a copy of atomfs the user can execute (the build tree
// may be unreachable for it), in a scratch directory that also serves as
// the user's TMPDIR and is removed afterwards.
#include "harness.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

bool take_flag(int &argc, char **argv, const char *flag)
{
	for (int i = 1; i < argc; i++) {
		if (std::strcmp(argv[i], flag) == 0) {
			for (int j = i; j < argc; j++)
				argv[j] = argv[j + 1];
			argc--;
			return true;
		}
	}
	return false;
}

bool copy_executable(const char *from, const std::string &to)
{
	int in = ::open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return false;
	int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	bool ok = out >= 0;
	char buf[1 << 16];
	ssize_t n;
	while (ok && (n = ::read(in, buf, sizeof(buf))) > 0)
		ok = ::write(out, buf, n) == n;
	ok = ok && n == 0;
	::close(in);
	if (out >= 0)
		ok = ::close(out) == 0 && ok;
	return ok;
}

int fail(const std::string &what)
{
	std::fprintf(stderr, "--as-user: %s: %s\n", what.c_str(), std::strerror(errno));
	return 1;
}

// Runs every selected test in a child with the user's identity.
int run_as_user()
{
	using namespace atomfs::mounttest;
	const char *name = std::getenv("ATOMFS_TEST_USER");
	if (!name || !*name)
		name = "nobody";
	struct passwd *pw = ::getpwnam(name);
	if (!pw)
		return fail(std::string("no user ") + name);
	const uid_t uid = pw->pw_uid;
	const gid_t gid = pw->pw_gid;

	std::string scratch = make_tempdir("as-user");
	if (scratch.empty())
		return fail("mkdtemp");
	std::string bin = scratch + "/atomfs";
	if (!copy_executable(atomfs_bin(), bin) || ::chmod(scratch.c_str(), 0755) != 0 ||
	    ::chown(scratch.c_str(), uid, gid) != 0) {
		int e = fail("preparing " + scratch);
		remove_tree(scratch);
		return e;
	}
	struct stat dev {};
	const bool lend_fuse = ::stat("/dev/fuse", &dev) == 0 && (dev.st_mode & 0666) != 0666;
	if (lend_fuse)
		::chmod("/dev/fuse", (dev.st_mode & 07777) | 0666);

	std::fflush(nullptr);
	pid_t pid = ::fork();
	if (pid == 0) {
		if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)
			::_exit(fail("becoming " + std::string(name)));
		::setenv("ATOMFS_BIN", bin.c_str(), 1);
		::setenv("TMPDIR", scratch.c_str(), 1);
		::setenv("HOME", scratch.c_str(), 1);
		::_exit(RUN_ALL_TESTS());
	}
	int status = 0;
	if (pid > 0)
		::waitpid(pid, &status, 0);
	if (lend_fuse)
		::chmod("/dev/fuse", dev.st_mode & 07777);
	remove_tree(scratch);
	if (pid < 0)
		return fail("fork");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace

int main(int argc, char **argv)
{
	const bool user = take_flag(argc, argv, "--as-user");
	::testing::InitGoogleTest(&argc, argv);
	if (user && ::geteuid() == 0)
		return run_as_user();
	return RUN_ALL_TESTS();
}
