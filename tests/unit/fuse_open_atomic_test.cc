// SPDX-License-Identifier: MIT
//
// FUSE_OPEN_ATOMIC through the library's default open_atomic (built from
// lookup + open / opendir + create): the reply, FOPEN_FILE_CREATED, which
// backend calls were made, and that every lookup handed out is either in
// the reply or given back.
#include "fuse_test_fs.h"

#include "protocol/encode.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace atomfs::fuse::test
{
namespace
{

using namespace abi;

struct AtomicReply {
	std::int32_t error = 0;
	std::size_t size = 0;
	fuse_entry_out entry{};
	fuse_open_out open{};
};

AtomicReply open_atomic(FakeKernel &k, NodeId parent, std::string_view name, std::uint32_t flags,
			std::uint32_t mode = S_IFREG | 0644, std::uint32_t umask = 022)
{
	fuse_create_in in{flags, mode, umask, 0};
	auto n = FakeKernel::name(name);
	auto r = k.call(FUSE_OPEN_ATOMIC, parent, {FakeKernel::arg(in), FakeKernel::arg(n)});
	AtomicReply a;
	a.error = r.error;
	a.size = r.body.size();
	a.entry = r.as<fuse_entry_out>();
	a.open = r.as<fuse_open_out>(sizeof(fuse_entry_out));
	return a;
}

constexpr std::size_t kAtomicReplySize = sizeof(fuse_entry_out) + sizeof(fuse_open_out);

bool zero_open(const fuse_open_out &o)
{
	return o.fh == 0 && o.open_flags == 0 && o.backing_id == 0;
}

class FuseOpenAtomic : public ::testing::Test
{
protected:
	void SetUp() override { ASSERT_EQ(k.init().error, 0); }
	TestFs fs;
	FakeKernel k{fs, one_thread()};
};

TEST_F(FuseOpenAtomic, ExistingFile)
{
	auto r = open_atomic(k, 1, "file", O_RDWR | O_CREAT);
	ASSERT_EQ(r.error, 0);
	ASSERT_EQ(r.size, kAtomicReplySize);
	EXPECT_EQ(r.entry.nodeid, kFile);
	EXPECT_EQ(r.entry.generation, 7u);
	EXPECT_EQ(r.entry.entry_valid, 1u);
	EXPECT_EQ(r.entry.entry_valid_nsec, 500000000u);
	EXPECT_EQ(r.entry.attr.ino, kFile);
	EXPECT_EQ(r.entry.attr.size, 11u);
	EXPECT_EQ(r.open.fh, kFileFhBase + kFile);
	EXPECT_EQ(r.open.open_flags, FOPEN_KEEP_CACHE); // no FOPEN_FILE_CREATED
	EXPECT_EQ(r.open.backing_id, 0);
	EXPECT_EQ(fs.calls("lookup"), 1);
	EXPECT_EQ(fs.calls("open"), 1);
	EXPECT_EQ(fs.calls("create"), 0);
	EXPECT_EQ(fs.calls("forget"), 0);
	EXPECT_EQ(fs.nlookup(kFile), 1);
	EXPECT_EQ(fs.total_nlookup(), 1);
	// O_CREAT is not passed to open() of an existing file.
	EXPECT_EQ(fs.recorded().open_flags, O_RDWR);
	auto req = flat_object(k.session().stats_json(), "requests");
	EXPECT_EQ(req, (std::map<std::string, std::uint64_t>{{"INIT", 1}, {"OPEN_ATOMIC", 1}}));
}

TEST_F(FuseOpenAtomic, CreatesNewName)
{
	auto r = open_atomic(k, 1, "new", O_WRONLY | O_CREAT | O_TRUNC, S_IFREG | 0666, 027);
	ASSERT_EQ(r.error, 0);
	ASSERT_EQ(r.size, kAtomicReplySize);
	EXPECT_EQ(r.entry.nodeid, 100u);
	EXPECT_EQ(r.entry.attr.mode, static_cast<std::uint32_t>(S_IFREG | 0640));
	EXPECT_EQ(r.open.fh, kFileFhBase + 100);
	EXPECT_EQ(r.open.open_flags, FOPEN_FILE_CREATED);
	EXPECT_EQ(fs.calls("lookup"), 1);
	EXPECT_EQ(fs.calls("create"), 1);
	EXPECT_EQ(fs.calls("open"), 0);
	auto rec = fs.recorded();
	EXPECT_EQ(rec.create_flags, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL);
	EXPECT_EQ(rec.create_mode, static_cast<mode_t>(S_IFREG | 0666));
	EXPECT_EQ(rec.create_umask, 027u);
	EXPECT_EQ(fs.nlookup(100), 1);
	EXPECT_EQ(fs.total_nlookup(), 1);
	EXPECT_EQ(fs.child(1, "new"), std::optional<NodeId>(100));
}

TEST_F(FuseOpenAtomic, ExclusiveOnExistingIsEexist)
{
	auto r = open_atomic(k, 1, "file", O_RDWR | O_CREAT | O_EXCL);
	EXPECT_EQ(r.error, -EEXIST);
	EXPECT_EQ(r.size, 0u);
	EXPECT_EQ(fs.calls("open"), 0);
	EXPECT_EQ(fs.calls("create"), 0);
	EXPECT_EQ(fs.nlookup(kFile), 0);
	EXPECT_EQ(fs.total_nlookup(), 0);
	// And a new name with O_EXCL is created.
	r = open_atomic(k, 1, "excl", O_RDWR | O_CREAT | O_EXCL);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.open.open_flags, FOPEN_FILE_CREATED);
}

TEST_F(FuseOpenAtomic, RaceForeignCreatorBetweenLookupAndCreate)
{
	// LOOKUP says ENOENT, then someone creates the name before our CREATE
	// (O_EXCL) which says EEXIST: we open theirs, created stays clear.
	fs.foreign_create_once("contended");
	auto r = open_atomic(k, 1, "contended", O_RDWR | O_CREAT);
	ASSERT_EQ(r.error, 0);
	ASSERT_EQ(r.size, kAtomicReplySize);
	EXPECT_EQ(r.entry.nodeid, 100u);
	EXPECT_EQ(r.entry.attr.mode, static_cast<std::uint32_t>(S_IFREG | 0640)); // theirs
	EXPECT_EQ(r.open.fh, kFileFhBase + 100);
	EXPECT_EQ(r.open.open_flags, FOPEN_KEEP_CACHE);
	EXPECT_EQ(fs.calls("lookup"), 2);
	EXPECT_EQ(fs.calls("create"), 1);
	EXPECT_EQ(fs.calls("open"), 1);
	EXPECT_EQ(fs.nlookup(100), 1);
	EXPECT_EQ(fs.total_nlookup(), 1);
}

TEST_F(FuseOpenAtomic, RaceLookupEnoentOnExistingName)
{
	fs.lookup_enoent_once("file");
	auto r = open_atomic(k, 1, "file", O_RDONLY | O_CREAT);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.entry.nodeid, kFile);
	EXPECT_EQ(r.open.open_flags, FOPEN_KEEP_CACHE);
	EXPECT_EQ(fs.calls("lookup"), 2);
	EXPECT_EQ(fs.calls("create"), 1);
	EXPECT_EQ(fs.recorded().create_flags, O_RDONLY | O_CREAT | O_EXCL);
	EXPECT_EQ(fs.nlookup(kFile), 1);
	EXPECT_EQ(fs.total_nlookup(), 1);
}

TEST_F(FuseOpenAtomic, RaceWithExclusiveCallerIsEexist)
{
	// The caller's own O_EXCL: the foreign creator wins and we say EEXIST.
	fs.foreign_create_once("contended");
	auto r = open_atomic(k, 1, "contended", O_RDWR | O_CREAT | O_EXCL);
	EXPECT_EQ(r.error, -EEXIST);
	EXPECT_EQ(fs.calls("lookup"), 1);
	EXPECT_EQ(fs.calls("open"), 0);
	EXPECT_EQ(fs.total_nlookup(), 0);
}

TEST_F(FuseOpenAtomic, RemovedBetweenLookupAndOpenIsRetried)
{
	fs.open_fails_once(ENOENT);
	auto r = open_atomic(k, 1, "file", O_RDONLY);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.entry.nodeid, kFile);
	EXPECT_EQ(fs.calls("lookup"), 2);
	EXPECT_EQ(fs.calls("open"), 2);
	EXPECT_EQ(fs.calls("forget"), 1);
	EXPECT_EQ(fs.nlookup(kFile), 1);
}

TEST_F(FuseOpenAtomic, OpenErrorGivesTheLookupBack)
{
	fs.open_fails_once(EACCES);
	auto r = open_atomic(k, 1, "file", O_RDWR);
	EXPECT_EQ(r.error, -EACCES);
	EXPECT_EQ(fs.calls("lookup"), 1);
	EXPECT_EQ(fs.calls("forget"), 1);
	EXPECT_EQ(fs.total_nlookup(), 0);
}

TEST_F(FuseOpenAtomic, DirectoryGetsOpendirHandle)
{
	auto r = open_atomic(k, 1, "dir", O_RDONLY | O_DIRECTORY);
	ASSERT_EQ(r.error, 0);
	ASSERT_EQ(r.size, kAtomicReplySize);
	EXPECT_EQ(r.entry.nodeid, kDir);
	EXPECT_EQ(r.entry.attr.mode, static_cast<std::uint32_t>(S_IFDIR | 0750));
	EXPECT_EQ(r.open.fh, kDirFh);
	EXPECT_EQ(r.open.open_flags, FOPEN_CACHE_DIR);
	EXPECT_EQ(fs.calls("opendir"), 1);
	EXPECT_EQ(fs.calls("open"), 0);
	EXPECT_EQ(fs.recorded().opendir_flags, O_RDONLY | O_DIRECTORY);
	EXPECT_EQ(fs.nlookup(kDir), 1);
}

TEST_F(FuseOpenAtomic, SymlinkFifoAndDeviceGetNoOpen)
{
	struct Case {
		const char *name;
		NodeId id;
		std::uint32_t mode;
	};
	for (const Case &c :
	     {Case{"link", kLink, S_IFLNK | 0777}, Case{"fifo", kFifo, S_IFIFO | 0600},
	      Case{"dev", kDev, S_IFCHR | 0660}}) {
		SCOPED_TRACE(c.name);
		auto r = open_atomic(k, 1, c.name, O_RDONLY | O_CREAT);
		ASSERT_EQ(r.error, 0);
		ASSERT_EQ(r.size, kAtomicReplySize);
		EXPECT_EQ(r.entry.nodeid, c.id);
		EXPECT_EQ(r.entry.attr.mode, c.mode);
		EXPECT_TRUE(zero_open(r.open));
		EXPECT_EQ(fs.nlookup(c.id), 1);
	}
	EXPECT_EQ(fs.calls("open"), 0);
	EXPECT_EQ(fs.calls("opendir"), 0);
	EXPECT_EQ(fs.calls("create"), 0);
	EXPECT_EQ(fs.calls("lookup"), 3);
}

TEST_F(FuseOpenAtomic, MissingWithoutCreateIsEnoent)
{
	auto r = open_atomic(k, 1, "missing", O_RDWR);
	EXPECT_EQ(r.error, -ENOENT);
	EXPECT_EQ(r.size, 0u);
	EXPECT_EQ(fs.calls("lookup"), 1);
	EXPECT_EQ(fs.calls("create"), 0);
	EXPECT_EQ(fs.total_nlookup(), 0);
	EXPECT_FALSE(fs.child(1, "missing").has_value());
	// In a missing parent: the lookup's error.
	r = open_atomic(k, 999, "x", O_RDWR | O_CREAT);
	EXPECT_EQ(r.error, -ESTALE);
	EXPECT_EQ(fs.calls("create"), 0);
}

TEST_F(FuseOpenAtomic, SuppGroupReachesCreate)
{
	fuse_create_in in{O_RDWR | O_CREAT, S_IFREG | 0644, 0, 0};
	Bytes args = bytes_of(in);
	append(args, std::string_view("grp\0", 4));
	fuse_ext_header eh{16, FUSE_EXT_GROUPS};
	append(args, eh);
	append(args, fuse_supp_groups{1});
	append(args, std::uint32_t{4321});
	k.send_raw(frame(FUSE_OPEN_ATOMIC, 5001, 1, args, 2));
	auto r = k.receive(5000);
	ASSERT_TRUE(r);
	EXPECT_EQ(r->unique, 5001u);
	ASSERT_EQ(r->error, 0);
	EXPECT_EQ(r->as<fuse_open_out>(sizeof(fuse_entry_out)).open_flags, FOPEN_FILE_CREATED);
	auto rec = fs.recorded();
	EXPECT_EQ(rec.create_caller.supp_gid, 4321u);
	EXPECT_EQ(rec.create_caller.uid, 1001u);
	EXPECT_EQ(rec.create_caller.gid, 1002u);
	EXPECT_EQ(rec.create_caller.pid, 1003);
}

// A filesystem with no methods at all.
struct EmptyFs : Filesystem {
};

TEST(FuseOpenAtomicDefault, LookupNotImplementedIsEnosys)
{
	EmptyFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	EXPECT_EQ(open_atomic(k, 1, "x", O_RDONLY).error, -ENOSYS);
	EXPECT_EQ(open_atomic(k, 1, "x", O_RDWR | O_CREAT).error, -ENOSYS);
}

// lookup works, create does not: O_CREAT of a new name is ENOSYS.
struct NoCreateFs : TestFs {
	Errno create(const Request &, NodeId, std::string_view, int, mode_t, mode_t, Entry &,
		     OpenFile &) override
	{
		return ENOSYS;
	}
};

TEST(FuseOpenAtomicDefault, CreateNotImplemented)
{
	NoCreateFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	EXPECT_EQ(open_atomic(k, 1, "new", O_RDWR | O_CREAT).error, -ENOSYS);
	EXPECT_EQ(fs.total_nlookup(), 0);
	// Existing names still open.
	EXPECT_EQ(open_atomic(k, 1, "file", O_RDWR | O_CREAT).error, 0);
}

// Implements open_atomic itself: the library calls it, once, and nothing else.
struct OwnAtomicFs : TestFs {
	std::atomic<int> atomic_calls{0};
	std::atomic<int> last_flags{0};
	AtomicOpen answer;
	Errno error = 0;
	Errno open_atomic(const Request &, NodeId, std::string_view, int flags, mode_t, mode_t,
			  AtomicOpen &out) override
	{
		atomic_calls++;
		last_flags = flags;
		if (error)
			return error;
		out = answer;
		return 0;
	}
};

TEST(FuseOpenAtomicOverride, CalledOnceNothingElse)
{
	OwnAtomicFs fs;
	fs.answer.entry.nodeid = 42;
	fs.answer.entry.generation = 3;
	fs.answer.entry.attr.st_ino = 42;
	fs.answer.entry.attr.st_mode = S_IFREG | 0600;
	fs.answer.entry.entry_timeout = 0.25;
	fs.answer.file = OpenFile{0xabc, FOPEN_DIRECT_IO, 0};
	fs.answer.created = true;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	auto r = open_atomic(k, 1, "whatever", O_RDWR | O_CREAT | O_EXCL);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(fs.atomic_calls.load(), 1);
	EXPECT_EQ(fs.last_flags.load(), O_RDWR | O_CREAT | O_EXCL);
	EXPECT_EQ(fs.calls("lookup"), 0);
	EXPECT_EQ(fs.calls("open"), 0);
	EXPECT_EQ(fs.calls("create"), 0);
	EXPECT_EQ(r.entry.nodeid, 42u);
	EXPECT_EQ(r.entry.generation, 3u);
	EXPECT_EQ(r.entry.entry_valid, 0u);
	EXPECT_EQ(r.entry.entry_valid_nsec, 250000000u);
	EXPECT_EQ(r.open.fh, 0xabcu);
	EXPECT_EQ(r.open.open_flags, FOPEN_DIRECT_IO | FOPEN_FILE_CREATED);

	// An error passes through as is.
	fs.error = EROFS;
	EXPECT_EQ(open_atomic(k, 1, "whatever", O_RDWR).error, -EROFS);
	EXPECT_EQ(fs.atomic_calls.load(), 2);
}

TEST(FuseOpenAtomicOverride, HandleForAFifoIsReleasedAndNotSent)
{
	OwnAtomicFs fs;
	fs.answer.entry.nodeid = 43;
	fs.answer.entry.attr.st_mode = S_IFIFO | 0600;
	fs.answer.file = OpenFile{0xfeed, FOPEN_KEEP_CACHE, 0};
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	auto r = open_atomic(k, 1, "fifo", O_RDONLY);
	ASSERT_EQ(r.error, 0);
	ASSERT_EQ(r.size, kAtomicReplySize);
	EXPECT_EQ(r.entry.nodeid, 43u);
	EXPECT_TRUE(zero_open(r.open));
	EXPECT_EQ(fs.calls("release"), 1);
}

// The series' negative entry: nodeid 0 with the entry timeout, a zeroed
// fuse_open_out; the kernel caches the negative dentry for that long and
// answers ENOENT. A handle the filesystem returned with it is released.
Bytes negative_reply(double entry_timeout)
{
	Entry e;
	e.entry_timeout = entry_timeout;
	Bytes want = bytes_of(protocol::to_entry_out(e));
	append(want, fuse_open_out{});
	return want;
}

FakeKernel::Reply open_atomic_raw(FakeKernel &k, std::string_view name, std::uint32_t flags)
{
	fuse_create_in in{flags, S_IFREG | 0644, 022, 0};
	auto n = FakeKernel::name(name);
	return k.call(FUSE_OPEN_ATOMIC, 1, {FakeKernel::arg(in), FakeKernel::arg(n)});
}

TEST(FuseOpenAtomicOverride, NegativeEntryReachesTheKernel)
{
	OwnAtomicFs fs;
	fs.answer.entry.entry_timeout = 2.5; // nodeid 0
	fs.answer.file = OpenFile{0xbad, 0, 0};
	fs.answer.created = true;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	auto r = open_atomic_raw(k, "neg", O_RDONLY);
	EXPECT_EQ(r.error, 0);
	EXPECT_EQ(r.body, negative_reply(2.5));
	EXPECT_EQ(fs.calls("release"), 1);
	EXPECT_EQ(fs.calls("forget"), 0);
}

// The default open_atomic passes a negative LOOKUP on as it is; with O_CREAT
// it creates the name.
TEST(FuseOpenAtomicDefault, NegativeLookupReachesTheKernel)
{
	struct NegativeFs : TestFs {
		Errno lookup(const Request &req, NodeId parent, std::string_view name,
			     Entry &out) override
		{
			if (name != "neg")
				return TestFs::lookup(req, parent, name, out);
			out = Entry{};
			out.entry_timeout = 3;
			return 0;
		}
	} fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	auto r = open_atomic_raw(k, "neg", O_RDONLY);
	EXPECT_EQ(r.error, 0);
	EXPECT_EQ(r.body, negative_reply(3));
	EXPECT_EQ(fs.calls("open"), 0);
	EXPECT_EQ(fs.calls("create"), 0);
	auto c = open_atomic(k, 1, "neg", O_RDWR | O_CREAT);
	ASSERT_EQ(c.error, 0);
	EXPECT_NE(c.entry.nodeid, 0u);
	EXPECT_EQ(c.open.open_flags & FOPEN_FILE_CREATED, FOPEN_FILE_CREATED);
	EXPECT_EQ(fs.calls("create"), 1);
}

} // namespace
} // namespace atomfs::fuse::test
