// SPDX-License-Identifier: MIT
//
// Every opcode the library serves, given arguments that are one byte short,
// empty, or whose names have no NUL: each is answered EINVAL (never a crash,
// never a read past the request), counted as malformed, and the session
// keeps serving. The table below lists each opcode's fixed argument struct
// and how many names follow it, so a new opcode is one more row.
#include "fuse_test_fs.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

namespace atomfs::fuse::test
{
namespace
{

using namespace abi;

struct Layout {
	const char *name;
	std::uint32_t opcode;
	std::size_t fixed; // size of the fixed argument struct
	int names;	   // NUL-terminated names after it
};

// Kernels from 7.33 on send the 16-byte fuse_setxattr_in (SETXATTR_EXT,
// which FakeKernel::init() offers).
constexpr Layout kLayouts[] = {
	{"LOOKUP", FUSE_LOOKUP, 0, 1},
	{"GETATTR", FUSE_GETATTR, sizeof(fuse_getattr_in), 0},
	{"SETATTR", FUSE_SETATTR, sizeof(fuse_setattr_in), 0},
	{"SYMLINK", FUSE_SYMLINK, 0, 2},
	{"MKNOD", FUSE_MKNOD, sizeof(fuse_mknod_in), 1},
	{"MKDIR", FUSE_MKDIR, sizeof(fuse_mkdir_in), 1},
	{"UNLINK", FUSE_UNLINK, 0, 1},
	{"RMDIR", FUSE_RMDIR, 0, 1},
	{"RENAME", FUSE_RENAME, sizeof(fuse_rename_in), 2},
	{"LINK", FUSE_LINK, sizeof(fuse_link_in), 1},
	{"OPEN", FUSE_OPEN, sizeof(fuse_open_in), 0},
	{"READ", FUSE_READ, sizeof(fuse_read_in), 0},
	{"WRITE", FUSE_WRITE, sizeof(fuse_write_in), 0},
	{"RELEASE", FUSE_RELEASE, sizeof(fuse_release_in), 0},
	{"FSYNC", FUSE_FSYNC, sizeof(fuse_fsync_in), 0},
	{"SETXATTR", FUSE_SETXATTR, sizeof(fuse_setxattr_in), 1},
	{"GETXATTR", FUSE_GETXATTR, sizeof(fuse_getxattr_in), 1},
	{"LISTXATTR", FUSE_LISTXATTR, sizeof(fuse_getxattr_in), 0},
	{"REMOVEXATTR", FUSE_REMOVEXATTR, 0, 1},
	{"FLUSH", FUSE_FLUSH, sizeof(fuse_flush_in), 0},
	{"OPENDIR", FUSE_OPENDIR, sizeof(fuse_open_in), 0},
	{"READDIR", FUSE_READDIR, sizeof(fuse_read_in), 0},
	{"RELEASEDIR", FUSE_RELEASEDIR, sizeof(fuse_release_in), 0},
	{"FSYNCDIR", FUSE_FSYNCDIR, sizeof(fuse_fsync_in), 0},
	{"GETLK", FUSE_GETLK, sizeof(fuse_lk_in), 0},
	{"SETLK", FUSE_SETLK, sizeof(fuse_lk_in), 0},
	{"SETLKW", FUSE_SETLKW, sizeof(fuse_lk_in), 0},
	{"ACCESS", FUSE_ACCESS, sizeof(fuse_access_in), 0},
	{"CREATE", FUSE_CREATE, sizeof(fuse_create_in), 1},
	{"FALLOCATE", FUSE_FALLOCATE, sizeof(fuse_fallocate_in), 0},
	{"READDIRPLUS", FUSE_READDIRPLUS, sizeof(fuse_read_in), 0},
	{"RENAME2", FUSE_RENAME2, sizeof(fuse_rename2_in), 2},
	{"LSEEK", FUSE_LSEEK, sizeof(fuse_lseek_in), 0},
	{"COPY_FILE_RANGE", FUSE_COPY_FILE_RANGE, sizeof(fuse_copy_file_range_in), 0},
	{"TMPFILE", FUSE_TMPFILE, sizeof(fuse_create_in), 0},
	{"OPEN_ATOMIC", FUSE_OPEN_ATOMIC, sizeof(fuse_create_in), 1},
	{"INIT", FUSE_INIT, FUSE_COMPAT_INIT_IN_SIZE, 0},
};

class EveryOpcode : public ::testing::TestWithParam<Layout>
{
protected:
	void SetUp() override { ASSERT_EQ(k.init().error, 0); }

	std::int64_t malformed() { return json_number(k.session().stats_json(), "malformed"); }

	// Sends args for the row's opcode and expects EINVAL, one more
	// malformed request, and a session that still answers a GETATTR.
	void expect_einval(const Bytes &args, const char *what)
	{
		SCOPED_TRACE(std::string(GetParam().name) + ": " + what);
		const std::int64_t before = malformed();
		const std::uint64_t u = ++unique_ * 2;
		k.send_raw(frame(GetParam().opcode, u, kFile, args));
		auto r = reply_to(k, u);
		ASSERT_TRUE(r);
		EXPECT_EQ(r->error, -EINVAL);
		EXPECT_TRUE(r->body.empty());
		EXPECT_EQ(malformed(), before + 1);

		fuse_getattr_in g{};
		const std::uint64_t gu = ++unique_ * 2;
		k.send_raw(frame(FUSE_GETATTR, gu, kFile, bytes_of(g)));
		auto gr = reply_to(k, gu);
		ASSERT_TRUE(gr) << "the session stopped answering";
		EXPECT_EQ(gr->error, 0);
	}

	TestFs fs;
	FakeKernel k{fs, one_thread()};
	std::uint64_t unique_ = 1000;
};

// Each check runs on the rows it applies to (no skipped cases).
class WithFixedPart : public EveryOpcode {};
class WithArguments : public EveryOpcode {};
class WithName : public EveryOpcode {};

template <class Pred> std::vector<Layout> rows(Pred keep)
{
	std::vector<Layout> out;
	for (const Layout &l : kLayouts)
		if (keep(l))
			out.push_back(l);
	return out;
}

TEST_P(WithFixedPart, FixedPartOneByteShort)
{
	const Layout &l = GetParam();
	expect_einval(Bytes(l.fixed - 1, std::byte{0}), "fixed part one byte short");
}

TEST_P(WithArguments, EmptyArguments)
{
	expect_einval({}, "no arguments at all");
}

TEST_P(WithName, NameWithoutNul)
{
	const Layout &l = GetParam();
	// Every name but the last is well formed; the last runs to the end of
	// the request without its NUL.
	Bytes args(l.fixed, std::byte{0});
	for (int i = 0; i + 1 < l.names; i++)
		append(args, std::string_view("ok\0", 3));
	append(args, std::string_view("unterminated"));
	expect_einval(args, "last name without NUL");
}

TEST_P(WithName, EmptyName)
{
	const Layout &l = GetParam();
	Bytes args(l.fixed, std::byte{0});
	append(args, std::string_view("\0", 1));
	for (int i = 1; i < l.names; i++)
		append(args, std::string_view("ok\0", 3));
	expect_einval(args, "empty first name");
}

std::string row_name(const ::testing::TestParamInfo<Layout> &i) { return i.param.name; }

INSTANTIATE_TEST_SUITE_P(Fuse, WithFixedPart,
			 ::testing::ValuesIn(rows([](const Layout &l) { return l.fixed > 0; })),
			 row_name);
INSTANTIATE_TEST_SUITE_P(Fuse, WithArguments,
			 ::testing::ValuesIn(rows([](const Layout &l) {
				 return l.fixed > 0 || l.names > 0;
			 })),
			 row_name);
INSTANTIATE_TEST_SUITE_P(Fuse, WithName,
			 ::testing::ValuesIn(rows([](const Layout &l) { return l.names > 0; })),
			 row_name);

} // namespace
} // namespace atomfs::fuse::test
