// SPDX-License-Identifier: MIT
//
// Directories through the mount: big listings, seekdir, concurrent creates
// and renames, and the inode table going back to just the root.
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

namespace atomfs::mounttest {
namespace {

using namespace std::chrono_literals;
using DirTest = MountTest;

TEST_P(DirTest, Readdir10000EntriesWithTypes)
{
	for (int i = 0; i < 10000; i++) {
		std::string p = src + "/entry-" + std::to_string(i);
		if (i % 100 == 0)
			ASSERT_EQ(::mkdir(p.c_str(), 0755), 0);
		else
			ASSERT_EQ(::close(::open(p.c_str(), O_CREAT | O_WRONLY, 0644)), 0);
	}
	EXPECT_EQ(list_dir(mnt), list_dir(src));
	DIR *d = ::opendir(mnt.c_str());
	ASSERT_NE(d, nullptr);
	int dirs = 0, files = 0, dots = 0;
	while (struct dirent *e = ::readdir(d)) {
		if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) {
			dots++;
			continue;
		}
		if (e->d_type == DT_DIR)
			dirs++;
		else if (e->d_type == DT_REG)
			files++;
	}
	// Seek back to a remembered position and read the same entry again.
	::rewinddir(d);
	for (int i = 0; i < 5000; i++)
		ASSERT_NE(::readdir(d), nullptr);
	long pos = ::telldir(d);
	std::string at = ::readdir(d)->d_name;
	for (int i = 0; i < 100; i++)
		::readdir(d);
	::seekdir(d, pos);
	struct dirent *again = ::readdir(d);
	ASSERT_NE(again, nullptr);
	EXPECT_EQ(at, again->d_name);
	::closedir(d);
	EXPECT_EQ(dots, 2);
	EXPECT_EQ(dirs, 100);
	EXPECT_EQ(files, 9900);
}

TEST_P(DirTest, ConcurrentCreatesAndRenames)
{
	constexpr int kThreads = 4, kFiles = 200;
	std::atomic<int> failures{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; t++) {
		threads.emplace_back([&, t] {
			for (int i = 0; i < kFiles; i++) {
				std::string a = mnt + "/t" + std::to_string(t) + "-" + std::to_string(i);
				int fd = ::open(a.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
				if (fd < 0 || ::write(fd, a.data(), a.size()) != (ssize_t)a.size())
					failures++;
				::close(fd);
				// Everyone renames onto a shared name too: last one wins.
				if (::rename(a.c_str(), (a + ".done").c_str()) != 0)
					failures++;
				if (i % 10 == 0) {
					std::string shared = mnt + "/shared";
					int s = ::open((a + ".s").c_str(), O_CREAT | O_WRONLY, 0644);
					::close(s);
					if (::rename((a + ".s").c_str(), shared.c_str()) != 0)
						failures++;
				}
			}
		});
	}
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(failures.load(), 0);
	auto names = list_dir(src);
	EXPECT_EQ(names.size(), (std::size_t)kThreads * kFiles + 1);
	EXPECT_EQ(list_dir(mnt), names);
	for (int t = 0; t < kThreads; t++) {
		std::string n = "t" + std::to_string(t) + "-7";
		EXPECT_EQ(read_file(src + "/" + n + ".done"), mnt + "/" + n);
	}
}

// After the kernel forgets everything (drop_caches), the inode table holds
// only the root again, and no inode fd stays open.
TEST_P(DirTest, InodeTableBackToRootAfterForget)
{
	if (as_user())
		GTEST_SKIP() << "drop_caches needs root";
	ASSERT_EQ(::mkdir((mnt + "/d").c_str(), 0755), 0);
	for (int i = 0; i < 50; i++)
		write_file(mnt + "/d/f" + std::to_string(i), "x");
	for (int i = 0; i < 50; i++) {
		struct stat st;
		ASSERT_EQ(::stat((mnt + "/d/f" + std::to_string(i)).c_str(), &st), 0);
	}
	std::string s = server->stats();
	ASSERT_FALSE(s.empty()) << server->log();
	EXPECT_GE(Server::number(s, "inodes"), nocache ? 1 : 52) << s;
	long inodes = -1;
	for (int i = 0; i < 100 && inodes != 1; i++) {
		std::ofstream("/proc/sys/vm/drop_caches") << "2" << std::endl;
		std::this_thread::sleep_for(50ms);
		inodes = Server::number(server->stats(), "inodes");
	}
	EXPECT_EQ(inodes, 1) << server->stats();
}

INSTANTIATE_TEST_SUITE_P(Modes, DirTest, ::testing::Values(false, true), mode_name);

} // namespace
} // namespace atomfs::mounttest
