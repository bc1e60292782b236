// SPDX-License-Identifier: MIT
//
// atomfs's one-step open_atomic, called directly on the filesystem object
// (no kernel): the reply (entry, open file, created bit), the inode table's
// lookup count afterwards, and what the backing directory holds.
#include "passthrough.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <set>
#include <thread>
#include <vector>

namespace atomfs::fs {
namespace {

using fuse::AtomicOpen;
using fuse::kRootNodeId;

class Fixture : public ::testing::Test {
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/atomfs-unit-XXXXXX";
		ASSERT_NE(::mkdtemp(tmpl), nullptr);
		base = tmpl;
		src = base + "/src";
		ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
		::umask(0);
	}
	void TearDown() override
	{
		fs.reset();
		::nftw(
			base.c_str(),
			[](const char *p, const struct stat *, int, struct FTW *) {
				return ::remove(p);
			},
			16, FTW_DEPTH | FTW_PHYS);
	}
	void make(Config cfg = {})
	{
		cfg.source = src;
		std::string err;
		fs = AtomFs::create(cfg, err);
		ASSERT_TRUE(fs) << err;
	}
	fuse::Request req()
	{
		fuse::Request r;
		r.caller.uid = ::geteuid();
		r.caller.gid = ::getegid();
		r.caller.pid = ::getpid();
		return r;
	}
	std::uint64_t nlookup(fuse::NodeId id)
	{
		auto in = fs->inodes().get(id);
		return in ? in->nlookup : 0;
	}
	void put(const std::string &name, const std::string &data)
	{
		int fd = ::open((src + "/" + name).c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
		ASSERT_GE(fd, 0);
		ASSERT_EQ(::write(fd, data.data(), data.size()), (ssize_t)data.size());
		::close(fd);
	}
	void close_file(const AtomicOpen &o)
	{
		if (!o.file)
			return;
		if (S_ISDIR(o.entry.attr.st_mode))
			EXPECT_EQ(fs->releasedir(req(), o.entry.nodeid, o.file->fh), 0);
		else
			EXPECT_EQ(fs->release(req(), o.entry.nodeid, o.file->fh, 0), 0);
	}

	std::string base, src;
	std::unique_ptr<AtomFs> fs;
};

TEST_F(Fixture, ExistingFileOpensWithOneLookup)
{
	put("f", "hello");
	make();
	AtomicOpen o;
	ASSERT_EQ(fs->open_atomic(req(), kRootNodeId, "f", O_RDONLY, 0, 0, o), 0);
	EXPECT_FALSE(o.created);
	ASSERT_TRUE(o.file.has_value());
	struct stat st;
	ASSERT_EQ(::stat((src + "/f").c_str(), &st), 0);
	EXPECT_EQ(o.entry.attr.st_ino, st.st_ino);
	EXPECT_EQ(o.entry.attr.st_size, 5);
	EXPECT_EQ(o.entry.attr.st_mode, st.st_mode);
	EXPECT_EQ(nlookup(o.entry.nodeid), 1u);
	EXPECT_EQ(fs->inodes().size(), 2u);

	AtomicOpen again;
	ASSERT_EQ(fs->open_atomic(req(), kRootNodeId, "f", O_RDWR, 0, 0, again), 0);
	EXPECT_EQ(again.entry.nodeid, o.entry.nodeid);
	EXPECT_EQ(nlookup(o.entry.nodeid), 2u);
	close_file(o);
	close_file(again);
	fs->forget(o.entry.nodeid, 2);
	EXPECT_EQ(fs->inodes().size(), 1u);
}

TEST_F(Fixture, CreateNewSetsCreatedAndAppliesUmask)
{
	make();
	AtomicOpen o;
	ASSERT_EQ(fs->open_atomic(req(), kRootNodeId, "new", O_CREAT | O_WRONLY, 0666, 027, o),
		  0);
	EXPECT_TRUE(o.created);
	ASSERT_TRUE(o.file.has_value());
	struct stat st;
	ASSERT_EQ(::stat((src + "/new").c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 07777, 0640u);
	EXPECT_EQ(o.entry.attr.st_ino, st.st_ino);
	EXPECT_EQ(nlookup(o.entry.nodeid), 1u);
	close_file(o);

	// O_CREAT without O_EXCL on the existing name: opened, not created.
	AtomicOpen second;
	ASSERT_EQ(fs->open_atomic(req(), kRootNodeId, "new", O_CREAT | O_RDWR, 0600, 0, second),
		  0);
	EXPECT_FALSE(second.created);
	EXPECT_EQ(second.entry.nodeid, o.entry.nodeid);
	EXPECT_EQ(nlookup(o.entry.nodeid), 2u);
	close_file(second);

	// O_CREAT|O_EXCL on it: EEXIST, no lookup counted.
	AtomicOpen third;
	EXPECT_EQ(fs->open_atomic(req(), kRootNodeId, "new", O_CREAT | O_EXCL | O_RDWR, 0600, 0,
				  third),
		  EEXIST);
	EXPECT_EQ(nlookup(o.entry.nodeid), 2u);
}

TEST_F(Fixture, TruncHonoured)
{
	put("f", "0123456789");
	make();
	AtomicOpen o;
	ASSERT_EQ(fs->open_atomic(req(), kRootNodeId, "f", O_WRONLY | O_TRUNC, 0, 0, o), 0);
	struct stat st;
	ASSERT_EQ(::stat((src + "/f").c_str(), &st), 0);
	EXPECT_EQ(st.st_size, 0);
	close_file(o);
}

TEST_F(Fixture, DirectoryGetsADirHandle)
{
	ASSERT_EQ(::mkdir((src + "/d").c_str(), 0755), 0);
	put("d/inner", "x");
	make();
	AtomicOpen o;
	ASSERT_EQ(fs->open_atomic(req(), kRootNodeId, "d", O_RDONLY | O_DIRECTORY, 0, 0, o), 0);
	EXPECT_TRUE(S_ISDIR(o.entry.attr.st_mode));
	ASSERT_TRUE(o.file.has_value());
	EXPECT_FALSE(o.created);
	// The handle works for READDIR like an OPENDIR handle.
	struct Names : fuse::DirBuffer {
		std::vector<std::string> names;
		bool add(std::string_view n, ino_t, mode_t, std::uint64_t) override
		{
			names.emplace_back(n);
			return true;
		}
		bool fits_plus(std::string_view) const override { return true; }
		bool add_plus(std::string_view, const fuse::Entry &, std::uint64_t) override
		{
			return false;
		}
		bool plus() const override { return false; }
	} names;
	ASSERT_EQ(fs->readdir(req(), o.entry.nodeid, o.file->fh, 0, names), 0);
	std::sort(names.names.begin(), names.names.end());
	EXPECT_EQ(names.names, (std::vector<std::string>{".", "..", "inner"}));
	close_file(o);

	AtomicOpen w;
	EXPECT_EQ(fs->open_atomic(req(), kRootNodeId, "d", O_WRONLY, 0, 0, w), EISDIR);
	EXPECT_EQ(fs->open_atomic(req(), kRootNodeId, "d", O_CREAT | O_RDONLY, 0644, 0, w), EISDIR);
	EXPECT_EQ(nlookup(o.entry.nodeid), 1u);
}

TEST_F(Fixture, SymlinkFifoSocketDeviceGetEntryOnly)
{
	ASSERT_EQ(::mkfifo((src + "/fifo").c_str(), 0644), 0);
	ASSERT_EQ(::symlink("fifo", (src + "/link").c_str()), 0);
	ASSERT_EQ(::symlink("/etc/passwd", (src + "/outside").c_str()), 0);
	ASSERT_EQ(::mknod((src + "/sock").c_str(), S_IFSOCK | 0600, 0), 0);
	make();
	// Each of these would block or escape if the server opened it.
	for (auto name : {"fifo", "link", "outside", "sock"}) {
		for (int flags : {O_RDONLY, O_RDWR | O_NOFOLLOW, O_CREAT | O_WRONLY}) {
			AtomicOpen o;
			ASSERT_EQ(fs->open_atomic(req(), kRootNodeId, name, flags, 0644, 0, o), 0)
				<< name;
			EXPECT_FALSE(o.file.has_value()) << name;
			EXPECT_FALSE(o.created) << name;
			EXPECT_NE(o.entry.nodeid, 0u);
		}
	}
	struct stat st;
	ASSERT_EQ(::lstat((src + "/outside").c_str(), &st), 0);
	EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(Fixture, EnoentLeavesNoInode)
{
	make();
	AtomicOpen o;
	EXPECT_EQ(fs->open_atomic(req(), kRootNodeId, "absent", O_RDONLY, 0, 0, o), ENOENT);
	EXPECT_EQ(fs->inodes().size(), 1u);
	EXPECT_EQ(::access((src + "/absent").c_str(), F_OK), -1);
	put("f", "x");
	EXPECT_EQ(fs->open_atomic(req(), kRootNodeId, "f", O_RDONLY | O_DIRECTORY, 0, 0, o),
		  ENOTDIR);
	EXPECT_EQ(fs->inodes().size(), 1u);
}

// --negative-timeout: a missing name is a negative entry (nodeid 0) with that
// entry timeout, from LOOKUP and from OPEN_ATOMIC without O_CREAT; O_CREAT
// still creates. Without the option it stays ENOENT (above).
TEST_F(Fixture, NegativeTimeoutRepliesNegativeEntries)
{
	Config cfg;
	cfg.negative_timeout = 30;
	make(cfg);
	AtomicOpen o;
	ASSERT_EQ(fs->open_atomic(req(), kRootNodeId, "absent", O_RDONLY, 0, 0, o), 0);
	EXPECT_EQ(o.entry.nodeid, 0u);
	EXPECT_EQ(o.entry.entry_timeout, 30);
	EXPECT_FALSE(o.file.has_value());
	fuse::Entry e;
	e.nodeid = 99;
	ASSERT_EQ(fs->lookup(req(), kRootNodeId, "absent", e), 0);
	EXPECT_EQ(e.nodeid, 0u);
	EXPECT_EQ(e.entry_timeout, 30);
	EXPECT_EQ(fs->inodes().size(), 1u);
	AtomicOpen c;
	ASSERT_EQ(fs->open_atomic(req(), kRootNodeId, "absent", O_CREAT | O_WRONLY, 0644, 0, c), 0);
	EXPECT_TRUE(c.created);
	EXPECT_NE(c.entry.nodeid, 0u);
	close_file(c);
	fs->forget(c.entry.nodeid, 1);
	EXPECT_EQ(fs->inodes().size(), 1u);
}

// --test-new-generation: every entry of a "newgen*" name has the same nodeid
// and a generation not seen before; other names keep theirs.
TEST_F(Fixture, TestNewGenerationBumpsOnlyNewgenNames)
{
	put("newgen-f", "x");
	put("plain", "y");
	Config cfg;
	cfg.test_new_generation = true;
	make(cfg);
	AtomicOpen a, b;
	ASSERT_EQ(fs->open_atomic(req(), kRootNodeId, "newgen-f", O_RDONLY, 0, 0, a), 0);
	fuse::Entry e;
	ASSERT_EQ(fs->lookup(req(), kRootNodeId, "newgen-f", e), 0);
	ASSERT_EQ(fs->open_atomic(req(), kRootNodeId, "newgen-f", O_RDONLY, 0, 0, b), 0);
	EXPECT_EQ(a.entry.nodeid, e.nodeid);
	EXPECT_EQ(b.entry.nodeid, e.nodeid);
	std::set<std::uint64_t> gens{a.entry.generation, e.generation, b.entry.generation};
	EXPECT_EQ(gens.size(), 3u);
	EXPECT_EQ(nlookup(e.nodeid), 3u);
	fuse::Entry p1, p2;
	ASSERT_EQ(fs->lookup(req(), kRootNodeId, "plain", p1), 0);
	ASSERT_EQ(fs->lookup(req(), kRootNodeId, "plain", p2), 0);
	EXPECT_EQ(p1.generation, p2.generation);
	close_file(a);
	close_file(b);
	fs->forget(e.nodeid, 3);
	fs->forget(p1.nodeid, 2);
	EXPECT_EQ(fs->inodes().size(), 1u);
}

TEST_F(Fixture, EscapeAttemptsRefused)
{
	put("f", "x");
	make();
	for (auto name : {"..", ".", "a/b", "../f", "", "/etc/passwd"}) {
		AtomicOpen o;
		EXPECT_EQ(fs->open_atomic(req(), kRootNodeId, name, O_CREAT | O_RDWR, 0644, 0, o),
			  EINVAL)
			<< name;
		fuse::Entry e;
		EXPECT_EQ(fs->lookup(req(), kRootNodeId, name, e), EINVAL) << name;
		EXPECT_EQ(fs->mkdir(req(), kRootNodeId, name, 0755, 0, e), EINVAL) << name;
	}
	AtomicOpen o;
	EXPECT_EQ(fs->open_atomic(req(), kRootNodeId, std::string_view("f\0x", 3), O_RDONLY, 0, 0,
				  o),
		  EINVAL);
	EXPECT_EQ(fs->open_atomic(req(), kRootNodeId, std::string(300, 'a'), O_RDONLY, 0, 0, o),
		  ENAMETOOLONG);
	EXPECT_EQ(fs->inodes().size(), 1u);
	// A bogus parent is an error, not a crash.
	EXPECT_EQ(fs->open_atomic(req(), 0x12345, "f", O_RDONLY, 0, 0, o), ESTALE);
}

TEST_F(Fixture, DisabledAnswersEnosys)
{
	put("f", "x");
	Config cfg;
	cfg.atomic_open = false;
	make(cfg);
	AtomicOpen o;
	EXPECT_EQ(fs->open_atomic(req(), kRootNodeId, "f", O_RDONLY, 0, 0, o), ENOSYS);
	EXPECT_EQ(fs->inodes().size(), 1u);
}

// The name is removed between our O_CREAT|O_EXCL (EEXIST) and the look at
// the existing file (ENOENT): the open creates it again and says so.
TEST_F(Fixture, RemovedBetweenCreateAndOpenIsCreatedAgain)
{
	make();
	put("gone", "old");
	int removals = 0;
	fs->on_create_found_name = [&](std::string_view name) {
		if (removals++ == 0)
			ASSERT_EQ(::unlink((src + "/" + std::string(name)).c_str()), 0);
	};
	AtomicOpen r;
	ASSERT_EQ(fs->open_atomic(req(), kRootNodeId, "gone", O_CREAT | O_RDWR, 0600, 0, r), 0);
	EXPECT_EQ(removals, 1); // the second attempt created it: no EEXIST
	EXPECT_TRUE(r.created);
	struct stat st;
	ASSERT_EQ(::stat((src + "/gone").c_str(), &st), 0);
	EXPECT_EQ(r.entry.attr.st_ino, st.st_ino);
	EXPECT_EQ(st.st_size, 0);
	EXPECT_EQ(st.st_mode & 07777, 0600u);
	close_file(r);
	fs->forget(r.entry.nodeid, 1);
}

// Many threads open the same new name with O_CREAT, and the first one that
// finds it existing removes it before looking at it: in every round exactly
// two opens report "created" (the first file and its replacement), every
// other open got one of the two, and the counted lookups match the replies.
TEST_F(Fixture, CreateRaceWithRemovalCreatesExactlyTwice)
{
	make();
	constexpr int kThreads = 8, kRounds = 50;
	std::atomic<bool> removed{false};
	fs->on_create_found_name = [&](std::string_view name) {
		if (!removed.exchange(true))
			::unlink((src + "/" + std::string(name)).c_str());
	};
	for (int round = 0; round < kRounds; round++) {
		removed = false;
		std::atomic<int> created{0}, ok{0};
		std::atomic<bool> go{false};
		std::vector<std::thread> threads;
		std::vector<AtomicOpen> replies(kThreads);
		for (int t = 0; t < kThreads; t++) {
			threads.emplace_back([&, t] {
				while (!go)
					;
				if (fs->open_atomic(req(), kRootNodeId, "race", O_CREAT | O_RDWR,
						    0644, 0, replies[t]) == 0) {
					ok++;
					created += replies[t].created;
				}
			});
		}
		go = true;
		for (auto &th : threads)
			th.join();
		ASSERT_EQ(ok.load(), kThreads);
		ASSERT_TRUE(removed.load()) << "round " << round;
		ASSERT_EQ(created.load(), 2) << "round " << round;
		std::map<fuse::NodeId, std::uint64_t> got;
		std::set<fuse::NodeId> made;
		for (auto &r : replies) {
			got[r.entry.nodeid]++;
			if (r.created)
				made.insert(r.entry.nodeid);
			close_file(r);
		}
		EXPECT_EQ(made.size(), 2u) << "round " << round;
		for (auto &[id, n] : got) {
			EXPECT_TRUE(made.count(id)) << "round " << round;
			EXPECT_EQ(nlookup(id), n);
			fs->forget(id, n);
		}
		ASSERT_EQ(::unlink((src + "/race").c_str()), 0);
	}
	EXPECT_EQ(fs->inodes().size(), 1u);
}

} // namespace
} // namespace atomfs::fs
