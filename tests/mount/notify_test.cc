// SPDX-License-Identifier: MIT
//
// Notifications sent from inside a handler, on the host kernel: the
// request that caused them must be answered (the kernel holds its locks
// while it waits: written from the handler, the notification and the
// caller would both hang for good), and the notification must still take
// effect. The server has one worker, so nothing else could answer.
//
// A hang is turned into a failure: the operation runs in a child that gets
// a generous time, after which the connection is aborted
// (/sys/fs/fuse/connections/N/abort) to free it and the server.
#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

using namespace std::chrono_literals;

namespace atomfs::mounttest {
namespace {

constexpr int kHangSeconds = 30; // far above any answer on a loaded machine

class NotifyTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		if (::geteuid() != 0 || ::access("/dev/fuse", R_OK | W_OK) != 0)
			GTEST_SKIP() << "needs root and /dev/fuse";
		base = make_tempdir("notify");
		ASSERT_FALSE(base.empty());
		mnt = base + "/mnt";
		ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
		server = ::fork();
		if (server == 0) {
			int log = ::open((base + "/log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (log >= 0) {
				::dup2(log, 1);
				::dup2(log, 2);
			}
			::execl(NOTIFY_SERVER_PATH, NOTIFY_SERVER_PATH, mnt.c_str(), "1",
				(char *)nullptr);
			::_exit(127);
		}
		for (int i = 0; i < 1000 && !is_fuse_mounted(mnt); i++)
			std::this_thread::sleep_for(10ms);
		ASSERT_TRUE(is_fuse_mounted(mnt)) << read_file(base + "/log");
	}

	void TearDown() override
	{
		if (server > 0) {
			if (hung)
				abort_fuse_mount(mnt);
			else if (is_fuse_mounted(mnt))
				::umount2(mnt.c_str(), MNT_DETACH);
			::kill(server, SIGTERM);
			if (wait_child(server, kHangSeconds) < 0) {
				abort_fuse_mount(mnt);
				::kill(server, SIGKILL);
				::waitpid(server, nullptr, 0);
			}
		}
		if (!base.empty())
			remove_tree(base);
	}

	// Runs `op` in a child; false (and the mount aborted) when it hangs.
	bool in_child_within_limit(const std::function<bool()> &op)
	{
		pid_t pid = ::fork();
		if (pid == 0)
			::_exit(op() ? 0 : 1);
		int status = wait_child(pid, kHangSeconds);
		if (status < 0) {
			hung = true;
			abort_fuse_mount(mnt);
			::kill(pid, SIGKILL);
			::waitpid(pid, nullptr, 0);
			return false;
		}
		return status == 0;
	}

	off_t size_of(const std::string &name)
	{
		struct stat st;
		return ::stat((mnt + "/" + name).c_str(), &st) == 0 ? st.st_size : -1;
	}

	char first_byte(const std::string &name)
	{
		int fd = ::open((mnt + "/" + name).c_str(), O_RDONLY);
		char c = 0;
		if (fd >= 0) {
			if (::read(fd, &c, 1) != 1)
				c = 0;
			::close(fd);
		}
		return c;
	}

	std::string base, mnt;
	pid_t server = -1;
	bool hung = false;
};

// LOOKUP of "trigger" invalidates the entry "a" from inside the handler.
TEST_F(NotifyTest, InvalEntryFromLookup)
{
	ASSERT_EQ(size_of("a"), 1); // one LOOKUP of "a"
	ASSERT_EQ(size_of("a"), 1); // cached for 1000 s
	EXPECT_TRUE(in_child_within_limit([this] { return size_of("trigger") == 0; }))
		<< "the LOOKUP that notified never completed";
	ASSERT_FALSE(hung);
	// The notification arrives after the reply: "a" is looked up again.
	off_t size = 1;
	for (int i = 0; i < 1000 && size == 1; i++) {
		size = size_of("a");
		if (size == 1)
			std::this_thread::sleep_for(10ms);
	}
	EXPECT_EQ(size, 2) << "the entry was never invalidated";
}

// The first READ of "b" invalidates b's pages from inside the handler (the
// reader may then see its page dropped and read again: '1' or '2').
TEST_F(NotifyTest, InvalInodeFromRead)
{
	EXPECT_TRUE(in_child_within_limit([this] {
		char c = first_byte("b");
		return c == '1' || c == '2';
	}))
		<< "the READ that notified never completed";
	ASSERT_FALSE(hung);
	// Without the notification the page stays cached ('1', FOPEN_KEEP_CACHE).
	char c = '1';
	for (int i = 0; i < 1000 && c == '1'; i++) {
		c = first_byte("b");
		if (c == '1')
			std::this_thread::sleep_for(10ms);
	}
	EXPECT_EQ(c, '2') << "the pages were never invalidated";
}

} // namespace
} // namespace atomfs::mounttest
