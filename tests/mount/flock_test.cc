// SPDX-License-Identifier: MIT
//
// flock(2) through the mount locks the source file (FUSE_FLOCK_LOCKS):
// a process locking SOURCE directly and one locking through the mount
// exclude each other in both directions, as two processes on SOURCE do.
// A blocking flock waits without taking a worker (the server runs one), and
// a signal ends the wait as it would natively.
//
// Operations that could hang run in a child with a generous limit; a hang
// fails the test and the connection is aborted to free everything.
#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
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

} // namespace
} // namespace atomfs::mounttest
