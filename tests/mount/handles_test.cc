// SPDX-License-Identifier: MIT
//
// Object identity through the mount: an inode number the source reuses for
// a new file while the kernel still knows the old one, and file handles of
// the mount itself (name_to_handle_at / open_by_handle_at).
#include "harness.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

// Linux 6.5: an identifier for fanotify, not for opening.
#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200
#endif

namespace atomfs::mounttest {
namespace {

// The smallest fd cache (2 per shard), so that stat-ing many other files
// evicts any one inode's fd.
class InodeReuseTest : public MountTest {
protected:
	Server::Options server_options() override
	{
		auto o = MountTest::server_options();
		o.args.push_back("--fd-cache=128");
		return o;
	}
	static constexpr int kOthers = 2000;
	// Names the kernel has not seen yet, so that each stat is a LOOKUP
	// even while attributes are cached.
	void stat_others(const std::string &prefix)
	{
		for (int i = 0; i < kOthers; i++) {
			struct stat st;
			std::string n = "/" + prefix + std::to_string(i);
			ASSERT_EQ(::stat((mnt + n).c_str(), &st), 0) << n;
		}
	}
};

// The server keeps a file handle per inode and reopens evicted fds from it.
// A new file that gets a dead file's inode number (and type) is another
// object: its operations must work after its fd was evicted, not answer
// ESTALE from the dead one's handle.
TEST_P(InodeReuseTest, ReusedInodeNumberIsANewObject)
{
	if (as_user())
		GTEST_SKIP() << "without file handles no fd is evicted";
	for (int i = 0; i < kOthers; i++) {
		write_file(src + "/a" + std::to_string(i), "");
		write_file(src + "/b" + std::to_string(i), "");
	}
	write_file(src + "/victim", "old");
	// The kernel keeps knowing the victim (an O_PATH fd sends no OPEN, so
	// the server holds no open file of it).
	int victim = ::open((mnt + "/victim").c_str(), O_PATH);
	ASSERT_GE(victim, 0) << std::strerror(errno);
	struct stat old_st;
	ASSERT_EQ(::stat((src + "/victim").c_str(), &old_st), 0);
	stat_others("a"); // the victim's server fd is evicted: nothing keeps it alive

	// Behind the mount's back: the victim dies and a new file takes its
	// inode number (ext4 and xfs reuse a freed number at once).
	ASSERT_EQ(::unlink((src + "/victim").c_str()), 0);
	write_file(src + "/newcomer", "new");
	struct stat new_st;
	ASSERT_EQ(::stat((src + "/newcomer").c_str(), &new_st), 0);
	if (new_st.st_ino != old_st.st_ino) {
		::close(victim); // an open fd would keep the mount busy at TearDown
		GTEST_SKIP() << "the source's filesystem did not reuse the inode number";
	}

	int fd = ::open((mnt + "/newcomer").c_str(), O_RDWR);
	ASSERT_GE(fd, 0) << std::strerror(errno);
	char buf[8] = {};
	EXPECT_EQ(::pread(fd, buf, sizeof(buf), 0), 3);
	EXPECT_STREQ(buf, "new");
	stat_others("b"); // and now the newcomer's fd is evicted
	// SETATTR works on the node, not on the open file's fd.
	EXPECT_EQ(::fchmod(fd, 0600), 0) << std::strerror(errno);
	::close(fd);
	struct stat st;
	ASSERT_EQ(::stat((mnt + "/newcomer").c_str(), &st), 0) << std::strerror(errno);
	EXPECT_EQ(st.st_mode & 07777, 0600u);
	EXPECT_EQ(st.st_ino, new_st.st_ino);
	EXPECT_EQ(read_file(mnt + "/newcomer"), "new");
	::close(victim);
}

INSTANTIATE_TEST_SUITE_P(Modes, InodeReuseTest, ::testing::Values(false, true), mode_name);

using ExportTest = MountTest;

// atomfs's nodeids live in memory and are never reused, so a handle of a
// node the kernel has forgotten could not be resolved (the kernel asks
// LOOKUP(nodeid, ".")): handles through the mount are refused from the
// start (EOPNOTSUPP, as on a filesystem without export operations) rather
// than handed out and answered with ESTALE after the kernel drops its
// caches. fanotify's identifiers (AT_HANDLE_FID) are not for opening and
// keep working.
TEST_P(ExportTest, HandlesRefusedNotStale)
{
	if (as_user())
		GTEST_SKIP() << "drop_caches needs root";
	write_file(src + "/f", "by handle");
	ASSERT_EQ(::mkdir((src + "/d").c_str(), 0755), 0);
	for (auto name : {"/f", "/d"}) {
		SCOPED_TRACE(name);
		std::string path = mnt + name;
		alignas(struct file_handle) unsigned char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
		auto *fh = reinterpret_cast<struct file_handle *>(buf);
		fh->handle_bytes = MAX_HANDLE_SZ;
		int mount_id = -1;
		int r = ::name_to_handle_at(AT_FDCWD, path.c_str(), fh, &mount_id, 0);
		if (r == 0) {
			// A handle given out is a promise: it must open the file
			// after the kernel has forgotten every inode.
			int mfd = ::open(mnt.c_str(), O_RDONLY | O_DIRECTORY);
			ASSERT_GE(mfd, 0);
			long inodes = -1;
			for (int i = 0; i < 100 && inodes != 1; i++) {
				std::ofstream("/proc/sys/vm/drop_caches") << "2" << std::endl;
				std::this_thread::sleep_for(std::chrono::milliseconds(50));
				inodes = Server::number(server->stats(), "inodes");
			}
			int fd = ::open_by_handle_at(mfd, fh, O_RDONLY);
			EXPECT_GE(fd, 0) << "a handle given out, then " << std::strerror(errno);
			if (fd >= 0)
				::close(fd);
			::close(mfd);
		} else {
			EXPECT_EQ(errno, EOPNOTSUPP) << std::strerror(errno);
		}
		fh->handle_bytes = MAX_HANDLE_SZ;
		EXPECT_EQ(::name_to_handle_at(AT_FDCWD, path.c_str(), fh, &mount_id, AT_HANDLE_FID),
			  0)
			<< std::strerror(errno);
	}
}

INSTANTIATE_TEST_SUITE_P(Modes, ExportTest, ::testing::Values(false, true), mode_name);

} // namespace
} // namespace atomfs::mounttest
