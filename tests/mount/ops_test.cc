// SPDX-License-Identifier: MIT
//
// Each operation through the mount compared with the same operation on a
// native scratch directory: return value, errno, stat fields, bytes, xattrs.
#include "harness.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

namespace atomfs::mounttest {
namespace {

// What a syscall did: its value and errno when it failed.
struct Res {
	long ret;
	int err;
	bool operator==(const Res &) const = default;
};
std::ostream &operator<<(std::ostream &os, const Res &r)
{
	return os << "{ret " << r.ret << ", errno " << (r.err ? std::strerror(r.err) : "0")
		  << "}";
}
Res res(long r)
{
	return {r < 0 ? -1 : r, r < 0 ? errno : 0};
}

// The same operation on the native directory and on the mount.
#define EXPECT_SAME(expr_of_dir)                                                           \
	do {                                                                               \
		auto _f = [&](const std::string &dir) { return res(expr_of_dir); };        \
		Res _n = _f(native), _m = _f(mnt);                                         \
		EXPECT_EQ(_m, _n) << #expr_of_dir;                                         \
	} while (0)

void expect_same_stat(const std::string &a, const std::string &b, bool times = false)
{
	struct stat x, y;
	ASSERT_EQ(::lstat(a.c_str(), &x), 0) << a;
	ASSERT_EQ(::lstat(b.c_str(), &y), 0) << b;
	EXPECT_EQ(x.st_mode, y.st_mode) << b;
	EXPECT_EQ(x.st_uid, y.st_uid) << b;
	EXPECT_EQ(x.st_gid, y.st_gid) << b;
	EXPECT_EQ(x.st_nlink, y.st_nlink) << b;
	EXPECT_EQ(x.st_rdev, y.st_rdev) << b;
	if (!S_ISDIR(x.st_mode))
		EXPECT_EQ(x.st_size, y.st_size) << b;
	if (times) {
		EXPECT_EQ(x.st_mtim.tv_sec, y.st_mtim.tv_sec) << b;
		EXPECT_EQ(x.st_mtim.tv_nsec, y.st_mtim.tv_nsec) << b;
		EXPECT_EQ(x.st_atim.tv_sec, y.st_atim.tv_sec) << b;
	}
}

using OpsTest = MountTest;

TEST_P(OpsTest, CreateWriteReadMatchesSourceBytes)
{
	std::string data(100000, 'x');
	for (std::size_t i = 0; i < data.size(); i++)
		data[i] = char('a' + i % 26);
	for (auto dir : {native, mnt}) {
		int fd = ::open((dir + "/f").c_str(), O_CREAT | O_EXCL | O_RDWR, 0640);
		ASSERT_GE(fd, 0) << dir << ": " << std::strerror(errno);
		ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), (ssize_t)data.size());
		std::string back(data.size(), 0);
		ASSERT_EQ(::pread(fd, back.data(), back.size(), 0), (ssize_t)back.size());
		EXPECT_EQ(back, data);
		ASSERT_EQ(::close(fd), 0);
	}
	EXPECT_EQ(read_file(src + "/f"), data);
	EXPECT_EQ(read_file(mnt + "/f"), data);
	expect_same_stat(native + "/f", mnt + "/f");
	expect_same_stat(src + "/f", mnt + "/f");
	EXPECT_SAME(::open((dir + "/f").c_str(), O_CREAT | O_EXCL | O_RDWR, 0640));
	// O_TRUNC empties the file.
	EXPECT_SAME(::close(::open((dir + "/f").c_str(), O_WRONLY | O_TRUNC)));
	expect_same_stat(native + "/f", mnt + "/f");
	EXPECT_SAME(::open((dir + "/missing").c_str(), O_RDONLY));
	EXPECT_SAME(::open((dir + "/f/x").c_str(), O_RDONLY));
	EXPECT_SAME(::open((dir + "/f").c_str(), O_RDONLY | O_DIRECTORY));
}

TEST_P(OpsTest, AppendAndUmask)
{
	mode_t old = ::umask(027);
	for (auto dir : {native, mnt}) {
		int fd = ::open((dir + "/a").c_str(), O_CREAT | O_WRONLY | O_APPEND, 0777);
		ASSERT_GE(fd, 0);
		ASSERT_EQ(::write(fd, "one", 3), 3);
		ASSERT_EQ(::close(fd), 0);
		fd = ::open((dir + "/a").c_str(), O_WRONLY | O_APPEND);
		ASSERT_GE(fd, 0);
		ASSERT_EQ(::pwrite(fd, "two", 3, 0), 3); // O_APPEND wins over the offset
		ASSERT_EQ(::close(fd), 0);
		ASSERT_EQ(::mkdir((dir + "/d").c_str(), 0777), 0);
	}
	::umask(old);
	EXPECT_EQ(read_file(mnt + "/a"), read_file(native + "/a"));
	expect_same_stat(native + "/a", mnt + "/a");
	expect_same_stat(native + "/d", mnt + "/d");
}

TEST_P(OpsTest, DirectoryErrorsMatchNative)
{
	for (auto dir : {native, mnt}) {
		ASSERT_EQ(::mkdir((dir + "/d").c_str(), 0750), 0);
		write_file(dir + "/d/f", "x");
		write_file(dir + "/file", "y");
	}
	EXPECT_SAME(::mkdir((dir + "/d").c_str(), 0755));
	EXPECT_SAME(::rmdir((dir + "/d").c_str()));
	EXPECT_SAME(::unlink((dir + "/d").c_str()));
	EXPECT_SAME(::rmdir((dir + "/file").c_str()));
	EXPECT_SAME(::unlink((dir + "/nope").c_str()));
	EXPECT_SAME(::mkdir((dir + "/file/sub").c_str(), 0755));
	EXPECT_SAME(::unlink((dir + "/d/f").c_str()));
	EXPECT_SAME(::rmdir((dir + "/d").c_str()));
	EXPECT_SAME(::access((dir + "/d").c_str(), F_OK));
	EXPECT_EQ(list_dir(mnt), list_dir(native));
	EXPECT_EQ(list_dir(src), list_dir(native));
}

TEST_P(OpsTest, SymlinkReadlinkNoFollow)
{
	for (auto dir : {native, mnt}) {
		ASSERT_EQ(::symlink("../outside/target", (dir + "/dangling").c_str()), 0);
		write_file(dir + "/t", "target");
		ASSERT_EQ(::symlink("t", (dir + "/l").c_str()), 0);
	}
	char a[256] = {}, b[256] = {};
	EXPECT_EQ(::readlink((native + "/dangling").c_str(), a, sizeof(a)),
		  ::readlink((mnt + "/dangling").c_str(), b, sizeof(b)));
	EXPECT_STREQ(a, b);
	expect_same_stat(native + "/l", mnt + "/l");
	EXPECT_SAME(::open((dir + "/l").c_str(), O_RDONLY | O_NOFOLLOW));
	EXPECT_SAME(::open((dir + "/dangling").c_str(), O_RDONLY));
	EXPECT_SAME(::open((dir + "/dangling").c_str(), O_RDONLY | O_NOFOLLOW));
	EXPECT_SAME(::open((dir + "/l").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600));
	EXPECT_SAME(::symlink("x", (dir + "/l").c_str()));
	EXPECT_EQ(read_file(mnt + "/l"), "target");
	EXPECT_SAME(::readlink((dir + "/t").c_str(), a, sizeof(a)));
}

TEST_P(OpsTest, MknodFifoSocketDevice)
{
	for (auto dir : {native, mnt}) {
		ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0640), 0);
		ASSERT_EQ(::mknod((dir + "/sock").c_str(), S_IFSOCK | 0600, 0), 0);
	}
	// Device nodes need CAP_MKNOD: an ordinary user's mount refuses them
	// as natively.
	EXPECT_SAME(::mknod((dir + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)));
	EXPECT_SAME(::mknod((dir + "/blk").c_str(), S_IFBLK | 0600, makedev(7, 0)));
	const bool devices = ::access((native + "/null").c_str(), F_OK) == 0;
	EXPECT_EQ(devices, !as_user());
	for (auto n : {"/fifo", "/sock", "/null", "/blk"})
		if (devices || n[1] == 'f' || n[1] == 's')
			expect_same_stat(native + n, mnt + n);
	// The kernel opens special files itself: a FIFO does not block the server.
	int fd = ::open((mnt + "/fifo").c_str(), O_RDONLY | O_NONBLOCK);
	ASSERT_GE(fd, 0) << std::strerror(errno);
	::close(fd);
	// A device node works unless the mount is nodev.
	struct statvfs sv;
	ASSERT_EQ(::statvfs(mnt.c_str(), &sv), 0);
	if (devices) {
		fd = ::open((mnt + "/null").c_str(), O_WRONLY);
		if (sv.f_flag & ST_NODEV) {
			EXPECT_EQ(fd, -1);
			EXPECT_EQ(errno, EACCES);
		} else {
			ASSERT_GE(fd, 0) << std::strerror(errno);
			EXPECT_EQ(::write(fd, "zz", 2), 2);
			::close(fd);
		}
	}
	EXPECT_SAME(::mknod((dir + "/fifo").c_str(), S_IFIFO | 0600, 0));
}

TEST_P(OpsTest, RenameFlags)
{
	for (auto dir : {native, mnt}) {
		write_file(dir + "/a", "AAA");
		write_file(dir + "/b", "BB");
		ASSERT_EQ(::mkdir((dir + "/d").c_str(), 0755), 0);
	}
	EXPECT_SAME(::renameat2(AT_FDCWD, (dir + "/a").c_str(), AT_FDCWD, (dir + "/b").c_str(),
				RENAME_NOREPLACE));
	EXPECT_SAME(::renameat2(AT_FDCWD, (dir + "/a").c_str(), AT_FDCWD, (dir + "/b").c_str(),
				RENAME_EXCHANGE));
	EXPECT_EQ(read_file(mnt + "/a"), "BB");
	EXPECT_EQ(read_file(src + "/b"), "AAA");
	EXPECT_SAME(::renameat2(AT_FDCWD, (dir + "/a").c_str(), AT_FDCWD, (dir + "/d/x").c_str(),
				0));
	EXPECT_SAME(::rename((dir + "/b").c_str(), (dir + "/d/x").c_str()));
	EXPECT_SAME(::rename((dir + "/d").c_str(), (dir + "/d/x").c_str()));
	EXPECT_SAME(::rename((dir + "/nope").c_str(), (dir + "/z").c_str()));
	EXPECT_EQ(read_file(mnt + "/d/x"), "AAA");
	EXPECT_EQ(list_dir(mnt + "/d"), list_dir(native + "/d"));
	EXPECT_EQ(list_dir(mnt), list_dir(native));
}

TEST_P(OpsTest, HardLinkCountsAndUnlinkedOpenFile)
{
	for (auto dir : {native, mnt})
		write_file(dir + "/f", "data");
	EXPECT_SAME(::link((dir + "/f").c_str(), (dir + "/g").c_str()));
	expect_same_stat(native + "/f", mnt + "/f");
	EXPECT_SAME(::link((dir + "/f").c_str(), (dir + "/g").c_str()));
	// An open file keeps working after its last name is gone.
	int fd = ::open((mnt + "/f").c_str(), O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(::unlink((mnt + "/f").c_str()), 0);
	ASSERT_EQ(::unlink((mnt + "/g").c_str()), 0);
	struct stat st;
	ASSERT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
	EXPECT_EQ(st.st_nlink, 0u);
	EXPECT_EQ(::pwrite(fd, "more", 4, 4), 4);
	char buf[8] = {};
	EXPECT_EQ(::pread(fd, buf, 8, 0), 8);
	EXPECT_EQ(std::string(buf, 8), "datamore");
	::close(fd);
	EXPECT_TRUE(list_dir(src).empty());
}

TEST_P(OpsTest, SetattrChmodChownTruncateUtimens)
{
	for (auto dir : {native, mnt})
		write_file(dir + "/f", "0123456789");
	EXPECT_SAME(::chmod((dir + "/f").c_str(), 04751));
	EXPECT_SAME(::chown((dir + "/f").c_str(), 1234, 5678));
	EXPECT_SAME(::chown((dir + "/f").c_str(), -1, 42));
	EXPECT_SAME(::truncate((dir + "/f").c_str(), 3));
	EXPECT_SAME(::truncate((dir + "/f").c_str(), 1 << 20));
	struct timespec ts[2] = {{1000000, 5}, {2000000, 7}};
	EXPECT_SAME(::utimensat(AT_FDCWD, (dir + "/f").c_str(), ts, 0));
	expect_same_stat(native + "/f", mnt + "/f", true);
	struct timespec omit[2] = {{0, UTIME_OMIT}, {3000000, 9}};
	EXPECT_SAME(::utimensat(AT_FDCWD, (dir + "/f").c_str(), omit, 0));
	expect_same_stat(native + "/f", mnt + "/f", true);
	struct stat st;
	ASSERT_EQ(::stat((src + "/f").c_str(), &st), 0);
	EXPECT_EQ(st.st_atim.tv_sec, 1000000);
	EXPECT_EQ(st.st_mtim.tv_sec, 3000000);
	time_t before = ::time(nullptr);
	struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
	ASSERT_EQ(::utimensat(AT_FDCWD, (mnt + "/f").c_str(), now, 0), 0);
	ASSERT_EQ(::stat((src + "/f").c_str(), &st), 0);
	EXPECT_GE(st.st_atim.tv_sec, before);
	EXPECT_EQ(st.st_mtim.tv_sec, 3000000);
	// By file handle.
	for (auto dir : {native, mnt}) {
		int fd = ::open((dir + "/f").c_str(), O_RDWR);
		ASSERT_GE(fd, 0);
		EXPECT_EQ(::ftruncate(fd, 5), 0);
		EXPECT_EQ(::fchmod(fd, 0600), 0);
		EXPECT_EQ(::futimens(fd, ts), 0);
		::close(fd);
	}
	expect_same_stat(native + "/f", mnt + "/f", true);
	// Symlink times without following.
	for (auto dir : {native, mnt})
		ASSERT_EQ(::symlink("f", (dir + "/l").c_str()), 0);
	EXPECT_SAME(::utimensat(AT_FDCWD, (dir + "/l").c_str(), ts, AT_SYMLINK_NOFOLLOW));
	expect_same_stat(native + "/l", mnt + "/l", true);
	expect_same_stat(native + "/f", mnt + "/f", true);
}

TEST_P(OpsTest, Xattrs)
{
	for (auto dir : {native, mnt})
		write_file(dir + "/f", "x");
	EXPECT_SAME(::setxattr((dir + "/f").c_str(), "user.one", "value1", 6, 0));
	EXPECT_SAME(::setxattr((dir + "/f").c_str(), "user.two", "v2", 2, XATTR_CREATE));
	EXPECT_SAME(::setxattr((dir + "/f").c_str(), "user.two", "v2", 2, XATTR_CREATE));
	EXPECT_SAME(::setxattr((dir + "/f").c_str(), "user.new", "v", 1, XATTR_REPLACE));
	char a[256], b[256];
	EXPECT_SAME(::getxattr((dir + "/f").c_str(), "user.one", nullptr, 0));
	EXPECT_SAME(::getxattr((dir + "/f").c_str(), "user.one", a, 2));
	EXPECT_SAME(::getxattr((dir + "/f").c_str(), "user.none", a, sizeof(a)));
	ssize_t na = ::getxattr((native + "/f").c_str(), "user.one", a, sizeof(a));
	ssize_t nb = ::getxattr((mnt + "/f").c_str(), "user.one", b, sizeof(b));
	ASSERT_EQ(na, nb);
	EXPECT_EQ(std::string(a, na), std::string(b, nb));
	EXPECT_SAME(::listxattr((dir + "/f").c_str(), nullptr, 0));
	na = ::listxattr((native + "/f").c_str(), a, sizeof(a));
	nb = ::listxattr((mnt + "/f").c_str(), b, sizeof(b));
	ASSERT_EQ(na, nb);
	EXPECT_EQ(std::string(a, na), std::string(b, nb));
	EXPECT_SAME(::removexattr((dir + "/f").c_str(), "user.one"));
	EXPECT_SAME(::removexattr((dir + "/f").c_str(), "user.one"));
	nb = ::getxattr((src + "/f").c_str(), "user.two", b, sizeof(b));
	EXPECT_EQ(std::string(b, nb > 0 ? nb : 0), "v2");
}

TEST_P(OpsTest, FallocateCopyRangeSeekDataHole)
{
	for (auto dir : {native, mnt}) {
		int fd = ::open((dir + "/f").c_str(), O_CREAT | O_RDWR, 0644);
		ASSERT_GE(fd, 0);
		ASSERT_EQ(::fallocate(fd, 0, 0, 8192), 0) << dir << std::strerror(errno);
		ASSERT_EQ(::pwrite(fd, "hello", 5, 1 << 20), 5);
		ASSERT_EQ(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), 0);
		ASSERT_EQ(::fsync(fd), 0);
		int out = ::open((dir + "/g").c_str(), O_CREAT | O_RDWR, 0644);
		ASSERT_GE(out, 0);
		loff_t in_off = 1 << 20, out_off = 0;
		EXPECT_EQ(::copy_file_range(fd, &in_off, out, &out_off, 5, 0), 5);
		::close(out);
		::close(fd);
	}
	EXPECT_EQ(read_file(mnt + "/g"), "hello");
	expect_same_stat(native + "/f", mnt + "/f");
	for (int whence : {SEEK_DATA, SEEK_HOLE}) {
		for (off_t off : {0L, 4096L, 8192L, 1L << 20}) {
			int a = ::open((native + "/f").c_str(), O_RDONLY);
			int b = ::open((mnt + "/f").c_str(), O_RDONLY);
			EXPECT_EQ(res(::lseek(b, off, whence)), res(::lseek(a, off, whence)))
				<< "whence " << whence << " off " << off;
			::close(a);
			::close(b);
		}
	}
}

TEST_P(OpsTest, FlockConflictsLikeNative)
{
	for (auto dir : {native, mnt})
		write_file(dir + "/f", "x");
	for (auto dir : {native, mnt}) {
		int a = ::open((dir + "/f").c_str(), O_RDWR);
		int b = ::open((dir + "/f").c_str(), O_RDWR);
		ASSERT_GE(a, 0);
		ASSERT_GE(b, 0);
		EXPECT_EQ(::flock(a, LOCK_EX | LOCK_NB), 0) << dir;
		EXPECT_EQ(::flock(b, LOCK_EX | LOCK_NB), -1) << dir;
		EXPECT_EQ(errno, EWOULDBLOCK) << dir;
		if (dir == mnt) { // the lock is the source file's (flock_test.cc)
			int c = ::open((src + "/f").c_str(), O_RDWR);
			ASSERT_GE(c, 0);
			EXPECT_EQ(::flock(c, LOCK_SH | LOCK_NB), -1);
			EXPECT_EQ(errno, EWOULDBLOCK);
			::close(c);
		}
		EXPECT_EQ(::flock(a, LOCK_UN), 0);
		EXPECT_EQ(::flock(b, LOCK_SH | LOCK_NB), 0) << dir;
		::close(a);
		::close(b);
	}
}

TEST_P(OpsTest, TmpfileLinkedIn)
{
	for (auto dir : {native, mnt}) {
		int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR, 0600);
		ASSERT_GE(fd, 0) << dir << ": " << std::strerror(errno);
		ASSERT_EQ(::write(fd, "tmp", 3), 3);
		EXPECT_TRUE(list_dir(dir).empty());
		char proc[64];
		std::snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		ASSERT_EQ(::linkat(AT_FDCWD, proc, AT_FDCWD, (dir + "/t").c_str(),
				   AT_SYMLINK_FOLLOW),
			  0)
			<< std::strerror(errno);
		::close(fd);
	}
	EXPECT_EQ(read_file(src + "/t"), "tmp");
	expect_same_stat(native + "/t", mnt + "/t");
}

TEST_P(OpsTest, StatfsAndAccess)
{
	struct statvfs a, b;
	ASSERT_EQ(::statvfs(src.c_str(), &a), 0);
	ASSERT_EQ(::statvfs(mnt.c_str(), &b), 0);
	EXPECT_EQ(a.f_bsize, b.f_bsize);
	EXPECT_EQ(a.f_blocks, b.f_blocks);
	EXPECT_EQ(a.f_files, b.f_files);
	for (auto dir : {native, mnt})
		write_file(dir + "/f", "x", 0640);
	EXPECT_SAME(::access((dir + "/f").c_str(), R_OK | W_OK));
	EXPECT_SAME(::access((dir + "/f").c_str(), X_OK));
	EXPECT_SAME(::access((dir + "/nope").c_str(), F_OK));
}

TEST_P(OpsTest, VisibleBothWays)
{
	write_file(mnt + "/from-mount", "m");
	EXPECT_EQ(read_file(src + "/from-mount"), "m");
	write_file(src + "/from-source", "s");
	EXPECT_EQ(read_file(mnt + "/from-source"), "s");
	ASSERT_EQ(::mkdir((src + "/dir").c_str(), 0700), 0);
	write_file(src + "/dir/inner", "i");
	EXPECT_EQ(read_file(mnt + "/dir/inner"), "i");
	EXPECT_EQ(list_dir(mnt), list_dir(src));
}

// Mount with allow_other so that CreatorOwnsFiles' non-root caller gets in.
class AllowOtherOpsTest : public MountTest {
protected:
	Server::Options server_options() override
	{
		auto o = MountTest::server_options();
		o.args.push_back("-oallow_other");
		return o;
	}
};

TEST_P(AllowOtherOpsTest, OtherUserCreatesOwnFilesAndIsRefusedLikeNative)
{
	if (as_user())
		GTEST_SKIP() << "allow_other and other identities need root";
	for (auto dir : {native, src})
		ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
	for (auto dir : {native, mnt})
		write_file(dir + "/private", "secret", 0600);
	for (auto dir : {native, mnt}) {
		pid_t pid = ::fork();
		if (pid == 0) {
			if (::setgid(4321) || ::setuid(1234))
				::_exit(10);
			::umask(022);
			int fd = ::open((dir + "/mine").c_str(), O_CREAT | O_WRONLY, 0666);
			if (fd < 0)
				::_exit(11);
			::close(fd);
			if (::mkdir((dir + "/mydir").c_str(), 0777))
				::_exit(12);
			// Refused as natively: no reading root's 0600 file.
			if (::open((dir + "/private").c_str(), O_RDONLY) >= 0 || errno != EACCES)
				::_exit(13);
			::_exit(0);
		}
		int status;
		::waitpid(pid, &status, 0);
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(WEXITSTATUS(status), 0) << dir;
	}
	for (auto n : {"/mine", "/mydir"}) {
		expect_same_stat(native + n, mnt + n);
		struct stat st;
		ASSERT_EQ(::lstat((src + n).c_str(), &st), 0);
		EXPECT_EQ(st.st_uid, 1234u) << n;
		EXPECT_EQ(st.st_gid, 4321u) << n;
	}
}

// POSIX record locks (fcntl): another process conflicts, F_GETLK names the
// holder, unlocking frees the range, as on the native directory. (The
// kernel keeps them: the library does not ask for FUSE_POSIX_LOCKS.)
TEST_P(OpsTest, PosixLocksConflictLikeNative)
{
	for (auto dir : {native, mnt}) {
		write_file(dir + "/f", "0123456789");
		int fd = ::open((dir + "/f").c_str(), O_RDWR);
		ASSERT_GE(fd, 0);
		struct flock lk {};
		lk.l_type = F_WRLCK;
		lk.l_whence = SEEK_SET;
		lk.l_start = 2;
		lk.l_len = 4;
		ASSERT_EQ(::fcntl(fd, F_SETLK, &lk), 0) << dir;
		pid_t child = ::fork();
		if (child == 0) {
			int cfd = ::open((dir + "/f").c_str(), O_RDWR);
			struct flock want {};
			want.l_type = F_WRLCK;
			want.l_whence = SEEK_SET;
			want.l_start = 0;
			want.l_len = 3;
			if (::fcntl(cfd, F_SETLK, &want) != -1 || (errno != EAGAIN && errno != EACCES))
				::_exit(1);
			struct flock probe = want;
			if (::fcntl(cfd, F_GETLK, &probe) != 0 || probe.l_type != F_WRLCK ||
			    probe.l_pid != ::getppid() || probe.l_start != 2 || probe.l_len != 4)
				::_exit(2);
			want.l_start = 6; // beyond the held range: free
			if (::fcntl(cfd, F_SETLK, &want) != 0)
				::_exit(3);
			::_exit(0);
		}
		int status = 0;
		ASSERT_EQ(::waitpid(child, &status, 0), child);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			<< dir << ": child step " << WEXITSTATUS(status);
		lk.l_type = F_UNLCK;
		EXPECT_EQ(::fcntl(fd, F_SETLK, &lk), 0);
		::close(fd);
	}
}

// fsync and fdatasync of a file, fsync of a directory: success, and the
// data is in the source.
TEST_P(OpsTest, FsyncFileAndDirectory)
{
	int fd = ::open((mnt + "/f").c_str(), O_WRONLY | O_CREAT, 0644);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(::write(fd, "synced", 6), 6);
	EXPECT_EQ(::fsync(fd), 0);
	EXPECT_EQ(::fdatasync(fd), 0);
	::close(fd);
	int dfd = ::open(mnt.c_str(), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(dfd, 0);
	EXPECT_EQ(::fsync(dfd), 0);
	::close(dfd);
	EXPECT_EQ(read_file(src + "/f"), "synced");
}

INSTANTIATE_TEST_SUITE_P(Modes, OpsTest, ::testing::Values(false, true), mode_name);
INSTANTIATE_TEST_SUITE_P(Modes, AllowOtherOpsTest, ::testing::Values(false, true), mode_name);

} // namespace
} // namespace atomfs::mounttest
