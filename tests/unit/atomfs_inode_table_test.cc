// SPDX-License-Identifier: MIT
//
// The inode table and fd cache through the filesystem object: bounded open
// fds, correct answers from evicted inodes, forget closing everything,
// unlinked-but-known inodes, readdirplus lookup counting, and the command
// line parser.
#include "options.h"
#include "passthrough.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

namespace atomfs::fs {
namespace {

using fuse::kRootNodeId;

class TableTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/atomfs-table-XXXXXX";
		ASSERT_NE(::mkdtemp(tmpl), nullptr);
		base = tmpl;
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
	void make(std::size_t budget)
	{
		Config cfg;
		cfg.source = base;
		cfg.fd_budget = budget;
		std::string err;
		fs = AtomFs::create(cfg, err);
		ASSERT_TRUE(fs) << err;
	}
	static std::size_t open_fds()
	{
		std::size_t n = 0;
		DIR *d = ::opendir("/proc/self/fd");
		while (::readdir(d))
			n++;
		::closedir(d);
		return n;
	}
	fuse::Request req{};
	std::string base;
	std::unique_ptr<AtomFs> fs;
};

TEST_F(TableTest, EvictedInodesStayCorrectAndForgetClosesAll)
{
	constexpr int kFiles = 1000;
	for (int i = 0; i < kFiles; i++) {
		int fd = ::open((base + "/f" + std::to_string(i)).c_str(), O_CREAT | O_WRONLY, 0600);
		ASSERT_EQ(::write(fd, "abc", i % 4), i % 4);
		::close(fd);
	}
	std::size_t fds_before = open_fds();
	make(128);
	if (!fs->inodes().handles_enabled())
		GTEST_SKIP() << "no file handles here (not root?)";
	std::vector<fuse::Entry> entries(kFiles);
	for (int i = 0; i < kFiles; i++)
		ASSERT_EQ(fs->lookup(req, kRootNodeId, "f" + std::to_string(i), entries[i]), 0);
	EXPECT_EQ(fs->inodes().size(), (std::size_t)kFiles + 1);
	// Budget 128 over 64 shards: at most 2 per shard, plus the root.
	EXPECT_LE(fs->inodes().open_fds(), 129u);
	EXPECT_LE(open_fds(), fds_before + 130);
	// Every inode answers correctly whether or not its fd is cached.
	for (int i = 0; i < kFiles; i++) {
		fuse::Attr a;
		ASSERT_EQ(fs->getattr(req, entries[i].nodeid, std::nullopt, a), 0);
		EXPECT_EQ(a.attr.st_ino, entries[i].attr.st_ino);
		EXPECT_EQ(a.attr.st_size, i % 4);
	}
	EXPECT_LE(fs->inodes().open_fds(), 129u);
	for (auto &e : entries)
		fs->forget(e.nodeid, 1);
	EXPECT_EQ(fs->inodes().size(), 1u);
	EXPECT_EQ(fs->inodes().open_fds(), 1u);
	EXPECT_EQ(open_fds(), fds_before + 2); // only the root's O_PATH and mount fds
	// A forgotten nodeid is an error, not a crash.
	fuse::Attr a;
	EXPECT_EQ(fs->getattr(req, entries[0].nodeid, std::nullopt, a), ESTALE);
}

// Threads reopening the same evicted inodes at once: each loser of a reopen
// race closes its fd, and the count of open fds (--stats "cached_fds")
// stays the number of fds really open (it used to drop by one per lost
// race and wrap around below zero); the cache is back within its bound
// once no fd is in use.
TEST_F(TableTest, ConcurrentReopensKeepTheFdCount)
{
	// 200 inodes over 64 shards of 2 fds: most lookups find the fd evicted.
	constexpr int kFiles = 200, kThreads = 16, kRounds = 40;
	for (int i = 0; i < kFiles; i++)
		::close(::open((base + "/f" + std::to_string(i)).c_str(), O_CREAT | O_WRONLY, 0600));
	std::size_t fds_before = open_fds();
	make(128);
	if (!fs->inodes().handles_enabled())
		GTEST_SKIP() << "no file handles here (not root?)";
	std::vector<fuse::Entry> entries(kFiles);
	for (int i = 0; i < kFiles; i++)
		ASSERT_EQ(fs->lookup(req, kRootNodeId, "f" + std::to_string(i), entries[i]), 0);
	std::vector<std::thread> threads;
	std::atomic<int> errors{0}, last_error{0};
	for (int t = 0; t < kThreads; t++) {
		threads.emplace_back([&] {
			for (int r = 0; r < kRounds; r++) {
				for (auto &e : entries) {
					fuse::Attr a;
					if (int er = fs->getattr(req, e.nodeid, std::nullopt, a)) {
						errors++;
						last_error = er;
					}
				}
			}
		});
	}
	for (auto &th : threads)
		th.join();
	// A reopening thread never gets an fd that its own eviction closed.
	EXPECT_EQ(errors.load(), 0) << "last: " << std::strerror(last_error);
	// The root's fd is counted; the mount fd beside it is not.
	EXPECT_EQ(open_fds(), fds_before + 1 + fs->inodes().open_fds());
	EXPECT_LE(fs->inodes().open_fds(), 129u);
	for (auto &e : entries)
		fs->forget(e.nodeid, 1);
	EXPECT_EQ(fs->inodes().open_fds(), 1u);
	EXPECT_EQ(open_fds(), fds_before + 2);
}

TEST_F(TableTest, UnlinkedKnownInodeStillAnswers)
{
	int fd = ::open((base + "/victim").c_str(), O_CREAT | O_WRONLY, 0600);
	::close(fd);
	for (int i = 0; i < 500; i++)
		::close(::open((base + "/x" + std::to_string(i)).c_str(), O_CREAT | O_WRONLY, 0600));
	make(64);
	fuse::Entry victim;
	ASSERT_EQ(fs->lookup(req, kRootNodeId, "victim", victim), 0);
	std::vector<fuse::Entry> others(500);
	for (int i = 0; i < 500; i++) // push victim's fd out of the cache
		ASSERT_EQ(fs->lookup(req, kRootNodeId, "x" + std::to_string(i), others[i]), 0);
	ASSERT_EQ(fs->unlink(req, kRootNodeId, "victim"), 0);
	fuse::Attr a;
	ASSERT_EQ(fs->getattr(req, victim.nodeid, std::nullopt, a), 0);
	EXPECT_EQ(a.attr.st_nlink, 0u);
	fs->forget(victim.nodeid, 1);
	for (auto &e : others)
		fs->forget(e.nodeid, 1);
	EXPECT_EQ(fs->inodes().size(), 1u);
}

TEST_F(TableTest, ReaddirplusCountsOneLookupPerEntryDelivered)
{
	for (int i = 0; i < 10; i++)
		::close(::open((base + "/e" + std::to_string(i)).c_str(), O_CREAT | O_WRONLY, 0600));
	make(0);
	// A reply buffer with room for 4 entries with attributes.
	struct Plus : fuse::DirBuffer {
		int room = 4;
		std::vector<fuse::Entry> entries;
		std::uint64_t last_off = 0;
		bool add(std::string_view, ino_t, mode_t, std::uint64_t) override { return false; }
		bool fits_plus(std::string_view) const override { return room > 0; }
		bool add_plus(std::string_view, const fuse::Entry &e, std::uint64_t off) override
		{
			if (room <= 0)
				return false;
			room--;
			entries.push_back(e);
			last_off = off;
			return true;
		}
		bool plus() const override { return true; }
	};
	fuse::OpenFile dir;
	ASSERT_EQ(fs->opendir(req, kRootNodeId, O_RDONLY, dir), 0);
	std::set<fuse::NodeId> seen;
	std::uint64_t off = 0;
	for (;;) {
		Plus p;
		ASSERT_EQ(fs->readdir(req, kRootNodeId, dir.fh, off, p), 0);
		if (p.entries.empty())
			break;
		for (auto &e : p.entries)
			if (e.nodeid)
				seen.insert(e.nodeid);
		off = p.last_off;
	}
	EXPECT_EQ(seen.size(), 10u);
	EXPECT_EQ(fs->inodes().size(), 11u);
	for (auto id : seen) {
		EXPECT_EQ(fs->inodes().get(id)->nlookup, 1u);
		fs->forget(id, 1);
	}
	EXPECT_EQ(fs->releasedir(req, kRootNodeId, dir.fh), 0);
	EXPECT_EQ(fs->releasedir(req, kRootNodeId, dir.fh), EBADF);
	EXPECT_EQ(fs->inodes().size(), 1u);
}

// Without CAP_DAC_READ_SEARCH in the effective set (capabilities are per
// thread): the server of an ordinary user's mount, which cannot reopen file
// handles. Restored when the test ends.
class NoHandlesTest : public TableTest {
protected:
	void SetUp() override
	{
		TableTest::SetUp();
		hdr.version = _LINUX_CAPABILITY_VERSION_3;
		ASSERT_EQ(::syscall(SYS_capget, &hdr, saved), 0);
		if (!(saved[0].effective & (1u << CAP_DAC_READ_SEARCH)))
			return;
		__user_cap_data_struct less[2] = {saved[0], saved[1]};
		less[0].effective &= ~(1u << CAP_DAC_READ_SEARCH);
		ASSERT_EQ(::syscall(SYS_capset, &hdr, less), 0);
		dropped = true;
	}
	void TearDown() override
	{
		TableTest::TearDown();
		if (dropped)
			::syscall(SYS_capset, &hdr, saved);
	}
	__user_cap_header_struct hdr{};
	__user_cap_data_struct saved[2]{};
	bool dropped = false;
};

// Files known only from an open fd (create, tmpfile) get an O_PATH fd of
// the file itself, so later operations on the node work.
TEST_F(NoHandlesTest, CreatedAndTmpfileInodesAnswer)
{
	make(64);
	ASSERT_FALSE(fs->inodes().handles_enabled());
	fuse::Entry e;
	fuse::OpenFile of;
	ASSERT_EQ(fs->create(req, kRootNodeId, "f", O_RDWR, 0644, 0, e, of), 0);
	std::size_t written = 0;
	const char data[] = "hi\n";
	ASSERT_EQ(fs->write(req, e.nodeid, of.fh, 0,
			    std::as_bytes(std::span(data, 3)), 0, written),
		  0);
	EXPECT_EQ(fs->release(req, e.nodeid, of.fh, 0), 0);
	fuse::Attr a;
	ASSERT_EQ(fs->getattr(req, e.nodeid, std::nullopt, a), 0);
	EXPECT_TRUE(S_ISREG(a.attr.st_mode));
	EXPECT_EQ(a.attr.st_size, 3);
	EXPECT_EQ(a.attr.st_ino, e.attr.st_ino);
	fuse::OpenFile again;
	ASSERT_EQ(fs->open(req, e.nodeid, O_RDONLY, again), 0);
	EXPECT_EQ(fs->release(req, e.nodeid, again.fh, 0), 0);

	fuse::Entry t;
	fuse::OpenFile tf;
	ASSERT_EQ(fs->tmpfile(req, kRootNodeId, O_RDWR, 0600, 0, t, tf), 0);
	ASSERT_EQ(fs->getattr(req, t.nodeid, std::nullopt, a), 0);
	EXPECT_TRUE(S_ISREG(a.attr.st_mode));
	EXPECT_EQ(a.attr.st_nlink, 0u);
	fuse::Entry linked;
	ASSERT_EQ(fs->link(req, t.nodeid, kRootNodeId, "t", linked), 0);
	EXPECT_EQ(linked.nodeid, t.nodeid);
	EXPECT_EQ(fs->release(req, t.nodeid, tf.fh, 0), 0);
	fs->forget(e.nodeid, 1);
	fs->forget(t.nodeid, 2);
	EXPECT_EQ(fs->inodes().size(), 1u);
	EXPECT_EQ(fs->inodes().open_fds(), 1u);
}

// The server's own reads follow the mount's atime option as the kernel
// resolves it: the last of noatime/atime, and strictatime clears noatime.
TEST(OptionsTest, AtimeOptionsResolveAsTheKernelDoes)
{
	const std::pair<const char *, bool> cases[] = {
		{"noatime", true},		{"noatime,atime", false},
		{"atime,noatime", true},	{"noatime,strictatime", false},
		{"strictatime,noatime", false}, {"relatime,noatime", true},
	};
	for (const auto &[list, noatime] : cases) {
		Options o;
		std::string err;
		ASSERT_TRUE(parse_options({"src", "mnt", "-o", list}, o, err)) << err;
		EXPECT_EQ(o.cfg.noatime, noatime) << list;
	}
}

TEST(OptionsTest, ParsesLibfuseStyle)
{
	Options o;
	std::string err;
	ASSERT_TRUE(parse_options({"-f", "--stats=/x.json", "src", "mnt", "-o",
				   "allow_other,noatime,fsname=data,nocache,timeout=5",
				   "--threads=3", "--meta-latency=100us", "--no-atomic-open"},
				  o, err))
		<< err;
	EXPECT_TRUE(o.foreground);
	EXPECT_EQ(o.session.stats_path, "/x.json");
	EXPECT_TRUE(o.mount.allow_other);
	EXPECT_TRUE(o.mount.default_permissions); // implied by allow_other
	EXPECT_EQ(o.mount.extra, std::vector<std::string>{"noatime"});
	EXPECT_EQ(o.mount.fsname, "data");
	EXPECT_EQ(o.mount.subtype, "atomfs");
	EXPECT_FALSE(o.cfg.cache);
	EXPECT_EQ(o.cfg.timeout, 5.0);
	EXPECT_EQ(o.session.threads, 3u);
	EXPECT_EQ(o.cfg.meta_latency, std::chrono::microseconds(100));
	EXPECT_FALSE(o.cfg.atomic_open);
	EXPECT_EQ(o.cfg.source, "src");
	EXPECT_EQ(o.mountpoint, "mnt");
}

TEST(OptionsTest, SubtypeIsSetOrDropped)
{
	Options o;
	std::string err;
	ASSERT_TRUE(parse_options({"src", "mnt", "-o", "subtype=other"}, o, err)) << err;
	EXPECT_EQ(o.mount.subtype, "other");
	Options dropped;
	ASSERT_TRUE(parse_options({"src", "mnt", "-o", "subtype="}, dropped, err)) << err;
	EXPECT_EQ(dropped.mount.subtype, ""); // mounted as type "fuse"
}

TEST(OptionsTest, RejectsBadInputWithAReason)
{
	for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{
		     {},
		     {"a"},
		     {"a", "b", "c"},
		     {"a", "b", "--nope"},
		     {"a", "b", "--threads"},
		     {"a", "b", "--threads=-1"},
		     {"a", "b", "--timeout=x"},
		     {"a", "b", "--meta-latency=5"},
		     {"a", "b", "--nocache=1"},
		     {"a", "b", "-o", "subtype=a.b"},
		     {"a", "b", "--nocache", "--writeback"},
		     {"a", "b", "-o"}}) {
		Options o;
		std::string err;
		EXPECT_FALSE(parse_options(bad, o, err));
		EXPECT_FALSE(err.empty());
		EXPECT_EQ(err.find('\n'), std::string::npos) << err;
	}
	std::chrono::nanoseconds d;
	EXPECT_TRUE(parse_duration("1ms", d));
	EXPECT_EQ(d, std::chrono::milliseconds(1));
	EXPECT_TRUE(parse_duration("0", d));
	EXPECT_FALSE(parse_duration("1h", d));
	EXPECT_FALSE(parse_duration("-1ms", d));
}

} // namespace
} // namespace atomfs::fs
