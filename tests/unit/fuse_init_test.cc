// SPDX-License-Identifier: MIT
//
// INIT negotiation through the fake kernel: versions, the exact capability
// set, sizes, the compat reply, and what the filesystem's init() sees.
#include "fuse_test_fs.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace atomfs::fuse::test
{
namespace
{

using namespace abi;

// What the session asks for whatever its options (the oracle, written out
// here rather than taken from the library).
constexpr std::uint64_t kExpectedAlways =
    FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | FUSE_DONT_MASK |
    FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO |
    FUSE_PARALLEL_DIROPS | FUSE_ABORT_ERROR | FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS |
    FUSE_SETXATTR_EXT | FUSE_CREATE_SUPP_GROUP | FUSE_NO_EXPORT_SUPPORT | FUSE_INIT_EXT;

std::uint64_t reply_flags(const fuse_init_out &o)
{
	return o.flags | (static_cast<std::uint64_t>(o.flags2) << 32);
}

// A GETATTR answers EIO exactly when the session is not initialized.
bool initialized(FakeKernel &k)
{
	fuse_getattr_in g{};
	return k.call(FUSE_GETATTR, 1, {FakeKernel::arg(g)}).error == 0;
}

TEST(FuseInit, AllFlagsOffered741)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	auto r = k.init(7, 41, ~0ull, 128 * 1024);
	ASSERT_EQ(r.error, 0);
	ASSERT_EQ(r.body.size(), 64u);
	auto o = r.as<fuse_init_out>();
	EXPECT_EQ(o.major, 7u);
	EXPECT_EQ(o.minor, 41u);
	EXPECT_EQ(reply_flags(o), kExpectedAlways);
	EXPECT_EQ(o.flags2,
		  static_cast<std::uint32_t>((FUSE_CREATE_SUPP_GROUP | FUSE_NO_EXPORT_SUPPORT) >> 32));
	EXPECT_NE(o.flags & FUSE_INIT_EXT, 0u);
	EXPECT_EQ(o.max_readahead, 128u * 1024); // min(1 MiB ours, 128 KiB kernel's)
	EXPECT_EQ(o.max_write, 1u << 20);
	EXPECT_EQ(o.max_pages, 256u);
	EXPECT_EQ(o.time_gran, 1u);
	EXPECT_EQ(o.max_stack_depth, 0u);
	EXPECT_EQ(o.map_alignment, 0u);
	for (auto u : o.unused)
		EXPECT_EQ(u, 0u);
	EXPECT_TRUE(initialized(k));
	EXPECT_EQ(fs.calls("init"), 1);
}

// An embedding program gets the session's messages through its callback,
// nothing on stderr.
TEST(FuseInit, RefusedProtocolIsLoggedThroughTheCallback)
{
	TestFs fs;
	SessionOptions opts = one_thread();
	std::vector<std::pair<LogLevel, std::string>> logged;
	std::mutex mu;
	opts.log = [&](LogLevel level, std::string_view message) {
		std::lock_guard lock(mu);
		logged.emplace_back(level, std::string(message));
	};
	testing::internal::CaptureStderr();
	{
		FakeKernel k(fs, opts);
		EXPECT_EQ(k.init(6, 0).error, -EPROTO);
	}
	EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
	ASSERT_EQ(logged.size(), 1u);
	EXPECT_EQ(logged[0].first, LogLevel::error);
	EXPECT_EQ(logged[0].second, "kernel protocol 6.0 is not supported");
}

TEST(FuseInit, NewerMinorGetsOurs)
{
	// A 7.45 kernel offering bits we do not know (bit 41 and up).
	TestFs fs;
	FakeKernel k(fs, one_thread());
	auto r = k.init(7, 45, ~0ull);
	ASSERT_EQ(r.error, 0);
	ASSERT_EQ(r.body.size(), 64u);
	auto o = r.as<fuse_init_out>();
	EXPECT_EQ(o.major, 7u);
	EXPECT_EQ(o.minor, 41u);
	EXPECT_EQ(reply_flags(o), kExpectedAlways);
	EXPECT_EQ(fs.recorded().init_info.proto_minor, 45u);
}

TEST(FuseInit, OptionalFlagsOnlyWhenAsked)
{
	struct Case {
		const char *what;
		SessionOptions opts;
		std::uint64_t extra;
		std::uint32_t stack_depth;
	};
	SessionOptions wb, acl, pt, wbpt, kp;
	wb.writeback_cache = true;
	acl.posix_acl = true;
	pt.passthrough = true;
	wbpt.writeback_cache = wbpt.passthrough = true;
	kp.handle_killpriv_v2 = true;
	const Case cases[] = {
	    {"writeback", wb, FUSE_WRITEBACK_CACHE, 0},
	    {"posix_acl", acl, FUSE_POSIX_ACL, 0},
	    {"passthrough", pt, FUSE_PASSTHROUGH, 1},
	    // 6.12 refuses passthrough together with writeback caching.
	    {"writeback+passthrough", wbpt, FUSE_WRITEBACK_CACHE, 0},
	    {"killpriv_v2", kp, FUSE_HANDLE_KILLPRIV_V2, 0},
	};
	for (const Case &c : cases) {
		SCOPED_TRACE(c.what);
		TestFs fs;
		FakeKernel k(fs, one_thread(c.opts));
		auto r = k.init();
		ASSERT_EQ(r.error, 0);
		auto o = r.as<fuse_init_out>();
		EXPECT_EQ(reply_flags(o), kExpectedAlways | c.extra);
		EXPECT_EQ(o.max_stack_depth, c.stack_depth);
		EXPECT_EQ(k.session().connection().flags, kExpectedAlways | c.extra);
	}
}

// Export support is either asked for (the filesystem resolves any nodeid)
// or refused outright, never left to the kernel's cache.
TEST(FuseInit, ExportSupportOnlyWhenAsked)
{
	SessionOptions ex;
	ex.export_support = true;
	TestFs fs;
	FakeKernel k(fs, one_thread(ex));
	auto r = k.init();
	ASSERT_EQ(r.error, 0);
	auto o = r.as<fuse_init_out>();
	EXPECT_EQ(reply_flags(o), (kExpectedAlways & ~FUSE_NO_EXPORT_SUPPORT) | FUSE_EXPORT_SUPPORT);
}

TEST(FuseInit, OnlyWhatTheKernelOffers)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	// No FUSE_INIT_EXT: the flags2 bits the fake kernel puts in flags2 do
	// not count, and no flags2 comes back.
	const std::uint64_t offered = FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_WRITEBACK_CACHE |
				      FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES |
				      FUSE_CREATE_SUPP_GROUP | FUSE_PASSTHROUGH;
	auto r = k.init(7, 41, offered);
	ASSERT_EQ(r.error, 0);
	auto o = r.as<fuse_init_out>();
	EXPECT_EQ(o.flags, FUSE_ASYNC_READ | FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES);
	EXPECT_EQ(o.flags2, 0u);
	EXPECT_EQ(k.session().connection().kernel_flags,
		  offered & 0xffffffffull); // flags2 ignored without INIT_EXT
}

TEST(FuseInit, NoMaxPagesMeans32Pages)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	auto r = k.init(7, 41, ~0ull & ~FUSE_MAX_PAGES);
	ASSERT_EQ(r.error, 0);
	auto o = r.as<fuse_init_out>();
	EXPECT_EQ(reply_flags(o), kExpectedAlways & ~FUSE_MAX_PAGES);
	EXPECT_EQ(o.max_pages, 32u);
	EXPECT_EQ(o.max_write, 32u * 4096);
}

TEST(FuseInit, SizesAreTheSmallerOfOursAndTheKernels)
{
	SessionOptions opts = one_thread();
	opts.max_pages = 16;
	opts.max_write = 1u << 20; // bounded by 16 pages
	opts.max_readahead = 32 * 1024;
	{
		TestFs fs;
		FakeKernel k(fs, opts);
		auto o = k.init(7, 41, ~0ull, 128 * 1024).as<fuse_init_out>();
		EXPECT_EQ(o.max_readahead, 32u * 1024);
		EXPECT_EQ(o.max_pages, 16u);
		EXPECT_EQ(o.max_write, 16u * 4096);
	}
	{
		TestFs fs;
		FakeKernel k(fs, opts);
		auto o = k.init(7, 41, ~0ull, 16 * 1024).as<fuse_init_out>();
		EXPECT_EQ(o.max_readahead, 16u * 1024);
	}
	opts.max_write = 8192;
	{
		TestFs fs;
		FakeKernel k(fs, opts);
		auto o = k.init().as<fuse_init_out>();
		EXPECT_EQ(o.max_write, 8192u);
		EXPECT_EQ(fs.recorded().init_info.max_write, 8192u);
	}
}

TEST(FuseInit, Compat722Reply)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	// A 7.22 kernel sends the 16-byte fuse_init_in.
	fuse_init_in in{};
	in.major = 7;
	in.minor = 22;
	in.max_readahead = 65536;
	in.flags = static_cast<std::uint32_t>(~0u);
	auto r = k.call(FUSE_INIT, 0, {FakeKernel::arg(in).first(FUSE_COMPAT_INIT_IN_SIZE)});
	ASSERT_EQ(r.error, 0);
	ASSERT_EQ(r.body.size(), 24u);
	fuse_init_out o{};
	std::memcpy(&o, r.body.data(), 24);
	EXPECT_EQ(o.major, 7u);
	EXPECT_EQ(o.minor, 41u);
	EXPECT_EQ(o.max_readahead, 65536u);
	EXPECT_EQ(o.flags, static_cast<std::uint32_t>(kExpectedAlways));
	EXPECT_EQ(o.max_background, 0u);
	EXPECT_EQ(o.congestion_threshold, 0u);
	EXPECT_EQ(o.max_write, 1u << 20);
	EXPECT_EQ(fs.recorded().init_info.proto_minor, 22u);
	EXPECT_TRUE(initialized(k));
}

TEST(FuseInit, ShortInitIn730GetsFullReply)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	fuse_init_in in{};
	in.major = 7;
	in.minor = 30;
	in.max_readahead = 65536;
	in.flags = static_cast<std::uint32_t>(~0u);
	auto r = k.call(FUSE_INIT, 0, {FakeKernel::arg(in).first(FUSE_COMPAT_INIT_IN_SIZE)});
	ASSERT_EQ(r.error, 0);
	ASSERT_EQ(r.body.size(), 64u);
	auto o = r.as<fuse_init_out>();
	// No flags2 arrived: bits 32+ cannot be granted.
	EXPECT_EQ(reply_flags(o), kExpectedAlways & 0xffffffffull);
	EXPECT_EQ(o.flags2, 0u);
}

TEST(FuseInit, InitTooShortIsInvalid)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	fuse_init_in in{};
	in.major = 7;
	in.minor = 41;
	auto r = k.call(FUSE_INIT, 0, {FakeKernel::arg(in).first(12)});
	EXPECT_EQ(r.error, -EINVAL);
	EXPECT_FALSE(initialized(k));
	EXPECT_EQ(fs.calls("init"), 0);
}

TEST(FuseInit, Major6IsRefused)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	auto r = k.init(6, 41);
	EXPECT_EQ(r.error, -EPROTO);
	EXPECT_TRUE(r.body.empty());
	EXPECT_FALSE(initialized(k));
	EXPECT_EQ(fs.calls("init"), 0);
}

TEST(FuseInit, Major8GetsOurVersionOnly)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	auto r = k.init(8, 0);
	ASSERT_EQ(r.error, 0);
	ASSERT_EQ(r.body.size(), 64u);
	auto o = r.as<fuse_init_out>();
	EXPECT_EQ(o.major, 7u);
	EXPECT_EQ(o.minor, 41u);
	EXPECT_EQ(reply_flags(o), 0u);
	EXPECT_EQ(o.max_write, 0u);
	EXPECT_FALSE(initialized(k));
	EXPECT_EQ(fs.calls("init"), 0);
	// The kernel retries with 7.x.
	auto again = k.init(7, 41);
	ASSERT_EQ(again.error, 0);
	EXPECT_EQ(reply_flags(again.as<fuse_init_out>()), kExpectedAlways);
	EXPECT_TRUE(initialized(k));
	EXPECT_EQ(fs.calls("init"), 1);
}

TEST(FuseInit, Minor11IsRefusedMinor12Served)
{
	{
		TestFs fs;
		FakeKernel k(fs, one_thread());
		EXPECT_EQ(k.init(7, 11).error, -EPROTO);
		EXPECT_FALSE(initialized(k));
	}
	{
		TestFs fs;
		FakeKernel k(fs, one_thread());
		auto r = k.init(7, 12);
		EXPECT_EQ(r.error, 0);
		EXPECT_EQ(r.body.size(), 24u);
		EXPECT_TRUE(initialized(k));
	}
}

TEST(FuseInit, SecondInitIsRefused)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	auto r = k.init();
	EXPECT_EQ(r.error, -EPROTO);
	EXPECT_TRUE(r.body.empty());
	EXPECT_EQ(fs.calls("init"), 1);
	EXPECT_TRUE(initialized(k));
}

TEST(FuseInit, RequestsBeforeInitGetEio)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	auto name = FakeKernel::name("file");
	auto r = k.call(FUSE_LOOKUP, 1, {FakeKernel::arg(name)});
	EXPECT_EQ(r.error, -EIO);
	fuse_getattr_in g{};
	EXPECT_EQ(k.call(FUSE_GETATTR, 1, {FakeKernel::arg(g)}).error, -EIO);
	EXPECT_EQ(fs.calls("lookup"), 0);
	EXPECT_EQ(fs.calls("getattr"), 0);
	ASSERT_EQ(k.init().error, 0);
	EXPECT_EQ(k.call(FUSE_LOOKUP, 1, {FakeKernel::arg(name)}).error, 0);
	EXPECT_EQ(fs.calls("lookup"), 1);
}

TEST(FuseInit, FilesystemSeesConnectionAndMayRefuse)
{
	TestFs fs;
	fs.refuse_in_init(FUSE_DO_READDIRPLUS | FUSE_CREATE_SUPP_GROUP);
	SessionOptions opts = one_thread();
	opts.writeback_cache = true;
	FakeKernel k(fs, opts);
	const std::uint64_t offered = ~0ull & ~FUSE_SECURITY_CTX;
	auto r = k.init(7, 41, offered, 64 * 1024);
	ASSERT_EQ(r.error, 0);
	auto rec = fs.recorded();
	EXPECT_EQ(rec.init_info.proto_major, 7u);
	EXPECT_EQ(rec.init_info.proto_minor, 41u);
	EXPECT_EQ(rec.init_info.kernel_flags, offered);
	EXPECT_EQ(rec.init_info.flags, kExpectedAlways | FUSE_WRITEBACK_CACHE);
	EXPECT_EQ(rec.init_want, kExpectedAlways | FUSE_WRITEBACK_CACHE);
	EXPECT_EQ(rec.init_info.max_readahead, 64u * 1024);
	EXPECT_EQ(rec.init_info.max_pages, 256u);
	EXPECT_EQ(rec.init_info.max_write, 1u << 20);
	EXPECT_EQ(rec.init_info.time_gran, 1u);

	const std::uint64_t granted = (kExpectedAlways | FUSE_WRITEBACK_CACHE) &
				      ~(FUSE_DO_READDIRPLUS | FUSE_CREATE_SUPP_GROUP);
	auto o = r.as<fuse_init_out>();
	EXPECT_EQ(reply_flags(o), granted);
	EXPECT_EQ(o.flags2, static_cast<std::uint32_t>(FUSE_NO_EXPORT_SUPPORT >> 32));
	EXPECT_EQ(k.session().connection().flags, granted);
}

TEST(FuseInit, FilesystemCannotInventBits)
{
	// A filesystem that sets a bit the kernel did not offer gets it dropped.
	struct Greedy : TestFs {
		void init(const ConnectionInfo &info, std::uint64_t &want) override
		{
			TestFs::init(info, want);
			want |= FUSE_POSIX_LOCKS | FUSE_WRITEBACK_CACHE;
		}
	} fs;
	FakeKernel k(fs, one_thread());
	auto r = k.init(7, 41, ~0ull & ~FUSE_POSIX_LOCKS);
	ASSERT_EQ(r.error, 0);
	// WRITEBACK_CACHE was offered, so the filesystem may take it; POSIX_LOCKS was not.
	EXPECT_EQ(reply_flags(r.as<fuse_init_out>()), kExpectedAlways | FUSE_WRITEBACK_CACHE);
}

} // namespace
} // namespace atomfs::fuse::test
