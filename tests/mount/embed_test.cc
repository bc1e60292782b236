// SPDX-License-Identifier: MIT
//
// The library embedded in a program (this test process): a session mounted
// and served on a thread of the program, stopped from another thread with
// Session::exit(), its counters read as data while it serves.
#include "harness.h"

#include <atomfs/fuse/filesystem.h>
#include <atomfs/fuse/session.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

using namespace std::chrono_literals;

namespace atomfs::mounttest {
namespace {

using namespace atomfs::fuse;

// An empty read-only root directory.
class EmptyFs final : public Filesystem {
public:
	Errno getattr(const Request &, NodeId node, std::optional<std::uint64_t>, Attr &out) override
	{
		if (node != kRootNodeId)
			return ENOENT;
		out.attr.st_ino = node;
		out.attr.st_mode = S_IFDIR | 0555;
		out.attr.st_nlink = 2;
		return 0;
	}
	Errno opendir(const Request &, NodeId, int, OpenFile &) override { return 0; }
	Errno readdir(const Request &, NodeId, std::uint64_t, std::uint64_t, DirBuffer &) override
	{
		return 0;
	}
	Errno releasedir(const Request &, NodeId, std::uint64_t) override { return 0; }
	void destroy() override { destroyed = true; }
	std::atomic<bool> destroyed{false};
};

class EmbedTest : public ::testing::TestWithParam<bool> {
protected:
	void SetUp() override
	{
		if (::geteuid() != 0 || ::access("/dev/fuse", R_OK | W_OK) != 0)
			GTEST_SKIP() << "needs root and /dev/fuse";
		base = make_tempdir("embed");
		mnt = base + "/mnt";
		ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
	}
	void TearDown() override
	{
		if (base.empty())
			return;
		if (is_fuse_mounted(mnt))
			::umount2(mnt.c_str(), MNT_DETACH);
		remove_tree(base);
	}
	std::string base, mnt;
};

// Parameter: a directory of the mount is held open while exit() is called,
// so the lazily detached connection stays and the session must interrupt
// its own workers blocked in read(2).
TEST_P(EmbedTest, ExitFromAnotherThreadEndsRun)
{
	const bool busy = GetParam();
	EmptyFs fs;
	MountOptions mo;
	mo.mountpoint = mnt;
	mo.fsname = "embed";
	mo.subtype = "embedtest";
	SessionOptions so;
	so.threads = 3;
	std::string error;
	auto session = Session::mount(fs, mo, so, error);
	ASSERT_TRUE(session) << error;
	auto served = std::async(std::launch::async, [&] { return session->run(); });

	struct stat st;
	ASSERT_EQ(::stat(mnt.c_str(), &st), 0); // INIT and a GETATTR, answered
	EXPECT_TRUE(is_fuse_mounted(mnt));
	int dir = ::open(mnt.c_str(), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(dir, 0);
	if (!busy) {
		::close(dir);
		dir = -1;
	}
	// Counted while serving, read as data.
	const SessionStats stats = session->stats();
	EXPECT_EQ(stats.count("INIT"), 1u);
	EXPECT_GE(stats.count("GETATTR") + stats.count("LOOKUP"), 1u);
	EXPECT_EQ(stats.count("OPENDIR"), 1u);

	std::thread([&] { session->exit(); }).join();
	// Generous: on a loaded 2-core machine a stop takes milliseconds.
	ASSERT_EQ(served.wait_for(60s), std::future_status::ready) << "run() did not return";
	EXPECT_EQ(served.get(), 0);
	EXPECT_TRUE(fs.destroyed);
	EXPECT_FALSE(is_fuse_mounted(mnt));
	session.reset(); // closes /dev/fuse: the detached connection ends
	if (dir >= 0)
		::close(dir);
}

INSTANTIATE_TEST_SUITE_P(Embed, EmbedTest, ::testing::Bool(),
			 [](const ::testing::TestParamInfo<bool> &i) {
				 return std::string(i.param ? "DirHeldOpen" : "Idle");
			 });

} // namespace
} // namespace atomfs::mounttest
