// SPDX-License-Identifier: MIT
//
// Exact reply bytes: each reply body is compared with one built here field
// by field from the test filesystem's fixed numbers (fuse_test_fs.h).
#include "fuse_test_fs.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cmath>
#include <dirent.h>

namespace atomfs::fuse::test
{
namespace
{

using namespace abi;

// The wire attributes of a test node (TestFs::stat_of, converted by hand).
fuse_attr wire_attr(NodeId id, std::uint32_t mode, std::uint64_t size, std::uint32_t rdev = 0)
{
	fuse_attr a{};
	a.ino = id;
	a.size = size;
	a.blocks = 8 * id;
	a.atime = 1700000000 + id;
	a.mtime = 1700000100 + id;
	a.ctime = 1700000200 + id;
	a.atimensec = 111;
	a.mtimensec = 222;
	a.ctimensec = 333;
	a.mode = mode;
	a.nlink = S_ISDIR(mode) ? 2 : 1;
	a.uid = 1000 + static_cast<std::uint32_t>(id);
	a.gid = 2000 + static_cast<std::uint32_t>(id);
	a.rdev = rdev;
	a.blksize = 4096;
	return a;
}

// kEntryTimeout 1.5 and kAttrTimeout 2.25, split by hand.
fuse_entry_out wire_entry(NodeId id, std::uint32_t mode, std::uint64_t size, std::uint32_t rdev = 0)
{
	fuse_entry_out e{};
	e.nodeid = id;
	e.generation = 7;
	e.entry_valid = 1;
	e.entry_valid_nsec = 500000000;
	e.attr_valid = 2;
	e.attr_valid_nsec = 250000000;
	e.attr = wire_attr(id, mode, size, rdev);
	return e;
}

void append_dirent(Bytes &b, std::uint64_t ino, std::uint64_t off, std::uint32_t type,
		   std::string_view name)
{
	fuse_dirent d{ino, off, static_cast<std::uint32_t>(name.size()), type};
	append(b, d);
	append(b, name);
	while (b.size() % 8)
		b.push_back(std::byte{0});
}

void append_direntplus(Bytes &b, const fuse_entry_out &e, std::uint64_t ino, std::uint64_t off,
		       std::uint32_t type, std::string_view name)
{
	append(b, e);
	append_dirent(b, ino, off, type, name);
}

// "." and ".." in READDIRPLUS: no lookup, only ino and mode.
fuse_entry_out dot_entry(NodeId id, std::uint32_t mode)
{
	fuse_entry_out e{};
	e.attr.ino = id;
	e.attr.mode = mode;
	return e;
}

class FuseReplies : public ::testing::Test
{
protected:
	void SetUp() override { ASSERT_EQ(k.init().error, 0); }

	FakeKernel::Reply lookup(NodeId parent, std::string_view name)
	{
		auto n = FakeKernel::name(name);
		return k.call(FUSE_LOOKUP, parent, {FakeKernel::arg(n)});
	}
	FakeKernel::Reply read(NodeId node, std::uint64_t off, std::uint32_t size,
			       std::uint32_t op = FUSE_READ)
	{
		fuse_read_in in{};
		in.fh = 77;
		in.offset = off;
		in.size = size;
		return k.call(op, node, {FakeKernel::arg(in)});
	}
	FakeKernel::Reply getxattr(NodeId node, std::string_view name, std::uint32_t size)
	{
		fuse_getxattr_in in{size, 0};
		auto n = FakeKernel::name(name);
		return k.call(FUSE_GETXATTR, node, {FakeKernel::arg(in), FakeKernel::arg(n)});
	}

	TestFs fs;
	FakeKernel k{fs, one_thread()};
};

TEST_F(FuseReplies, LookupRegularFile)
{
	auto r = lookup(1, "file");
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, bytes_of(wire_entry(kFile, S_IFREG | 0644, 11)));
	EXPECT_EQ(fs.nlookup(kFile), 1);
	EXPECT_EQ(fs.calls("lookup"), 1);
	// The caller reaches the filesystem from the header.
	auto rec = fs.recorded();
	EXPECT_EQ(rec.lookup_caller.uid, 0u); // FakeKernel::call's default
	EXPECT_EQ(rec.lookup_caller.supp_gid, static_cast<gid_t>(-1));
}

TEST_F(FuseReplies, LookupDeviceEncodesRdev)
{
	auto r = lookup(1, "dev");
	ASSERT_EQ(r.error, 0);
	ASSERT_EQ(r.body.size(), sizeof(fuse_entry_out));
	EXPECT_EQ(r.as<fuse_entry_out>().attr.rdev, 0x45612378u);
	EXPECT_EQ(r.body, bytes_of(wire_entry(kDev, S_IFCHR | 0660, 0, kDevWire)));
}

TEST_F(FuseReplies, LookupDirectoryAndMissing)
{
	auto r = lookup(1, "dir");
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, bytes_of(wire_entry(kDir, S_IFDIR | 0750, 0)));
	r = lookup(kDir, "inner");
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, bytes_of(wire_entry(kInner, S_IFREG | 0600, 0)));
	r = lookup(1, "missing");
	EXPECT_EQ(r.error, -ENOENT);
	EXPECT_TRUE(r.body.empty());
	r = lookup(kFile, "x");
	EXPECT_EQ(r.error, -ENOTDIR);
	EXPECT_EQ(fs.total_nlookup(), 2);
}

TEST_F(FuseReplies, Getattr)
{
	fuse_getattr_in in{};
	auto r = k.call(FUSE_GETATTR, kFifo, {FakeKernel::arg(in)});
	ASSERT_EQ(r.error, 0);
	fuse_attr_out want{};
	want.attr_valid = 2;
	want.attr_valid_nsec = 250000000;
	want.attr = wire_attr(kFifo, S_IFIFO | 0600, 0);
	EXPECT_EQ(r.body, bytes_of(want));
	EXPECT_FALSE(fs.recorded().getattr_had_fh);
	// With FUSE_GETATTR_FH the handle reaches the filesystem.
	in.getattr_flags = FUSE_GETATTR_FH;
	in.fh = 0x1234;
	r = k.call(FUSE_GETATTR, kFifo, {FakeKernel::arg(in)});
	ASSERT_EQ(r.error, 0);
	EXPECT_TRUE(fs.recorded().getattr_had_fh);
	EXPECT_EQ(fs.recorded().getattr_fh, 0x1234u);
	// A node the filesystem does not know.
	r = k.call(FUSE_GETATTR, 999, {FakeKernel::arg(in)});
	EXPECT_EQ(r.error, -ESTALE);
}

TEST_F(FuseReplies, ReadCappedByTheRequestSize)
{
	auto r = read(kFile, 6, 3);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, bytes_of(std::string_view("wor")));
	EXPECT_EQ(fs.recorded().read_space, 3u);
	r = read(kFile, 0, 4096);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, bytes_of(std::string_view("hello world")));
	EXPECT_EQ(fs.recorded().read_space, 4096u);
	r = read(kFile, 100, 4096);
	ASSERT_EQ(r.error, 0);
	EXPECT_TRUE(r.body.empty());
	r = read(kFile, 0, 0);
	ASSERT_EQ(r.error, 0);
	EXPECT_TRUE(r.body.empty());
	EXPECT_EQ(fs.recorded().read_space, 0u);
}

TEST_F(FuseReplies, WriteReplySize)
{
	fuse_write_in in{};
	in.fh = kFileFhBase + kFile;
	in.offset = 0;
	in.size = 5;
	in.write_flags = FUSE_WRITE_CACHE;
	auto data = std::string("HELLO");
	auto r = k.call(FUSE_WRITE, kFile, {FakeKernel::arg(in), FakeKernel::arg(data)});
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, bytes_of(fuse_write_out{5, 0}));
	auto rec = fs.recorded();
	EXPECT_EQ(rec.written, bytes_of(std::string_view("HELLO")));
	EXPECT_EQ(rec.write_flags, FUSE_WRITE_CACHE);
	// Bytes after the data (never sent by a kernel) are not written.
	in.offset = 6;
	in.size = 2;
	auto more = std::string("WOxx");
	r = k.call(FUSE_WRITE, kFile, {FakeKernel::arg(in), FakeKernel::arg(more)});
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, bytes_of(fuse_write_out{2, 0}));
	EXPECT_EQ(read(kFile, 0, 100).body, bytes_of(std::string_view("HELLO WOrld")));
	// A zero-size write.
	in.size = 0;
	r = k.call(FUSE_WRITE, kFile, {FakeKernel::arg(in)});
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, bytes_of(fuse_write_out{0, 0}));
}

TEST_F(FuseReplies, ReaddirPackingAndFullBuffer)
{
	Bytes all;
	append_dirent(all, kDir, 1, DT_DIR, ".");
	append_dirent(all, 1, 2, DT_DIR, "..");
	append_dirent(all, kLong, 3, DT_REG, "a-longer-name");
	append_dirent(all, kInner, 4, DT_REG, "inner");
	ASSERT_EQ(all.size(), 32u + 32 + 40 + 32);

	auto r = read(kDir, 0, 4096, FUSE_READDIR);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, all);

	// 100 bytes: "." and ".." (64), the 40-byte record does not fit.
	r = read(kDir, 0, 100, FUSE_READDIR);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, Bytes(all.begin(), all.begin() + 64));
	// Exactly 104: three records.
	r = read(kDir, 0, 104, FUSE_READDIR);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, Bytes(all.begin(), all.begin() + 104));
	// Resume at the next offset.
	r = read(kDir, 2, 100, FUSE_READDIR);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, Bytes(all.begin() + 64, all.end()));
	// End of the directory: an empty reply.
	r = read(kDir, 4, 4096, FUSE_READDIR);
	ASSERT_EQ(r.error, 0);
	EXPECT_TRUE(r.body.empty());
	// Smaller than one record: empty.
	r = read(kDir, 0, 31, FUSE_READDIR);
	ASSERT_EQ(r.error, 0);
	EXPECT_TRUE(r.body.empty());
	EXPECT_EQ(fs.total_nlookup(), 0);
}

TEST_F(FuseReplies, ReaddirplusPackingFullBufferAndLookups)
{
	Bytes all;
	append_direntplus(all, dot_entry(kDir, S_IFDIR | 0750), kDir, 1, DT_DIR, ".");
	append_direntplus(all, dot_entry(1, S_IFDIR | 0755), 1, 2, DT_DIR, "..");
	append_direntplus(all, wire_entry(kLong, S_IFREG | 0644, 10), kLong, 3, DT_REG,
			  "a-longer-name");
	append_direntplus(all, wire_entry(kInner, S_IFREG | 0600, 0), kInner, 4, DT_REG, "inner");
	ASSERT_EQ(all.size(), 160u + 160 + 168 + 160);

	auto r = read(kDir, 0, 4096, FUSE_READDIRPLUS);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, all);
	EXPECT_EQ(fs.nlookup(kLong), 1);
	EXPECT_EQ(fs.nlookup(kInner), 1);
	EXPECT_EQ(fs.nlookup(kDir), 0);
	EXPECT_EQ(fs.nlookup(1), 0);

	// 487 bytes: "." and ".." (320); "a-longer-name" needs 168 -> stop,
	// and no lookup was counted for what did not fit.
	r = read(kDir, 0, 487, FUSE_READDIRPLUS);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, Bytes(all.begin(), all.begin() + 320));
	EXPECT_EQ(fs.nlookup(kLong), 1);
	EXPECT_EQ(fs.nlookup(kInner), 1);
	// 488: three records, one more lookup of kLong only.
	r = read(kDir, 0, 488, FUSE_READDIRPLUS);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, Bytes(all.begin(), all.begin() + 488));
	EXPECT_EQ(fs.nlookup(kLong), 2);
	EXPECT_EQ(fs.nlookup(kInner), 1);
	// Resume.
	r = read(kDir, 3, 4096, FUSE_READDIRPLUS);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, Bytes(all.begin() + 488, all.end()));
	EXPECT_EQ(fs.nlookup(kInner), 2);
	EXPECT_EQ(fs.calls("readdirplus"), 4);
	EXPECT_EQ(fs.calls("readdir"), 0);
}

TEST_F(FuseReplies, Statfs)
{
	auto r = k.call(FUSE_STATFS, 1);
	ASSERT_EQ(r.error, 0);
	fuse_statfs_out want{};
	want.st.blocks = 1000001;
	want.st.bfree = 500002;
	want.st.bavail = 400003;
	want.st.files = 70004;
	want.st.ffree = 60005;
	want.st.bsize = 4096;
	want.st.namelen = 255;
	want.st.frsize = 1024;
	EXPECT_EQ(r.body, bytes_of(want));
}

TEST_F(FuseReplies, GetxattrSizeQueryRangeAndValue)
{
	auto r = getxattr(kFile, "user.k", 0);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, bytes_of(fuse_getxattr_out{5, 0}));
	r = getxattr(kFile, "user.k", 4);
	EXPECT_EQ(r.error, -ERANGE);
	EXPECT_TRUE(r.body.empty());
	r = getxattr(kFile, "user.k", 5);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, bytes_of(std::string_view("value")));
	r = getxattr(kFile, "user.k", 4096);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, bytes_of(std::string_view("value")));
	r = getxattr(kFile, "user.none", 4096);
	EXPECT_EQ(r.error, -ENODATA);
	// Not implemented by the filesystem: ENOSYS, which the kernel remembers.
	fuse_getxattr_in in{0, 0};
	r = k.call(FUSE_LISTXATTR, kFile, {FakeKernel::arg(in)});
	EXPECT_EQ(r.error, -ENOSYS);
}

TEST_F(FuseReplies, Readlink)
{
	auto r = k.call(FUSE_READLINK, kLink);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, bytes_of(std::string_view("file"))); // no NUL
	r = k.call(FUSE_READLINK, kFile);
	EXPECT_EQ(r.error, -EINVAL);
}

TEST_F(FuseReplies, OpenAndCreate)
{
	fuse_open_in oi{O_RDWR, 0};
	auto r = k.call(FUSE_OPEN, kFile, {FakeKernel::arg(oi)});
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body, bytes_of(fuse_open_out{kFileFhBase + kFile, FOPEN_KEEP_CACHE, 0}));
	EXPECT_EQ(fs.recorded().open_flags, O_RDWR);

	fuse_create_in ci{O_WRONLY | O_CREAT, S_IFREG | 0666, 022, 0};
	auto n = FakeKernel::name("made");
	r = k.call(FUSE_CREATE, 1, {FakeKernel::arg(ci), FakeKernel::arg(n)});
	ASSERT_EQ(r.error, 0);
	Bytes want = bytes_of(wire_entry(100, S_IFREG | 0644, 0));
	append(want, fuse_open_out{kFileFhBase + 100, 0, 0});
	EXPECT_EQ(r.body, want);
	auto rec = fs.recorded();
	EXPECT_EQ(rec.create_flags, O_WRONLY | O_CREAT);
	EXPECT_EQ(rec.create_mode, static_cast<mode_t>(S_IFREG | 0666));
	EXPECT_EQ(rec.create_umask, 022u);
	EXPECT_EQ(fs.nlookup(100), 1);
}

TEST_F(FuseReplies, MknodDecodesRdev)
{
	fuse_mknod_in in{S_IFCHR | 0666, kDevWire, 022, 0};
	auto n = FakeKernel::name("cdev");
	auto r = k.call(FUSE_MKNOD, 1, {FakeKernel::arg(in), FakeKernel::arg(n)});
	ASSERT_EQ(r.error, 0);
	auto rec = fs.recorded();
	EXPECT_EQ(major(rec.mknod_rdev), kDevMajor);
	EXPECT_EQ(minor(rec.mknod_rdev), kDevMinor);
	EXPECT_EQ(rec.mknod_mode, static_cast<mode_t>(S_IFCHR | 0666));
	EXPECT_EQ(rec.mknod_umask, 022u);
	// And back: the new node's attributes carry the same wire rdev.
	EXPECT_EQ(r.body, bytes_of(wire_entry(100, S_IFCHR | 0644, 0, kDevWire)));
	// A small device number, 8:1 (0x801 on the wire).
	in.rdev = 0x801;
	n = FakeKernel::name("sda1");
	ASSERT_EQ(k.call(FUSE_MKNOD, 1, {FakeKernel::arg(in), FakeKernel::arg(n)}).error, 0);
	EXPECT_EQ(fs.recorded().mknod_rdev, makedev(8, 1));
}

TEST_F(FuseReplies, SetxattrExtendedLayout)
{
	// INIT offered everything: FUSE_SETXATTR_EXT is on, 16-byte header.
	fuse_setxattr_in in{3, 2 /* XATTR_REPLACE */, FUSE_SETXATTR_ACL_KILL_SGID, 0};
	auto n = FakeKernel::name("user.a");
	auto v = std::string("abc");
	auto r = k.call(FUSE_SETXATTR, kFile,
			{FakeKernel::arg(in), FakeKernel::arg(n), FakeKernel::arg(v)});
	ASSERT_EQ(r.error, 0);
	EXPECT_TRUE(r.body.empty());
	auto rec = fs.recorded();
	EXPECT_EQ(rec.xattr_name, "user.a");
	EXPECT_EQ(rec.xattr_value, bytes_of(std::string_view("abc")));
	EXPECT_EQ(rec.xattr_flags, 2);
	// A value longer than the bytes sent.
	in.size = 4;
	r = k.call(FUSE_SETXATTR, kFile,
		   {FakeKernel::arg(in), FakeKernel::arg(n), FakeKernel::arg(v)});
	EXPECT_EQ(r.error, -EINVAL);
	EXPECT_EQ(fs.calls("setxattr"), 1);
}

TEST_F(FuseReplies, SetattrArguments)
{
	fuse_setattr_in in{};
	in.valid = FATTR_SIZE | FATTR_MODE | FATTR_MTIME | FATTR_FH | FATTR_UID | FATTR_GID;
	in.fh = 0x5151;
	in.size = 4;
	in.mode = S_IFREG | 0600;
	in.uid = 3001;
	in.gid = 3002;
	in.mtime = 1234567890;
	in.mtimensec = 987654321;
	auto r = k.call(FUSE_SETATTR, kFile, {FakeKernel::arg(in)});
	ASSERT_EQ(r.error, 0);
	auto s = fs.recorded().setattr_in;
	EXPECT_EQ(s.valid, in.valid);
	ASSERT_TRUE(s.fh.has_value());
	EXPECT_EQ(*s.fh, 0x5151u);
	EXPECT_EQ(s.attr.st_size, 4);
	EXPECT_EQ(s.attr.st_mode, static_cast<mode_t>(S_IFREG | 0600));
	EXPECT_EQ(s.attr.st_uid, 3001u);
	EXPECT_EQ(s.attr.st_gid, 3002u);
	EXPECT_EQ(s.attr.st_mtim.tv_sec, 1234567890);
	EXPECT_EQ(s.attr.st_mtim.tv_nsec, 987654321);
	// The reply is the new attributes (size 4 now).
	fuse_attr_out want{};
	want.attr_valid = 2;
	want.attr_valid_nsec = 250000000;
	want.attr = wire_attr(kFile, S_IFREG | 0644, 4);
	EXPECT_EQ(r.body, bytes_of(want));
	// Without FATTR_FH no handle is passed.
	in.valid = FATTR_SIZE;
	ASSERT_EQ(k.call(FUSE_SETATTR, kFile, {FakeKernel::arg(in)}).error, 0);
	EXPECT_FALSE(fs.recorded().setattr_in.fh.has_value());
}

TEST(FuseRepliesTimeouts, NegativeNanAndHugeTimeouts)
{
	struct TimeoutFs : TestFs {
		Errno lookup(const Request &req, NodeId parent, std::string_view name,
			     Entry &out) override
		{
			Errno e = TestFs::lookup(req, parent, name, out);
			if (name == "file") {
				out.entry_timeout = -1;
				out.attr_timeout = std::nan("");
			} else {
				out.entry_timeout = 1e30;
				out.attr_timeout = 0.000000001;
			}
			return e;
		}
	} fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	auto n = FakeKernel::name("file");
	auto e = k.call(FUSE_LOOKUP, 1, {FakeKernel::arg(n)}).as<fuse_entry_out>();
	EXPECT_EQ(e.entry_valid, 0u);
	EXPECT_EQ(e.entry_valid_nsec, 0u);
	EXPECT_EQ(e.attr_valid, 0u);
	EXPECT_EQ(e.attr_valid_nsec, 0u);
	n = FakeKernel::name("dir");
	e = k.call(FUSE_LOOKUP, 1, {FakeKernel::arg(n)}).as<fuse_entry_out>();
	EXPECT_EQ(e.entry_valid, 1000000000000000000ull); // saturated, not wrapped
	EXPECT_EQ(e.entry_valid_nsec, 0u);
	EXPECT_EQ(e.attr_valid, 0u);
	EXPECT_LE(e.attr_valid_nsec, 1u); // 1 ns, or 0 after rounding down
}

TEST(FuseRepliesCompat, SetxattrWithoutExtUsesEightBytes)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init(7, 41, ~0ull & ~FUSE_SETXATTR_EXT).error, 0);
	struct {
		std::uint32_t size, flags;
	} in{3, 1 /* XATTR_CREATE */};
	auto n = FakeKernel::name("user.b");
	auto v = std::string("xyz");
	auto r = k.call(FUSE_SETXATTR, kFile,
			{FakeKernel::arg(in), FakeKernel::arg(n), FakeKernel::arg(v)});
	ASSERT_EQ(r.error, 0);
	auto rec = fs.recorded();
	EXPECT_EQ(rec.xattr_name, "user.b");
	EXPECT_EQ(rec.xattr_value, bytes_of(std::string_view("xyz")));
	EXPECT_EQ(rec.xattr_flags, 1);
}

} // namespace
} // namespace atomfs::fuse::test
