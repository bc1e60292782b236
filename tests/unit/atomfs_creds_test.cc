// SPDX-License-Identifier: MIT
//
// fs/atomfs/creds.h: what a switch to the caller leaves the thread with.
// Needs root (it switches credentials); skipped otherwise. Each test runs
// on a thread of its own: the raw set*id/setgroups syscalls are per thread.
#include "creds.h"

#include <gtest/gtest.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <thread>
#include <vector>

namespace atomfs::fs {
namespace {

std::vector<gid_t> thread_groups()
{
	gid_t g[64];
	long n = ::syscall(atomfs::fs::sys::getgroups, 64, g);
	return n < 0 ? std::vector<gid_t>{static_cast<gid_t>(-1)} : std::vector<gid_t>(g, g + n);
}

fuse::Caller user()
{
	fuse::Caller c;
	c.uid = 65534;
	c.gid = 65534;
	c.pid = ::getpid();
	return c;
}

// A worker that starts in the server's groups (root's 0 and another) and
// registers a passthrough backing file (BackingCreds) before and after its
// first switch: the caller must hold none of the server's groups, the
// second time too (BackingCreds once put back the list it had read before
// the switch dropped it, and every later caller then held group 0).
TEST(AtomfsCreds, CallerNeverHoldsTheServersGroups)
{
	if (::geteuid() != 0)
		GTEST_SKIP() << "needs root";
	std::vector<std::vector<gid_t>> seen;
	std::thread t([&] {
		const gid_t server[2] = {0, 4242};
		ASSERT_EQ(::syscall(atomfs::fs::sys::setgroups, 2, server), 0);
		for (int i = 0; i < 2; i++) {
			{
				BackingCreds around_the_ioctl;
			}
			ScopedCreds c(user(), true);
			seen.push_back(thread_groups());
		}
		// The group FUSE names for a create is the caller's only one.
		fuse::Caller u = user();
		u.supp_gid = 777;
		{
			ScopedCreds c(u, true);
			seen.push_back(thread_groups());
		}
		seen.push_back(thread_groups()); // and is gone afterwards
	});
	t.join();
	ASSERT_EQ(seen.size(), 4u);
	EXPECT_EQ(seen[0], std::vector<gid_t>{});
	EXPECT_EQ(seen[1], std::vector<gid_t>{}) << "BackingCreds gave the server's groups back";
	EXPECT_EQ(seen[2], std::vector<gid_t>{777});
	EXPECT_EQ(seen[3], std::vector<gid_t>{});
}

// A root caller needs no switch, and a thread that switched is root again.
TEST(AtomfsCreds, RootCallerAndRestore)
{
	if (::geteuid() != 0)
		GTEST_SKIP() << "needs root";
	uid_t during = 1, after = 1;
	std::thread t([&] {
		{
			ScopedCreds c(user(), true);
			during = static_cast<uid_t>(::syscall(atomfs::fs::sys::setfsuid, -1));
		}
		{
			ScopedCreds c(fuse::Caller{}, true); // uid 0, gid 0
			after = static_cast<uid_t>(::syscall(atomfs::fs::sys::setfsuid, -1));
		}
	});
	t.join();
	EXPECT_EQ(during, 65534u);
	EXPECT_EQ(after, 0u);
}

} // namespace
} // namespace atomfs::fs
