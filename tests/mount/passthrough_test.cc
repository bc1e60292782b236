// SPDX-License-Identifier: MIT
//
// Kernel passthrough when the kernel refuses to register a backing file:
// the failure stays with that open, which is served through the server;
// every other open keeps its passthrough. The refusal here is real: a file
// on overlayfs is one filesystem deep, and FUSE_DEV_IOC_BACKING_OPEN
// answers ELOOP for backing files at the connection's max_stack_depth (1).
#include "harness.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace atomfs::mounttest {
namespace {

class PassthroughTest : public MountTest {
protected:
	void SetUp() override
	{
		if (::geteuid() != 0)
			GTEST_SKIP() << "passthrough needs root";
		MountTest::SetUp();
		if (HasFatalFailure() || IsSkipped())
			return;
		for (const char *d : {"/lower", "/upper", "/work"})
			ASSERT_EQ(::mkdir((base + d).c_str(), 0755), 0);
		write_file(base + "/lower/deep", "on overlayfs");
		ASSERT_EQ(::mkdir((src + "/ovl").c_str(), 0755), 0);
		std::string opts = "lowerdir=" + base + "/lower,upperdir=" + base +
				   "/upper,workdir=" + base + "/work";
		if (::mount("overlay", (src + "/ovl").c_str(), "overlay", 0, opts.c_str()) != 0)
			GTEST_SKIP() << "no overlayfs: " << std::strerror(errno);
		overlay = true;
	}

	void TearDown() override
	{
		if (server) {
			EXPECT_EQ(server->stop(), 0) << server->log();
			server.reset();
		}
		if (overlay)
			::umount2((src + "/ovl").c_str(), MNT_DETACH);
		MountTest::TearDown();
	}

	// READ requests the server saw while `fn` ran.
	template <class F> long reads_during(F fn)
	{
		std::string before = server->stats();
		fn();
		return Server::requests(server->stats(), "READ") -
		       Server::requests(before, "READ");
	}

	static std::string pread_all(int fd)
	{
		char buf[64];
		ssize_t n = ::pread(fd, buf, sizeof(buf), 0);
		return n < 0 ? std::string("error: ") + std::strerror(errno) : std::string(buf, n);
	}

	bool overlay = false;
};

// Closes the test's fds however it ends (an open fd would keep the mount busy).
struct Fds {
	std::vector<int> fds;
	int add(int fd)
	{
		if (fd >= 0)
			fds.push_back(fd);
		return fd;
	}
	~Fds()
	{
		for (int fd : fds)
			::close(fd);
	}
};

TEST_P(PassthroughTest, RefusedRegistrationStaysWithItsOpen)
{
	write_file(src + "/plain", "on the source");
	Fds fds;
	int plain = fds.add(::open((mnt + "/plain").c_str(), O_RDONLY));
	ASSERT_GE(plain, 0);
	// Passthrough is in effect: reads never reach the server.
	EXPECT_EQ(reads_during([&] { EXPECT_EQ(pread_all(plain), "on the source"); }), 0)
		<< server->log();

	// The kernel refuses the overlayfs file as a backing file: served by
	// the server instead.
	int deep = fds.add(::open((mnt + "/ovl/deep").c_str(), O_RDONLY));
	ASSERT_GE(deep, 0) << std::strerror(errno);
	EXPECT_GE(reads_during([&] { EXPECT_EQ(pread_all(deep), "on overlayfs"); }), 1);
	// Its second open too (the kernel keeps the inode in cached mode).
	int deep2 = ::open((mnt + "/ovl/deep").c_str(), O_RDONLY | O_DIRECT);
	ASSERT_GE(deep2, 0) << std::strerror(errno);
	::close(deep2);

	// A file already open with a backing file opens again, with it.
	int plain2 = fds.add(::open((mnt + "/plain").c_str(), O_RDWR));
	ASSERT_GE(plain2, 0) << "reopening a passthrough file: " << std::strerror(errno);
	EXPECT_EQ(reads_during([&] { EXPECT_EQ(pread_all(plain2), "on the source"); }), 0);
	// And a file opened for the first time after the refusal gets one too.
	write_file(src + "/later", "later");
	int later = fds.add(::open((mnt + "/later").c_str(), O_RDONLY));
	ASSERT_GE(later, 0) << std::strerror(errno);
	EXPECT_EQ(reads_during([&] { EXPECT_EQ(pread_all(later), "later"); }), 0);
}

INSTANTIATE_TEST_SUITE_P(Host, PassthroughTest, ::testing::Values(false), mode_name);

// A backing id outlives the inode's last open file (registering costs an
// ioctl and a credential switch per open otherwise): later opens reuse it,
// a set-ID file gives it up and is served by the server, and the kernel's
// FORGET of the inode closes it.
class BackingReuseTest : public MountTest {
protected:
	void SetUp() override
	{
		if (::geteuid() != 0)
			GTEST_SKIP() << "passthrough needs root";
		MountTest::SetUp();
	}
	long stat_of(const char *field) { return Server::number(server->stats(), field); }
	long reads_of_one_open(const std::string &path, const std::string &want)
	{
		long before = Server::requests(server->stats(), "READ");
		int fd = ::open(path.c_str(), O_RDONLY);
		EXPECT_GE(fd, 0) << path << ": " << std::strerror(errno);
		char buf[64];
		ssize_t n = fd < 0 ? -1 : ::pread(fd, buf, sizeof(buf), 0);
		EXPECT_EQ(n < 0 ? std::string("error") : std::string(buf, n), want);
		if (fd >= 0)
			::close(fd);
		return Server::requests(server->stats(), "READ") - before;
	}
};

TEST_P(BackingReuseTest, IdleBackingIdServesLaterOpensUntilForget)
{
	write_file(src + "/f", "content");
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(reads_of_one_open(mnt + "/f", "content"), 0) << "open " << i << " not passed through";
	EXPECT_EQ(stat_of("backing_registrations"), 1) << server->stats();
	EXPECT_EQ(stat_of("idle_backing_ids"), 1) << server->stats();

	// Set-ID now (changed in the source): no passthrough for it, the idle id goes.
	ASSERT_EQ(::chmod((src + "/f").c_str(), 04644), 0);
	EXPECT_GE(reads_of_one_open(mnt + "/f", "content"), 1) << "set-ID file passed through";
	EXPECT_EQ(stat_of("idle_backing_ids"), 0) << server->stats();
	ASSERT_EQ(::chmod((src + "/f").c_str(), 0644), 0);

	// Another file: registered once, idle after its close, closed when the
	// kernel forgets the inode (unlinked through the mount: it drops it).
	write_file(src + "/g", "other");
	EXPECT_EQ(reads_of_one_open(mnt + "/g", "other"), 0);
	EXPECT_EQ(stat_of("backing_registrations"), 2) << server->stats();
	EXPECT_EQ(stat_of("idle_backing_ids"), 1) << server->stats();
	ASSERT_EQ(::unlink((mnt + "/g").c_str()), 0);
	long idle = -1;
	for (int i = 0; i < 200 && idle != 0; i++) { // FORGET is asynchronous
		idle = stat_of("idle_backing_ids");
		if (idle != 0)
			::usleep(50 * 1000);
	}
	EXPECT_EQ(idle, 0) << server->stats();
}

INSTANTIATE_TEST_SUITE_P(Host, BackingReuseTest, ::testing::Values(false, true), mode_name);

} // namespace
} // namespace atomfs::mounttest
