// SPDX-License-Identifier: MIT
//
// atomfs's init() through the fake kernel: with default_permissions
// (kernel_checks, implied by allow_other) a kernel that does not grant
// FUSE_POSIX_ACL would judge access from the mode alone and ignore the
// source's ACLs, so the mount is ended (on_refused) instead.
#include "passthrough.h"

#include <atomfs/fuse/testing/fake_kernel.h>

#include <gtest/gtest.h>

#include <unistd.h>

#include <string>

namespace atomfs::fs {
namespace {

struct Outcome {
	bool refused;
	int calls;
	bool acl_in_reply;
};

Outcome init_with(bool kernel_checks, std::uint64_t offered)
{
	char tmpl[] = "/tmp/atomfs-unit-init-XXXXXX";
	EXPECT_NE(::mkdtemp(tmpl), nullptr);
	Config cfg;
	cfg.source = tmpl;
	cfg.kernel_checks = kernel_checks;
	int calls = 0;
	cfg.on_refused = [&calls] { calls++; };
	std::string err;
	auto fs = AtomFs::create(cfg, err);
	EXPECT_TRUE(fs) << err;
	fuse::SessionOptions opts;
	opts.threads = 1;
	opts.posix_acl = kernel_checks;
	Outcome o{};
	{
		fuse::FakeKernel k(*fs, opts);
		auto r = k.init(7, 41, offered);
		EXPECT_EQ(r.error, 0);
		// fuse_init_out: major, minor, max_readahead, flags.
		o.acl_in_reply = r.as<std::uint32_t>(12) & fuse::kCapPosixAcl;
	}
	o.refused = fs->refused();
	o.calls = calls;
	fs.reset();
	::rmdir(tmpl);
	return o;
}

TEST(AtomfsInit, PosixAclNotGrantedEndsAKernelCheckedMount)
{
	const std::uint64_t no_acl = ~0ull & ~fuse::kCapPosixAcl;
	Outcome o = init_with(true, no_acl);
	EXPECT_TRUE(o.refused);
	EXPECT_EQ(o.calls, 1);
	EXPECT_FALSE(o.acl_in_reply);
}

TEST(AtomfsInit, PosixAclGrantedOrNotNeededMounts)
{
	Outcome granted = init_with(true, ~0ull);
	EXPECT_FALSE(granted.refused);
	EXPECT_EQ(granted.calls, 0);
	EXPECT_TRUE(granted.acl_in_reply);
	// Without kernel checks the backing filesystem judges ACLs itself.
	Outcome unchecked = init_with(false, ~0ull & ~fuse::kCapPosixAcl);
	EXPECT_FALSE(unchecked.refused);
	EXPECT_EQ(unchecked.calls, 0);
}

} // namespace
} // namespace atomfs::fs
