// SPDX-License-Identifier: MIT
//
// The library's session on a real mount: how a server ends (signals, an
// unmount from outside, a busy mount), mounting as a user through
// fusermount3, and exact request counters read while mounted.
#include "harness.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

using namespace std::chrono_literals;

namespace atomfs::mounttest {
namespace {

int wait_exit(pid_t pid, std::chrono::seconds limit)
{
	auto deadline = std::chrono::steady_clock::now() + limit;
	int status = 0;
	while (::waitpid(pid, &status, WNOHANG) == 0) {
		if (std::chrono::steady_clock::now() > deadline) {
			::kill(pid, SIGKILL);
			::waitpid(pid, &status, 0);
			return -1;
		}
		std::this_thread::sleep_for(10ms);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class SessionEndTest : public MountTest {};

// SIGINT, SIGTERM and SIGHUP each unmount and end the server with status 0,
// and the final stats are written.
TEST_P(SessionEndTest, SignalsUnmountCleanly)
{
	const int sig = GetParam() ? SIGTERM : SIGINT;
	write_file(mnt + "/f", "x");
	pid_t pid = server->pid();
	ASSERT_EQ(::kill(pid, sig), 0);
	EXPECT_EQ(wait_exit(pid, 10s), 0) << server->log();
	EXPECT_FALSE(is_fuse_mounted(mnt));
	std::string json = read_file(base + "/stats.json");
	EXPECT_GE(Server::requests(json, "CREATE"), 1) << json;
	EXPECT_EQ(read_file(src + "/f"), "x");
	server.reset();
}

// A file held open keeps the connection after the lazy unmount; the server
// must still end on SIGTERM rather than wait for the file to be closed.
TEST_P(SessionEndTest, SigtermWhileBusyEnds)
{
	write_file(mnt + "/f", "x");
	int fd = ::open((mnt + "/f").c_str(), O_RDONLY);
	ASSERT_GE(fd, 0);
	pid_t pid = server->pid();
	ASSERT_EQ(::kill(pid, SIGTERM), 0);
	EXPECT_EQ(wait_exit(pid, 10s), 0) << server->log();
	EXPECT_FALSE(is_fuse_mounted(mnt));
	char c;
	EXPECT_EQ(::read(fd, &c, 1) == 1 || errno == ENOTCONN || errno == ECONNABORTED, true);
	::close(fd);
	server.reset();
}

INSTANTIATE_TEST_SUITE_P(Signals, SessionEndTest, ::testing::Bool(),
			 [](const ::testing::TestParamInfo<bool> &i) {
				 return std::string(i.param ? "SIGTERM" : "SIGINT");
			 });

class CountsTest : public MountTest {
protected:
	Server::Options server_options() override
	{
		Server::Options o;
		// Long timeouts: every count below is exact, not timing-dependent.
		o.args = {"--timeout=1000", "--threads=2"};
		return o;
	}
	long delta(const std::string &before, const std::string &after, const char *op)
	{
		return Server::requests(after, op) - Server::requests(before, op);
	}
};

// On the host kernel (no atomic open): a stat of an unknown name is one
// LOOKUP; an open of it is one OPEN; a read-only close sends no FLUSH
// (FOPEN_NOFLUSH) and one RELEASE; the counters are exact while mounted.
TEST_P(CountsTest, ExactRequestCountsWhileMounted)
{
	write_file(src + "/f", "hello");
	::sync();
	std::string s0 = server->stats();
	ASSERT_FALSE(s0.empty());
	struct stat st;
	ASSERT_EQ(::stat((mnt + "/f").c_str(), &st), 0);
	std::string s1 = server->stats();
	EXPECT_EQ(delta(s0, s1, "LOOKUP"), 1) << s1;
	EXPECT_EQ(delta(s0, s1, "GETATTR"), 0) << s1;

	int fd = ::open((mnt + "/f").c_str(), O_RDONLY);
	ASSERT_GE(fd, 0);
	std::string s2 = server->stats();
	EXPECT_EQ(delta(s1, s2, "LOOKUP"), 0) << s2;
	EXPECT_EQ(delta(s1, s2, "OPEN"), 1) << s2;
	EXPECT_EQ(delta(s1, s2, "OPEN_ATOMIC"), 0) << s2;
	::close(fd);
	std::string s3;
	for (int i = 0; i < 200; i++) { // RELEASE is asynchronous
		s3 = server->stats();
		if (delta(s2, s3, "RELEASE") == 1)
			break;
		std::this_thread::sleep_for(10ms);
	}
	EXPECT_EQ(delta(s2, s3, "FLUSH"), 0) << s3;
	EXPECT_EQ(delta(s2, s3, "RELEASE"), 1) << s3;
	EXPECT_NE(s3.find("\"latency_us\""), std::string::npos) << s3;
}

INSTANTIATE_TEST_SUITE_P(Host, CountsTest, ::testing::Values(false), mode_name);

// A user mounts through fusermount3 (the _FUSE_COMMFD protocol) and
// unmounts with fusermount3 -u; the server then exits 0.
TEST(FusermountTest, UserMountAndUnmount)
{
	if (::geteuid() != 0)
		GTEST_SKIP() << "needs root to become another user";
	struct passwd *pw = ::getpwnam("nobody");
	if (!pw || ::access("/usr/bin/fusermount3", X_OK) != 0)
		GTEST_SKIP() << "no nobody user or no fusermount3";
	// Debian's udev rule makes /dev/fuse 0666 (fusermount3 opens it as the
	// user); containers often leave it 0600. Lend that mode for the test.
	struct stat dev;
	ASSERT_EQ(::stat("/dev/fuse", &dev), 0);
	const mode_t dev_mode = dev.st_mode & 07777;
	ASSERT_EQ(::chmod("/dev/fuse", 0666), 0);
	struct RestoreMode {
		mode_t m;
		~RestoreMode() { ::chmod("/dev/fuse", m); }
	} restore{dev_mode};
	std::string base = make_tempdir("fusermount");
	ASSERT_EQ(::chmod(base.c_str(), 0755), 0);
	std::string src = base + "/src", mnt = base + "/mnt";
	ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
	ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
	ASSERT_EQ(::chown(src.c_str(), pw->pw_uid, pw->pw_gid), 0);
	ASSERT_EQ(::chown(mnt.c_str(), pw->pw_uid, pw->pw_gid), 0);
	write_file(src + "/f", "as a user");
	ASSERT_EQ(::chown((src + "/f").c_str(), pw->pw_uid, pw->pw_gid), 0);

	pid_t pid = ::fork();
	if (pid == 0) {
		int log = ::open((base + "/log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
		if (log >= 0) {
			::dup2(log, 1);
			::dup2(log, 2);
		}
		if (::setgid(pw->pw_gid) != 0 || ::setuid(pw->pw_uid) != 0)
			::_exit(126);
		::execl(atomfs_bin(), atomfs_bin(), src.c_str(), mnt.c_str(), "-f", (char *)nullptr);
		::_exit(127);
	}
	bool mounted = false;
	for (int i = 0; i < 500 && !mounted; i++) {
		mounted = is_fuse_mounted(mnt);
		std::this_thread::sleep_for(10ms);
	}
	ASSERT_TRUE(mounted) << read_file(base + "/log");
	// Without allow_other the mount is the user's alone: even root is refused.
	EXPECT_EQ(::access((mnt + "/f").c_str(), R_OK), -1);
	EXPECT_EQ(errno, EACCES);
	pid_t reader = ::fork();
	if (reader == 0) {
		if (::setgid(pw->pw_gid) != 0 || ::setuid(pw->pw_uid) != 0)
			::_exit(126);
		::_exit(read_file(mnt + "/f") == "as a user" ? 0 : 1);
	}
	EXPECT_EQ(wait_exit(reader, 10s), 0) << "the user could not read its own mount";
	std::string out;
	EXPECT_EQ(run({"/usr/bin/fusermount3", "-u", mnt}, &out), 0) << out;
	EXPECT_EQ(wait_exit(pid, 10s), 0) << read_file(base + "/log");
	EXPECT_FALSE(is_fuse_mounted(mnt));
	if (is_fuse_mounted(mnt))
		::umount2(mnt.c_str(), MNT_DETACH);
	remove_tree(base);
}

} // namespace
} // namespace atomfs::mounttest
