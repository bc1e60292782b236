// SPDX-License-Identifier: MIT
//
// Every opcode the library serves, given arguments that are one byte short,
// empty, or whose names have no NUL: each is answered EINVAL (never a crash,
// never a read past the request), counted as malformed, and the session
// keeps serving. The rows come from the library's opcode list (each
// opcode's fixed argument struct and how many names follow it).
#include "fuse_test_fs.h"

#include "session/opcodes.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

namespace atomfs::fuse::test
{
namespace
{

using namespace abi;

// The rows: every answered opcode of the library's one list (opcodes.h)
// whose arguments can be malformed.
using Layout = OpcodeInfo;

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
	for (const Layout &l : all_opcodes())
		if (l.handler && !l.no_reply && (l.fixed || l.names) && keep(l))
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

std::string row_name(const ::testing::TestParamInfo<Layout> &i)
{
	return std::string(i.param.name);
}

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
