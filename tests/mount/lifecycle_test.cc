// SPDX-License-Identifier: MIT
//
// The server's life: command line errors, request counters, unmount while
// busy, a killed server's stale mount, and trees larger than the fd limit.
#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace atomfs::mounttest {
namespace {

int count_lines(const std::string &s)
{
	int n = 0;
	for (char c : s)
		n += c == '\n';
	return n;
}

class CommandLineTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		base = make_tempdir("cli");
		ASSERT_FALSE(base.empty());
		ASSERT_EQ(::mkdir((base + "/src").c_str(), 0755), 0);
		ASSERT_EQ(::mkdir((base + "/mnt").c_str(), 0755), 0);
		ASSERT_EQ(::mkdir((base + "/src/inner").c_str(), 0755), 0);
		write_file(base + "/file", "x");
	}
	void TearDown() override { remove_tree(base); }
	// Expects exit status 2 and exactly one line on the output.
	void expect_usage_error(std::vector<std::string> args, const std::string &mentions)
	{
		args.insert(args.begin(), atomfs_bin());
		std::string out;
		EXPECT_EQ(run(args, &out), 2) << out;
		EXPECT_EQ(count_lines(out), 1) << out;
		EXPECT_NE(out.find(mentions), std::string::npos) << out;
		EXPECT_EQ(out.rfind("atomfs: ", 0), 0u) << out;
	}
	std::string base;
};

TEST_F(CommandLineTest, BadCommandLinesExitTwoWithOneLine)
{
	std::string s = base + "/src", m = base + "/mnt";
	expect_usage_error({}, "missing");
	expect_usage_error({s}, "missing");
	expect_usage_error({s, m, "extra"}, "too many");
	expect_usage_error({s, m, "--bogus"}, "--bogus");
	expect_usage_error({s, m, "-x"}, "-x");
	expect_usage_error({s, m, "--threads=0"}, "threads");
	expect_usage_error({s, m, "--threads=abc"}, "threads");
	expect_usage_error({s, m, "--timeout=-1"}, "timeout");
	expect_usage_error({s, m, "--meta-latency=10parsecs"}, "meta-latency");
	expect_usage_error({s, m, "--nocache", "--writeback"}, "writeback");
	expect_usage_error({s, m, "-o"}, "-o");
	expect_usage_error({base + "/none", m}, "none");
	expect_usage_error({base + "/file", m}, "not a directory");
	expect_usage_error({s, base + "/nomnt"}, "nomnt");
	expect_usage_error({s, s + "/inner"}, "inside the source");
	expect_usage_error({base + "/src/inner", base + "/src"}, "inside");
}

TEST_F(CommandLineTest, HelpAndVersion)
{
	std::string out;
	EXPECT_EQ(run({atomfs_bin(), "--help"}, &out), 0);
	EXPECT_NE(out.find("usage: atomfs SOURCE MOUNTPOINT"), std::string::npos);
	EXPECT_NE(out.find("--no-atomic-open"), std::string::npos);
	EXPECT_EQ(run({atomfs_bin(), "--version"}, &out), 0);
	EXPECT_EQ(out.rfind("atomfs ", 0), 0u) << out;
}

TEST_F(CommandLineTest, DaemonizesOnlyOnceMounted)
{
	if (::access("/dev/fuse", R_OK | W_OK) != 0)
		GTEST_SKIP() << "no /dev/fuse";
	std::string m = base + "/mnt";
	std::string out;
	// Without -f the parent returns 0 only with the mount in place.
	ASSERT_EQ(run({atomfs_bin(), base + "/src", m, "-o", "fsname=atomfs-cli-test,noatime"},
		      &out),
		  0)
		<< out;
	EXPECT_TRUE(is_fuse_mounted(m));
	std::string mounts = read_file("/proc/self/mounts");
	auto line = mounts.find("atomfs-cli-test " + m + " fuse.atomfs");
	ASSERT_NE(line, std::string::npos) << mounts;
	std::string rest = mounts.substr(line, mounts.find('\n', line) - line);
	EXPECT_NE(rest.find("noatime"), std::string::npos) << rest;
	EXPECT_EQ(unmount(m, false), 0);
}

using LifecycleTest = MountTest;

TEST_P(LifecycleTest, FirstStatOfNewNameIsOneLookup)
{
	write_file(src + "/fresh", "x");
	std::string before = server->stats();
	ASSERT_FALSE(before.empty()) << server->log();
	ASSERT_GE(Server::requests(before, "LOOKUP"), 0) << before;
	struct stat st;
	ASSERT_EQ(::stat((mnt + "/fresh").c_str(), &st), 0);
	std::string after = server->stats();
	EXPECT_EQ(Server::requests(after, "LOOKUP") - Server::requests(before, "LOOKUP"), 1)
		<< after;
	// With zero attr timeout (--nocache) stat(2) must refresh the attributes
	// the LOOKUP just gave: one GETATTR more.
	EXPECT_EQ(Server::requests(after, "GETATTR") - Server::requests(before, "GETATTR"),
		  nocache ? 1 : 0)
		<< after;
	// A name that does not exist: one LOOKUP answered ENOENT, no inode.
	long inodes = Server::number(after, "inodes");
	EXPECT_EQ(::stat((mnt + "/absent").c_str(), &st), -1);
	std::string last = server->stats();
	EXPECT_EQ(Server::requests(last, "LOOKUP") - Server::requests(after, "LOOKUP"), 1);
	EXPECT_EQ(Server::number(last, "inodes"), inodes);
}

TEST_P(LifecycleTest, UnmountWhileBusyThenLazy)
{
	write_file(mnt + "/held", "x");
	int fd = ::open((mnt + "/held").c_str(), O_RDONLY);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(unmount(mnt, false), EBUSY);
	EXPECT_EQ(unmount(mnt, true), 0);
	char c;
	EXPECT_EQ(::read(fd, &c, 1), 1); // the open file still works
	::close(fd);
	EXPECT_FALSE(is_fuse_mounted(mnt));
	EXPECT_EQ(server->stop(), 0) << server->log();
	server.reset();
	EXPECT_EQ(read_file(src + "/held"), "x");
}

TEST_P(LifecycleTest, KilledServerLeavesSourceAndStaleMountIsReported)
{
	write_file(mnt + "/kept", "data");
	server->kill9();
	EXPECT_EQ(read_file(src + "/kept"), "data");
	struct stat st;
	EXPECT_EQ(::stat(mnt.c_str(), &st), -1);
	EXPECT_EQ(errno, ENOTCONN);
	std::string out;
	EXPECT_NE(run({atomfs_bin(), src, mnt, "-f"}, &out), 0);
	EXPECT_NE(out.find("stale"), std::string::npos) << out;
	EXPECT_NE(out.find("umount -l"), std::string::npos) << out;
	EXPECT_EQ(count_lines(out), 1) << out;
	ASSERT_EQ(unmount(mnt, true), 0);
	server.reset();
}

INSTANTIATE_TEST_SUITE_P(Modes, LifecycleTest, ::testing::Values(false, true), mode_name);

// A server whose fd limit (512) is far below the number of inodes the kernel
// keeps: libfuse's passthroughs need one fd per inode and fail.
class FdLimitTest : public MountTest {
protected:
	Server::Options server_options() override
	{
		auto o = MountTest::server_options();
		o.nofile = 512;
		return o;
	}
};

TEST_P(FdLimitTest, TreeLargerThanFdLimit)
{
	if (as_user())
		GTEST_SKIP() << "without file handles every known inode keeps its fd";
	constexpr int kDirs = 20, kPerDir = 100;
	for (int d = 0; d < kDirs; d++) {
		std::string dir = src + "/d" + std::to_string(d);
		ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
		for (int f = 0; f < kPerDir; f++)
			write_file(dir + "/f" + std::to_string(f), dir + std::to_string(f));
	}
	// Open every file and keep the inodes referenced (stat), twice over.
	for (int pass = 0; pass < 2; pass++) {
		for (int d = 0; d < kDirs; d++) {
			std::string dir = "/d" + std::to_string(d);
			for (int f = 0; f < kPerDir; f++) {
				std::string p = dir + "/f" + std::to_string(f);
				ASSERT_EQ(read_file(mnt + p), src + dir + std::to_string(f)) << p;
			}
		}
	}
	std::string s = server->stats();
	if (!nocache)
		EXPECT_GE(Server::number(s, "inodes"), kDirs * kPerDir) << s;
	EXPECT_LE(Server::number(s, "cached_fds"), 512) << s;
	// Create, rename and remove through evicted parents still work.
	for (int d = 0; d < kDirs; d++) {
		std::string dir = mnt + "/d" + std::to_string(d);
		write_file(dir + "/new", "n");
		ASSERT_EQ(::rename((dir + "/new").c_str(), (dir + "/renamed").c_str()), 0);
		ASSERT_EQ(::unlink((dir + "/f0").c_str()), 0);
	}
	EXPECT_EQ(list_dir(src + "/d7"), list_dir(mnt + "/d7"));
}

INSTANTIATE_TEST_SUITE_P(Modes, FdLimitTest, ::testing::Values(false, true), mode_name);

// --meta-latency charges each metadata request once: 10 first stats of new
// names are 10 LOOKUPs and take at least 10 x 20ms.
class LatencyTest : public MountTest {
protected:
	Server::Options server_options() override
	{
		auto o = MountTest::server_options();
		o.args.push_back("--meta-latency=20ms");
		return o;
	}
};

TEST_P(LatencyTest, OneChargePerMetadataRequest)
{
	for (int i = 0; i < 10; i++)
		write_file(src + "/n" + std::to_string(i), "x");
	std::string before = server->stats();
	auto t0 = std::chrono::steady_clock::now();
	for (int i = 0; i < 10; i++) {
		struct stat st;
		ASSERT_EQ(::lstat((mnt + "/n" + std::to_string(i)).c_str(), &st), 0);
	}
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
			  std::chrono::steady_clock::now() - t0)
			  .count();
	std::string after = server->stats();
	long lookups = Server::requests(after, "LOOKUP") - Server::requests(before, "LOOKUP");
	long getattrs = Server::requests(after, "GETATTR") - Server::requests(before, "GETATTR");
	EXPECT_EQ(lookups, 10);
	// The lookups are one after the other; a GETATTR may overlap them
	// (the latency is a timer, not a worker's sleep).
	EXPECT_GE(ms, 20 * lookups);
	EXPECT_LT(ms, 20 * (lookups + getattrs) + 1000); // not charged twice
}

INSTANTIATE_TEST_SUITE_P(Modes, LatencyTest, ::testing::Values(false, true), mode_name);

// --meta-latency is a timer, not a sleep on the worker: on one worker the
// LOOKUPs of 16 callers are deferred and in flight together (the session's
// deferred_max_in_flight); with --sync-latency none is deferred. Either way
// each caller sees what the source has.
class LatencyModeTest : public MountTest {
protected:
	bool sync = false;
	std::string latency = "100ms";
	Server::Options server_options() override
	{
		auto o = MountTest::server_options();
		o.args.push_back("--threads=1");
		o.args.push_back("--meta-latency=" + latency);
		if (sync)
			o.args.push_back("--sync-latency");
		return o;
	}
	// lstat of 16 new names from 16 threads at once, checked against the
	// source; the most requests the session had deferred at once.
	long concurrent_lookups()
	{
		constexpr int kCallers = 16;
		for (int i = 0; i < kCallers; i++)
			write_file(src + "/c" + std::to_string(i), std::string(i + 1, 'x'));
		std::vector<std::thread> callers;
		std::vector<int> ok(kCallers, 0);
		for (int i = 0; i < kCallers; i++)
			callers.emplace_back([&, i] {
				struct stat a, b;
				std::string name = "/c" + std::to_string(i);
				ok[i] = ::lstat((mnt + name).c_str(), &a) == 0 &&
					::lstat((src + name).c_str(), &b) == 0 &&
					a.st_size == b.st_size && a.st_mode == b.st_mode &&
					a.st_ino == b.st_ino;
			});
		for (auto &t : callers)
			t.join();
		for (int i = 0; i < kCallers; i++)
			EXPECT_TRUE(ok[i]) << "c" << i;
		return Server::number(server->stats(), "deferred_max_in_flight");
	}
};

class AsyncLatencyTest : public LatencyModeTest {};
class SyncLatencyTest : public LatencyModeTest {
protected:
	void SetUp() override
	{
		sync = true;
		latency = "10ms";
		LatencyModeTest::SetUp();
	}
};

TEST_P(AsyncLatencyTest, ManyRequestsInFlightOnOneWorker)
{
	// 16 callers, each 100 ms in the server: they overlap unless started
	// 100 ms apart, so even a loaded machine sees several at once.
	EXPECT_GE(concurrent_lookups(), 4);
}

TEST_P(SyncLatencyTest, NoneDeferred) { EXPECT_EQ(concurrent_lookups(), 0); }

// Unmounting while requests wait on the timer: the session answers them
// (the callers get an error, nothing hangs) and atomfs exits cleanly.
class UnmountInFlightTest : public LatencyModeTest {
protected:
	void SetUp() override
	{
		latency = "10s"; // far longer than a loaded machine takes to start 4 calls
		LatencyModeTest::SetUp();
	}
};

TEST_P(UnmountInFlightTest, RequestsInFlightAreAnswered)
{
	constexpr int kCallers = 4;
	std::vector<std::thread> callers;
	std::vector<int> rc(kCallers, 1), err(kCallers, 0);
	for (int i = 0; i < kCallers; i++)
		callers.emplace_back([&, i] {
			struct stat st;
			rc[i] = ::lstat((mnt + "/w" + std::to_string(i)).c_str(), &st);
			err[i] = errno;
		});
	// Wait until the session holds them (the stats come from a worker,
	// free while the LOOKUPs wait on the timer).
	long deferred = 0, lookups = 0;
	for (int i = 0; i < 400 && lookups < kCallers; i++) {
		std::string st = server->stats();
		deferred = Server::number(st, "deferred");
		lookups = Server::requests(st, "LOOKUP");
		if (lookups < kCallers)
			std::this_thread::sleep_for(std::chrono::milliseconds(50));
	}
	EXPECT_EQ(lookups, kCallers);
	EXPECT_GE(deferred, kCallers); // and the mountpoint's own GETATTR, maybe
	// SIGTERM: the session detaches the mount and ends; the requests
	// still on the timer are answered EIO on the way (a lazy umount alone
	// would leave the connection up until the timer answers them).
	ASSERT_EQ(::kill(server->pid(), SIGTERM), 0);
	for (auto &t : callers)
		t.join();
	for (int i = 0; i < kCallers; i++) {
		EXPECT_EQ(rc[i], -1) << "w" << i; // never answered with data
		EXPECT_EQ(err[i], EIO) << "w" << i;
	}
	EXPECT_EQ(server->stop(), 0) << server->log();
	server.reset();
}

INSTANTIATE_TEST_SUITE_P(Modes, AsyncLatencyTest, ::testing::Values(false, true), mode_name);
INSTANTIATE_TEST_SUITE_P(Modes, SyncLatencyTest, ::testing::Values(false, true), mode_name);
INSTANTIATE_TEST_SUITE_P(Modes, UnmountInFlightTest, ::testing::Values(false), mode_name);

} // namespace
} // namespace atomfs::mounttest
