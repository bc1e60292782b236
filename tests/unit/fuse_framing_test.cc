// SPDX-License-Identifier: MIT
//
// Framing and malformed input: every bad request gets the right error (EIO
// for framing, EINVAL for arguments) or, for the no-reply opcodes, nothing;
// the "malformed" counter counts it; and the session keeps serving.
#include "fuse_test_fs.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace atomfs::fuse::test
{
namespace
{

using namespace abi;

class FuseFraming : public ::testing::Test
{
protected:
	void SetUp() override { ASSERT_EQ(k.init().error, 0); }

	std::int64_t malformed() { return json_number(k.session().stats_json(), "malformed"); }

	// Sends raw bytes and returns the next message, which must answer `unique`.
	FakeKernel::Reply send(const Bytes &msg, std::uint64_t unique)
	{
		k.send_raw(msg);
		auto r = k.receive(5000);
		if (!r)
			return {-ETIMEDOUT, 0, {}};
		EXPECT_EQ(r->unique, unique);
		return *r;
	}

	// A GETATTR works and is the very next message: nothing was replied in
	// between (to a request that should have had no reply).
	void expect_serving()
	{
		fuse_getattr_in g{};
		const std::uint64_t u = 900000 + ++serving_;
		auto r = send(frame(FUSE_GETATTR, u, kFile, bytes_of(g)), u);
		EXPECT_EQ(r.error, 0);
		EXPECT_EQ(r.body.size(), sizeof(fuse_attr_out));
		EXPECT_EQ(r.as<fuse_attr_out>().attr.ino, kFile);
	}

	TestFs fs;
	FakeKernel k{fs, one_thread()};
	int serving_ = 0;
};

TEST_F(FuseFraming, HeaderShorterThan40Bytes)
{
	fuse_getattr_in g{};
	Bytes full = frame(FUSE_GETATTR, 1001, kFile, bytes_of(g));
	// 24 bytes: the unique is there, so the kernel gets an EIO for it.
	Bytes shorter(full.begin(), full.begin() + 24);
	auto r = send(shorter, 1001);
	EXPECT_EQ(r.error, -EIO);
	EXPECT_TRUE(r.body.empty());
	EXPECT_EQ(malformed(), 1);
	expect_serving();
	// 39 bytes: one short of a header.
	Bytes almost(full.begin(), full.begin() + 39);
	EXPECT_EQ(send(almost, 1001).error, -EIO);
	EXPECT_EQ(malformed(), 2);
	// 10 bytes: no unique to answer; nothing comes back.
	k.send_raw(Bytes(full.begin(), full.begin() + 10));
	expect_serving();
	EXPECT_EQ(malformed(), 3);
	EXPECT_EQ(fs.calls("getattr"), 2); // only the two expect_serving() ones
}

TEST_F(FuseFraming, LenFieldDiffersFromBytesSent)
{
	fuse_getattr_in g{};
	// len says the header alone, 16 argument bytes follow.
	auto r = send(frame(FUSE_GETATTR, 1003, kFile, bytes_of(g), 0, 40), 1003);
	EXPECT_EQ(r.error, -EIO);
	EXPECT_TRUE(r.body.empty());
	// len larger than what was sent.
	r = send(frame(FUSE_GETATTR, 1005, kFile, bytes_of(g), 0, 4096), 1005);
	EXPECT_EQ(r.error, -EIO);
	EXPECT_EQ(malformed(), 2);
	EXPECT_EQ(fs.calls("getattr"), 0);
	expect_serving();
}

TEST_F(FuseFraming, ExtensionLengthPastTheBody)
{
	fuse_getattr_in g{};
	// total_extlen 3 = 24 bytes, only 16 follow the header.
	auto r = send(frame(FUSE_GETATTR, 1007, kFile, bytes_of(g), 3), 1007);
	EXPECT_EQ(r.error, -EIO);
	EXPECT_EQ(malformed(), 1);
	EXPECT_EQ(fs.calls("getattr"), 0);
	expect_serving();
}

TEST_F(FuseFraming, LookupNameUnterminatedOrEmpty)
{
	auto r = send(frame(FUSE_LOOKUP, 1009, 1, bytes_of(std::string_view("file"))), 1009);
	EXPECT_EQ(r.error, -EINVAL);
	EXPECT_TRUE(r.body.empty());
	r = send(frame(FUSE_LOOKUP, 1011, 1, bytes_of(std::string_view("\0", 1))), 1011);
	EXPECT_EQ(r.error, -EINVAL);
	r = send(frame(FUSE_LOOKUP, 1013, 1, {}), 1013);
	EXPECT_EQ(r.error, -EINVAL);
	EXPECT_EQ(malformed(), 3);
	EXPECT_EQ(fs.calls("lookup"), 0);
	expect_serving();
	// And a well-formed one right after.
	r = send(frame(FUSE_LOOKUP, 1015, 1, bytes_of(std::string_view("file\0", 5))), 1015);
	EXPECT_EQ(r.error, 0);
	EXPECT_EQ(r.as<fuse_entry_out>().nodeid, kFile);
}

TEST_F(FuseFraming, WriteSizeLargerThanItsData)
{
	fuse_write_in w{};
	w.fh = kFileFhBase + kFile;
	w.size = 100;
	Bytes args = bytes_of(w);
	append(args, std::string_view("0123456789"));
	auto r = send(frame(FUSE_WRITE, 1017, kFile, args), 1017);
	EXPECT_EQ(r.error, -EINVAL);
	EXPECT_EQ(fs.calls("write"), 0);
	EXPECT_EQ(malformed(), 1);
	expect_serving();
}

TEST_F(FuseFraming, SetattrTooShort)
{
	fuse_setattr_in s{};
	s.valid = FATTR_SIZE;
	Bytes args = bytes_of(s);
	args.resize(sizeof(s) - 8);
	auto r = send(frame(FUSE_SETATTR, 1019, kFile, args), 1019);
	EXPECT_EQ(r.error, -EINVAL);
	EXPECT_EQ(fs.calls("setattr"), 0);
	EXPECT_EQ(malformed(), 1);
	expect_serving();
}

TEST_F(FuseFraming, BatchForgetCountLargerThanItsRecords)
{
	auto file = FakeKernel::name("file"), dir = FakeKernel::name("dir");
	ASSERT_EQ(k.call(FUSE_LOOKUP, 1, {FakeKernel::arg(file)}).error, 0);
	ASSERT_EQ(k.call(FUSE_LOOKUP, 1, {FakeKernel::arg(file)}).error, 0);
	ASSERT_EQ(k.call(FUSE_LOOKUP, 1, {FakeKernel::arg(dir)}).error, 0);
	ASSERT_EQ(fs.nlookup(kFile), 2);
	ASSERT_EQ(fs.nlookup(kDir), 1);

	fuse_batch_forget_in b{};
	b.count = 3; // two records follow
	Bytes args = bytes_of(b);
	append(args, fuse_forget_one{kFile, 2});
	append(args, fuse_forget_one{kDir, 1});
	k.send_raw(frame(FUSE_BATCH_FORGET, 1021, 0, args));
	expect_serving(); // no reply to the BATCH_FORGET came first
	EXPECT_EQ(fs.calls("forget"), 2);
	EXPECT_EQ(fs.nlookup(kFile), 0);
	EXPECT_EQ(fs.nlookup(kDir), 0);
	EXPECT_EQ(malformed(), 1);
	auto rec = fs.recorded();
	ASSERT_EQ(rec.forgets.size(), 2u);
	EXPECT_EQ(rec.forgets[0], (std::pair<NodeId, std::uint64_t>{kFile, 2}));
	EXPECT_EQ(rec.forgets[1], (std::pair<NodeId, std::uint64_t>{kDir, 1}));
}

TEST_F(FuseFraming, NoReplyOpcodes)
{
	auto file = FakeKernel::name("file");
	ASSERT_EQ(k.call(FUSE_LOOKUP, 1, {FakeKernel::arg(file)}).error, 0);
	ASSERT_EQ(k.call(FUSE_LOOKUP, 1, {FakeKernel::arg(file)}).error, 0);
	// FORGET: well formed, then without its nlookup.
	k.send_raw(frame(FUSE_FORGET, 1023, kFile, bytes_of(fuse_forget_in{1})));
	expect_serving();
	EXPECT_EQ(fs.nlookup(kFile), 1);
	k.send_raw(frame(FUSE_FORGET, 1025, kFile, {}));
	expect_serving();
	EXPECT_EQ(fs.nlookup(kFile), 1);
	EXPECT_EQ(malformed(), 1);
	// BATCH_FORGET with one record.
	fuse_batch_forget_in b{1, 0};
	Bytes args = bytes_of(b);
	append(args, fuse_forget_one{kFile, 1});
	k.send_raw(frame(FUSE_BATCH_FORGET, 1027, 0, args));
	expect_serving();
	EXPECT_EQ(fs.nlookup(kFile), 0);
	// INTERRUPT of a request that is long answered.
	k.send_raw(frame(FUSE_INTERRUPT, 1029, 0, bytes_of(fuse_interrupt_in{1023})));
	expect_serving();
	// NOTIFY_REPLY (answer to a retrieve we never sent).
	k.send_raw(frame(FUSE_NOTIFY_REPLY, 1031, 0, {}));
	expect_serving();
	// A FORGET with a broken length is malformed but still gets no reply.
	k.send_raw(frame(FUSE_FORGET, 1033, kFile, bytes_of(fuse_forget_in{1}), 0, 200));
	expect_serving();
	EXPECT_EQ(malformed(), 2);
	EXPECT_EQ(fs.nlookup(kFile), 0);
	EXPECT_EQ(fs.calls("forget"), 2);
}

TEST_F(FuseFraming, UnknownAndUnimplementedOpcodesAreEnosys)
{
	for (std::uint32_t op : {200u, 48u /* SETUPMAPPING */, 49u, 37u /* BMAP */, 52u /* STATX */,
				 4096u /* CUSE_INIT */, 0u}) {
		SCOPED_TRACE(op);
		auto r = send(frame(op, 2000 + op, 1, Bytes(16)), 2000 + op);
		EXPECT_EQ(r.error, -ENOSYS);
		EXPECT_TRUE(r.body.empty());
	}
	// ENOSYS is not malformed.
	EXPECT_EQ(malformed(), 0);
	expect_serving();
	auto req = flat_object(k.session().stats_json(), "requests");
	EXPECT_EQ(req["UNKNOWN"], 3u); // 200, 4096, 0
	EXPECT_EQ(req["SETUPMAPPING"], 1u);
	EXPECT_EQ(req["REMOVEMAPPING"], 1u);
	EXPECT_EQ(req["BMAP"], 1u);
	EXPECT_EQ(req["STATX"], 1u);
}

TEST_F(FuseFraming, HandlerArgumentsTooShortAreEinval)
{
	// One per argument struct kind: each is EINVAL and counted.
	struct Case {
		std::uint32_t op;
		std::size_t bytes;
	};
	const Case cases[] = {
	    {FUSE_GETATTR, 8}, {FUSE_OPEN, 4},	   {FUSE_READ, 39},	  {FUSE_RELEASE, 16},
	    {FUSE_FSYNC, 8},   {FUSE_GETXATTR, 4}, {FUSE_CREATE, 15},	  {FUSE_OPEN_ATOMIC, 16},
	    {FUSE_MKNOD, 12},  {FUSE_MKDIR, 8},	   {FUSE_READDIRPLUS, 0}, {FUSE_LSEEK, 20},
	};
	std::uint64_t u = 3001;
	for (const Case &c : cases) {
		SCOPED_TRACE(c.op);
		auto r = send(frame(c.op, u, kFile, Bytes(c.bytes)), u);
		EXPECT_EQ(r.error, -EINVAL);
		u += 2;
	}
	EXPECT_EQ(malformed(), static_cast<std::int64_t>(std::size(cases)));
	EXPECT_EQ(fs.calls("open"), 0);
	EXPECT_EQ(fs.calls("create"), 0);
	EXPECT_EQ(fs.calls("read"), 0);
	expect_serving();
}

TEST(FuseFramingOversized, MessageLargerThanTheRequestBuffer)
{
	// The request buffer is max(max_write, 64 KiB) + 8 KiB: 72 KiB here.
	TestFs fs;
	SessionOptions opts = one_thread();
	opts.max_write = 4096;
	opts.max_pages = 1;
	FakeKernel k(fs, opts);
	ASSERT_EQ(k.init().error, 0);
	fuse_write_in w{};
	w.size = 80000;
	Bytes args = bytes_of(w);
	args.resize(args.size() + w.size);
	k.send_raw(frame(FUSE_WRITE, 4001, kFile, args));
	auto r = k.receive(5000);
	ASSERT_TRUE(r);
	EXPECT_EQ(r->unique, 4001u);
	EXPECT_EQ(r->error, -EIO);
	EXPECT_EQ(fs.calls("write"), 0);
	EXPECT_EQ(json_number(k.session().stats_json(), "malformed"), 1);
	fuse_getattr_in g{};
	EXPECT_EQ(k.call(FUSE_GETATTR, kFile, {FakeKernel::arg(g)}).error, 0);
}

} // namespace
} // namespace atomfs::fuse::test
