// SPDX-License-Identifier: MIT
//
// flock(2) through the mount locks the source file (FUSE_FLOCK_LOCKS):
// a process locking SOURCE directly and one locking through the mount
// exclude each other in both directions, as two processes on SOURCE do.
// A blocking flock waits without taking a worker (the server runs one), and
// a signal ends the wait as it would natively. Two users of one allow_other
// mount (TwoUserFlockTest) exclude each other the same way.
//
// Operations that could hang run in a child with a generous limit; a hang
// fails the test and the connection is aborted to free everything.
#include "harness.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>

using namespace std::chrono_literals;

namespace atomfs::mounttest {
namespace {

constexpr int kLimitSeconds = 30; // far above any answer on a loaded machine

class FlockTest : public MountTest {
protected:
	Server::Options server_options() override
	{
		Server::Options o = MountTest::server_options();
		o.args.push_back("--threads=1");
		return o;
	}

	void SetUp() override
	{
		MountTest::SetUp();
		if (HasFatalFailure() || IsSkipped())
			return;
		write_file(src + "/f", "locked");
		write_file(src + "/other", "other");
		native_fd = ::open((src + "/f").c_str(), O_RDWR);
		ASSERT_GE(native_fd, 0);
	}

	void TearDown() override
	{
		if (native_fd >= 0)
			::close(native_fd);
		if (hung)
			abort_fuse_mount(mnt);
		for (pid_t p : children) {
			::kill(p, SIGKILL);
			::waitpid(p, nullptr, 0);
		}
		MountTest::TearDown();
	}

	static int try_flock(int fd, int op)
	{
		return ::flock(fd, op | LOCK_NB) == 0 ? 0 : errno;
	}

	// A child running `op`; its exit status is op()'s result.
	pid_t child(const std::function<int()> &op)
	{
		pid_t pid = ::fork();
		if (pid == 0)
			::_exit(op());
		children.push_back(pid);
		return pid;
	}

	// Its exit status, or -1 (and the mount aborted) when it did not end.
	int finish(pid_t pid)
	{
		int status = wait_child(pid, kLimitSeconds);
		if (status >= 0)
			std::erase(children, pid);
		else
			hung = true;
		return status;
	}

	// Runs `op` in a child through the mount: 0 when it returned 0 in time.
	int through_mount(const std::function<int()> &op) { return finish(child(op)); }

	// Until the server has seen `n` SETLKW requests: the child is waiting.
	bool setlkw_seen(long n)
	{
		for (int i = 0; i < 500; i++) {
			if (Server::requests(server->stats(), "SETLKW") >= n)
				return true;
			std::this_thread::sleep_for(10ms);
		}
		return false;
	}

	// A read of another file through the mount while a wait is pending.
	int mount_still_serves()
	{
		return through_mount([this] { return read_file(mnt + "/other") == "other" ? 0 : 1; });
	}

	int native_fd = -1;
	bool hung = false;
	std::vector<pid_t> children;
};

TEST_P(FlockTest, SourceLockExcludesMountLocks)
{
	ASSERT_EQ(::flock(native_fd, LOCK_EX), 0);
	EXPECT_EQ(through_mount([this] {
		int fd = ::open((mnt + "/f").c_str(), O_RDONLY);
		if (fd < 0)
			return 10;
		if (try_flock(fd, LOCK_EX) != EWOULDBLOCK)
			return 11;
		if (try_flock(fd, LOCK_SH) != EWOULDBLOCK)
			return 12;
		return 0;
	}), 0);
	// A shared lock in SOURCE admits shared locks only.
	ASSERT_EQ(::flock(native_fd, LOCK_SH), 0);
	EXPECT_EQ(through_mount([this] {
		int fd = ::open((mnt + "/f").c_str(), O_RDONLY);
		if (fd < 0)
			return 10;
		if (try_flock(fd, LOCK_EX) != EWOULDBLOCK)
			return 11;
		if (try_flock(fd, LOCK_SH) != 0)
			return 12;
		return 0;
	}), 0);
	ASSERT_EQ(::flock(native_fd, LOCK_UN), 0);
	EXPECT_EQ(through_mount([this] {
		int fd = ::open((mnt + "/f").c_str(), O_RDONLY);
		return fd >= 0 && try_flock(fd, LOCK_EX) == 0 ? 0 : 1;
	}), 0);
}

TEST_P(FlockTest, MountLockExcludesSourceLocks)
{
	int fd = ::open((mnt + "/f").c_str(), O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(::flock(fd, LOCK_EX), 0);
	EXPECT_EQ(try_flock(native_fd, LOCK_EX), EWOULDBLOCK);
	EXPECT_EQ(try_flock(native_fd, LOCK_SH), EWOULDBLOCK);
	ASSERT_EQ(::flock(fd, LOCK_SH), 0);
	EXPECT_EQ(try_flock(native_fd, LOCK_EX), EWOULDBLOCK);
	EXPECT_EQ(try_flock(native_fd, LOCK_SH), 0);
	ASSERT_EQ(::flock(native_fd, LOCK_UN), 0);
	ASSERT_EQ(::flock(fd, LOCK_UN), 0);
	EXPECT_EQ(try_flock(native_fd, LOCK_EX), 0);
	ASSERT_EQ(::flock(native_fd, LOCK_UN), 0);

	// The last close drops the lock (at RELEASE, which the kernel sends
	// after close returns), also when another open of the file stays: with
	// passthrough the first open's file is the inode's backing file.
	int second = ::open((mnt + "/f").c_str(), O_RDONLY);
	ASSERT_GE(second, 0);
	ASSERT_EQ(::flock(fd, LOCK_EX), 0);
	EXPECT_EQ(try_flock(native_fd, LOCK_EX), EWOULDBLOCK);
	::close(fd);
	int err = EWOULDBLOCK;
	for (int i = 0; i < 1000 && err == EWOULDBLOCK; i++) {
		err = try_flock(native_fd, LOCK_EX);
		if (err == EWOULDBLOCK)
			std::this_thread::sleep_for(10ms);
	}
	EXPECT_EQ(err, 0) << "the lock outlived its file";
	::close(second);
}

// A flock waiting for SOURCE's lock holds no worker: the one worker goes on
// serving, and the wait ends when SOURCE unlocks.
TEST_P(FlockTest, BlockingLockWaitsWithoutAWorker)
{
	ASSERT_EQ(::flock(native_fd, LOCK_EX), 0);
	pid_t waiter = child([this] {
		int fd = ::open((mnt + "/f").c_str(), O_RDWR);
		return fd >= 0 && ::flock(fd, LOCK_EX) == 0 ? 0 : 1;
	});
	ASSERT_TRUE(setlkw_seen(1));
	EXPECT_EQ(mount_still_serves(), 0) << "the waiting flock took the only worker";
	ASSERT_FALSE(hung);
	ASSERT_EQ(::flock(native_fd, LOCK_UN), 0);
	EXPECT_EQ(finish(waiter), 0);
}

void on_usr1(int) {}

// A signal ends the wait: EINTR for a handler without SA_RESTART, death
// for SIGKILL (natively both are immediate; a wait the server kept would
// leave the caller unkillable until SOURCE unlocks).
TEST_P(FlockTest, SignalsEndAWait)
{
	ASSERT_EQ(::flock(native_fd, LOCK_EX), 0);
	pid_t eintr = child([this] {
		struct sigaction sa {};
		sa.sa_handler = on_usr1; // no SA_RESTART
		::sigaction(SIGUSR1, &sa, nullptr);
		int fd = ::open((mnt + "/f").c_str(), O_RDWR);
		if (fd < 0)
			return 10;
		return ::flock(fd, LOCK_EX) == -1 && errno == EINTR ? 0 : 11;
	});
	ASSERT_TRUE(setlkw_seen(1));
	::kill(eintr, SIGUSR1);
	EXPECT_EQ(finish(eintr), 0);
	ASSERT_FALSE(hung);

	pid_t killed = child([this] {
		int fd = ::open((mnt + "/f").c_str(), O_RDWR);
		return fd >= 0 && ::flock(fd, LOCK_EX) == 0 ? 0 : 1;
	});
	ASSERT_TRUE(setlkw_seen(2));
	::kill(killed, SIGKILL);
	EXPECT_EQ(finish(killed), 128 + SIGKILL);
	ASSERT_FALSE(hung);
	EXPECT_EQ(mount_still_serves(), 0);
	// SOURCE's lock was never disturbed.
	EXPECT_EQ(through_mount([this] {
		int fd = ::open((mnt + "/f").c_str(), O_RDONLY);
		return fd >= 0 && try_flock(fd, LOCK_SH) == EWOULDBLOCK ? 0 : 1;
	}), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, FlockTest, ::testing::Bool(), mode_name);

// Two users through one allow_other mount (root only): user A holds the
// lock, user B's blocking flock waits for it and gets it when A unlocks,
// as two users do natively; a B killed while it waits dies at once (not
// held in D state until A unlocks) and leaves no lock behind.
class TwoUserFlockTest : public FlockTest {
protected:
	static constexpr uid_t kUserA = 65534, kUserB = 65533; // no passwd entry needed
	Server::Options server_options() override
	{
		Server::Options o = FlockTest::server_options();
		o.args.push_back("-o");
		o.args.push_back("allow_other");
		return o;
	}
	void SetUp() override
	{
		if (as_user() || ::geteuid() != 0)
			GTEST_SKIP() << "needs root (allow_other, two uids)";
		FlockTest::SetUp();
		if (HasFatalFailure() || IsSkipped())
			return;
		ASSERT_EQ(::chmod((src + "/f").c_str(), 0666), 0);
		ASSERT_EQ(::chmod(src.c_str(), 0755), 0);
	}
	// A child as `uid` running op (its exit status).
	pid_t child_as(uid_t uid, const std::function<int()> &op)
	{
		return child([uid, op] {
			if (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0)
				return 99;
			return op();
		});
	}
	// User A: locks f through the mount, writes 'L' to `locked`, unlocks
	// when `release` can be read.
	pid_t holder(int locked, int release)
	{
		return child_as(kUserA, [this, locked, release] {
			int fd = ::open((mnt + "/f").c_str(), O_RDWR);
			if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0)
				return 20;
			if (::write(locked, "L", 1) != 1)
				return 21;
			char c;
			if (::read(release, &c, 1) != 1)
				return 22;
			return ::flock(fd, LOCK_UN) == 0 ? 0 : 23;
		});
	}
	// User B: a blocking flock; 'G' to `got` once it holds the lock.
	pid_t waiter(int got)
	{
		return child_as(kUserB, [this, got] {
			int fd = ::open((mnt + "/f").c_str(), O_RDWR);
			if (fd < 0)
				return 30;
			if (::flock(fd, LOCK_EX) != 0)
				return 31;
			return ::write(got, "G", 1) == 1 ? 0 : 32;
		});
	}
	static bool readable(int fd, int ms)
	{
		struct pollfd p {fd, POLLIN, 0};
		return ::poll(&p, 1, ms) == 1;
	}
	static char state_of(pid_t pid)
	{
		char path[40], buf[256] = {};
		std::snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
		int fd = ::open(path, O_RDONLY);
		if (fd < 0)
			return 0;
		ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
		::close(fd);
		const char *p = n > 0 ? std::strrchr(buf, ')') : nullptr;
		return p && p[1] == ' ' ? p[2] : 0;
	}
};

TEST_P(TwoUserFlockTest, WaiterGetsTheLockWhenTheHolderUnlocks)
{
	int locked[2], release[2], got[2];
	ASSERT_EQ(::pipe(locked), 0);
	ASSERT_EQ(::pipe(release), 0);
	ASSERT_EQ(::pipe(got), 0);
	pid_t a = holder(locked[1], release[0]);
	ASSERT_TRUE(readable(locked[0], kLimitSeconds * 1000)) << "user A did not get the lock";
	pid_t b = waiter(got[1]);
	ASSERT_TRUE(setlkw_seen(1));
	EXPECT_FALSE(readable(got[0], 200)) << "user B got a lock user A holds";
	EXPECT_EQ(mount_still_serves(), 0);
	ASSERT_EQ(::write(release[1], "R", 1), 1);
	EXPECT_EQ(finish(a), 0);
	EXPECT_TRUE(readable(got[0], kLimitSeconds * 1000)) << "user B never got the lock";
	EXPECT_EQ(finish(b), 0);
	for (int fd : {locked[0], locked[1], release[0], release[1], got[0], got[1]})
		::close(fd);
}

TEST_P(TwoUserFlockTest, KilledWaiterDiesAtOnceAndLeavesNoLock)
{
	int locked[2], release[2], got[2];
	ASSERT_EQ(::pipe(locked), 0);
	ASSERT_EQ(::pipe(release), 0);
	ASSERT_EQ(::pipe(got), 0);
	pid_t a = holder(locked[1], release[0]);
	ASSERT_TRUE(readable(locked[0], kLimitSeconds * 1000)) << "user A did not get the lock";
	pid_t b = waiter(got[1]);
	ASSERT_TRUE(setlkw_seen(1));
	::kill(b, SIGKILL);
	// Dies while A still holds the lock: not kept in D state by a wait
	// the server goes on with.
	int status = -1;
	for (int i = 0; i < kLimitSeconds * 100 && status < 0; i++) {
		if (::waitpid(b, &status, WNOHANG) == b)
			break;
		status = -1;
		std::this_thread::sleep_for(10ms);
	}
	if (status < 0) {
		ADD_FAILURE() << "killed user B still alive, state " << state_of(b);
		hung = true;
	} else {
		std::erase(children, b);
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}
	EXPECT_FALSE(readable(got[0], 0)) << "the killed waiter got the lock";
	ASSERT_EQ(::write(release[1], "R", 1), 1);
	EXPECT_EQ(finish(a), 0);
	// Nothing holds the lock now: neither A nor the dead B's wait.
	pid_t c = child_as(kUserB, [this] {
		int fd = ::open((mnt + "/f").c_str(), O_RDWR);
		for (int i = 0; fd >= 0 && i < kLimitSeconds * 100; i++) {
			if (::flock(fd, LOCK_EX | LOCK_NB) == 0)
				return 0;
			::usleep(10000);
		}
		return 40;
	});
	EXPECT_EQ(finish(c), 0) << "a lock outlived the killed waiter";
	int err = EWOULDBLOCK; // C's lock goes at its RELEASE, after its exit
	for (int i = 0; i < kLimitSeconds * 100 && err == EWOULDBLOCK; i++) {
		err = try_flock(native_fd, LOCK_EX);
		if (err == EWOULDBLOCK)
			std::this_thread::sleep_for(10ms);
	}
	EXPECT_EQ(err, 0) << "SOURCE still locked";
	for (int fd : {locked[0], locked[1], release[0], release[1], got[0], got[1]})
		::close(fd);
}

// A holder killed while another user waits: its lock goes with its last
// close (RELEASE), and the waiter gets it.
TEST_P(TwoUserFlockTest, WaiterGetsTheLockWhenTheHolderDies)
{
	int locked[2], release[2], got[2];
	ASSERT_EQ(::pipe(locked), 0);
	ASSERT_EQ(::pipe(release), 0);
	ASSERT_EQ(::pipe(got), 0);
	pid_t a = holder(locked[1], release[0]);
	ASSERT_TRUE(readable(locked[0], kLimitSeconds * 1000)) << "user A did not get the lock";
	pid_t b = waiter(got[1]);
	ASSERT_TRUE(setlkw_seen(1));
	::kill(a, SIGKILL);
	EXPECT_EQ(finish(a), 128 + SIGKILL);
	EXPECT_TRUE(readable(got[0], kLimitSeconds * 1000)) << "user B never got the lock";
	EXPECT_EQ(finish(b), 0);
	for (int fd : {locked[0], locked[1], release[0], release[1], got[0], got[1]})
		::close(fd);
}

INSTANTIATE_TEST_SUITE_P(Modes, TwoUserFlockTest, ::testing::Bool(), mode_name);

} // namespace
} // namespace atomfs::mounttest
