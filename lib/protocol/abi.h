// SPDX-License-Identifier: MIT
//
// The FUSE kernel ABI, as this library speaks it: protocol 7.41 (Linux 6.12)
// plus FUSE_OPEN_ATOMIC / FOPEN_FILE_CREATED from our kernel series, and the
// few 7.42-7.45 bits we name. Written from the protocol description, not
// copied from <linux/fuse.h>, so that a new opcode does not wait for the
// system's headers. Every struct's size is checked against the ABI below.
//
// Names keep the kernel's spelling so that reading this next to fs/fuse is
// easy; they live in atomfs::fuse::abi and are constants, not macros.
#pragma once

#include <cstddef>
#include <cstdint>

namespace atomfs::fuse::abi {

inline constexpr std::uint32_t kKernelVersion = 7;
inline constexpr std::uint32_t kKernelMinorVersion = 41;
// The oldest minor we serve: 7.12 (Linux 2.6.31) fixed the layouts of
// fuse_create_in/fuse_mknod_in (umask) that every handler relies on.
inline constexpr std::uint32_t kOldestMinorVersion = 12;
inline constexpr std::uint64_t kRootId = 1;
// The kernel refuses a read(2) of /dev/fuse with a smaller buffer.
inline constexpr std::size_t kMinReadBuffer = 8192;

// Opcodes (fuse_in_header.opcode).
enum Opcode : std::uint32_t {
	FUSE_LOOKUP = 1,
	FUSE_FORGET = 2, // no reply
	FUSE_GETATTR = 3,
	FUSE_SETATTR = 4,
	FUSE_READLINK = 5,
	FUSE_SYMLINK = 6,
	FUSE_MKNOD = 8,
	FUSE_MKDIR = 9,
	FUSE_UNLINK = 10,
	FUSE_RMDIR = 11,
	FUSE_RENAME = 12,
	FUSE_LINK = 13,
	FUSE_OPEN = 14,
	FUSE_READ = 15,
	FUSE_WRITE = 16,
	FUSE_STATFS = 17,
	FUSE_RELEASE = 18,
	FUSE_FSYNC = 20,
	FUSE_SETXATTR = 21,
	FUSE_GETXATTR = 22,
	FUSE_LISTXATTR = 23,
	FUSE_REMOVEXATTR = 24,
	FUSE_FLUSH = 25,
	FUSE_INIT = 26,
	FUSE_OPENDIR = 27,
	FUSE_READDIR = 28,
	FUSE_RELEASEDIR = 29,
	FUSE_FSYNCDIR = 30,
	FUSE_GETLK = 31,
	FUSE_SETLK = 32,
	FUSE_SETLKW = 33,
	FUSE_ACCESS = 34,
	FUSE_CREATE = 35,
	FUSE_INTERRUPT = 36,
	FUSE_BMAP = 37,
	FUSE_DESTROY = 38,
	FUSE_IOCTL = 39,
	FUSE_POLL = 40,
	FUSE_NOTIFY_REPLY = 41,
	FUSE_BATCH_FORGET = 42, // no reply
	FUSE_FALLOCATE = 43,
	FUSE_READDIRPLUS = 44,
	FUSE_RENAME2 = 45,
	FUSE_LSEEK = 46,
	FUSE_COPY_FILE_RANGE = 47,
	FUSE_SETUPMAPPING = 48,
	FUSE_REMOVEMAPPING = 49,
	FUSE_SYNCFS = 50,
	FUSE_TMPFILE = 51,
	FUSE_STATX = 52,
	FUSE_OPEN_ATOMIC = 60, // our series: lookup (+ create) + open in one request
	CUSE_INIT = 4096,
};

// Notification codes (fuse_out_header.error when unique == 0).
enum NotifyCode : std::int32_t {
	FUSE_NOTIFY_POLL = 1,
	FUSE_NOTIFY_INVAL_INODE = 2,
	FUSE_NOTIFY_INVAL_ENTRY = 3,
	FUSE_NOTIFY_STORE = 4,
	FUSE_NOTIFY_RETRIEVE = 5,
	FUSE_NOTIFY_DELETE = 6,
	FUSE_NOTIFY_RESEND = 7,
};

// INIT capability flags; bits 32-63 travel in flags2.
inline constexpr std::uint64_t FUSE_ASYNC_READ = 1ull << 0;
inline constexpr std::uint64_t FUSE_POSIX_LOCKS = 1ull << 1;
inline constexpr std::uint64_t FUSE_FILE_OPS = 1ull << 2;
inline constexpr std::uint64_t FUSE_ATOMIC_O_TRUNC = 1ull << 3;
inline constexpr std::uint64_t FUSE_EXPORT_SUPPORT = 1ull << 4;
inline constexpr std::uint64_t FUSE_BIG_WRITES = 1ull << 5;
inline constexpr std::uint64_t FUSE_DONT_MASK = 1ull << 6;
inline constexpr std::uint64_t FUSE_SPLICE_WRITE = 1ull << 7;
inline constexpr std::uint64_t FUSE_SPLICE_MOVE = 1ull << 8;
inline constexpr std::uint64_t FUSE_SPLICE_READ = 1ull << 9;
inline constexpr std::uint64_t FUSE_FLOCK_LOCKS = 1ull << 10;
inline constexpr std::uint64_t FUSE_HAS_IOCTL_DIR = 1ull << 11;
inline constexpr std::uint64_t FUSE_AUTO_INVAL_DATA = 1ull << 12;
inline constexpr std::uint64_t FUSE_DO_READDIRPLUS = 1ull << 13;
inline constexpr std::uint64_t FUSE_READDIRPLUS_AUTO = 1ull << 14;
inline constexpr std::uint64_t FUSE_ASYNC_DIO = 1ull << 15;
inline constexpr std::uint64_t FUSE_WRITEBACK_CACHE = 1ull << 16;
inline constexpr std::uint64_t FUSE_NO_OPEN_SUPPORT = 1ull << 17;
inline constexpr std::uint64_t FUSE_PARALLEL_DIROPS = 1ull << 18;
inline constexpr std::uint64_t FUSE_HANDLE_KILLPRIV = 1ull << 19;
inline constexpr std::uint64_t FUSE_POSIX_ACL = 1ull << 20;
inline constexpr std::uint64_t FUSE_ABORT_ERROR = 1ull << 21;
inline constexpr std::uint64_t FUSE_MAX_PAGES = 1ull << 22;
inline constexpr std::uint64_t FUSE_CACHE_SYMLINKS = 1ull << 23;
inline constexpr std::uint64_t FUSE_NO_OPENDIR_SUPPORT = 1ull << 24;
inline constexpr std::uint64_t FUSE_EXPLICIT_INVAL_DATA = 1ull << 25;
inline constexpr std::uint64_t FUSE_MAP_ALIGNMENT = 1ull << 26;
inline constexpr std::uint64_t FUSE_SUBMOUNTS = 1ull << 27;
inline constexpr std::uint64_t FUSE_HANDLE_KILLPRIV_V2 = 1ull << 28;
inline constexpr std::uint64_t FUSE_SETXATTR_EXT = 1ull << 29;
inline constexpr std::uint64_t FUSE_INIT_EXT = 1ull << 30;
inline constexpr std::uint64_t FUSE_INIT_RESERVED = 1ull << 31;
inline constexpr std::uint64_t FUSE_SECURITY_CTX = 1ull << 32;
inline constexpr std::uint64_t FUSE_HAS_INODE_DAX = 1ull << 33;
inline constexpr std::uint64_t FUSE_CREATE_SUPP_GROUP = 1ull << 34;
inline constexpr std::uint64_t FUSE_HAS_EXPIRE_ONLY = 1ull << 35;
inline constexpr std::uint64_t FUSE_DIRECT_IO_ALLOW_MMAP = 1ull << 36;
inline constexpr std::uint64_t FUSE_PASSTHROUGH = 1ull << 37;
inline constexpr std::uint64_t FUSE_NO_EXPORT_SUPPORT = 1ull << 38;
inline constexpr std::uint64_t FUSE_HAS_RESEND = 1ull << 39;
inline constexpr std::uint64_t FUSE_ALLOW_IDMAP = 1ull << 40;
inline constexpr std::uint64_t FUSE_OVER_IO_URING = 1ull << 41; // 7.42

// fuse_open_out.open_flags
inline constexpr std::uint32_t FOPEN_DIRECT_IO = 1u << 0;
inline constexpr std::uint32_t FOPEN_KEEP_CACHE = 1u << 1;
inline constexpr std::uint32_t FOPEN_NONSEEKABLE = 1u << 2;
inline constexpr std::uint32_t FOPEN_CACHE_DIR = 1u << 3;
inline constexpr std::uint32_t FOPEN_STREAM = 1u << 4;
inline constexpr std::uint32_t FOPEN_NOFLUSH = 1u << 5;
inline constexpr std::uint32_t FOPEN_PARALLEL_DIRECT_WRITES = 1u << 6;
inline constexpr std::uint32_t FOPEN_PASSTHROUGH = 1u << 7;
inline constexpr std::uint32_t FOPEN_FILE_CREATED = 1u << 8; // our series: OPEN_ATOMIC created it

// fuse_setattr_in.valid
inline constexpr std::uint32_t FATTR_MODE = 1u << 0;
inline constexpr std::uint32_t FATTR_UID = 1u << 1;
inline constexpr std::uint32_t FATTR_GID = 1u << 2;
inline constexpr std::uint32_t FATTR_SIZE = 1u << 3;
inline constexpr std::uint32_t FATTR_ATIME = 1u << 4;
inline constexpr std::uint32_t FATTR_MTIME = 1u << 5;
inline constexpr std::uint32_t FATTR_FH = 1u << 6;
inline constexpr std::uint32_t FATTR_ATIME_NOW = 1u << 7;
inline constexpr std::uint32_t FATTR_MTIME_NOW = 1u << 8;
inline constexpr std::uint32_t FATTR_LOCKOWNER = 1u << 9;
inline constexpr std::uint32_t FATTR_CTIME = 1u << 10;
inline constexpr std::uint32_t FATTR_KILL_SUIDGID = 1u << 11;

// Request flag fields.
inline constexpr std::uint32_t FUSE_GETATTR_FH = 1u << 0;
inline constexpr std::uint32_t FUSE_RELEASE_FLUSH = 1u << 0;
inline constexpr std::uint32_t FUSE_RELEASE_FLOCK_UNLOCK = 1u << 1;
inline constexpr std::uint32_t FUSE_WRITE_CACHE = 1u << 0;
inline constexpr std::uint32_t FUSE_WRITE_LOCKOWNER = 1u << 1;
inline constexpr std::uint32_t FUSE_WRITE_KILL_SUIDGID = 1u << 2;
inline constexpr std::uint32_t FUSE_READ_LOCKOWNER = 1u << 1;
inline constexpr std::uint32_t FUSE_LK_FLOCK = 1u << 0;
inline constexpr std::uint32_t FUSE_FSYNC_FDATASYNC = 1u << 0;
inline constexpr std::uint32_t FUSE_OPEN_KILL_SUIDGID = 1u << 0;
inline constexpr std::uint32_t FUSE_SETXATTR_ACL_KILL_SGID = 1u << 0;
inline constexpr std::uint32_t FUSE_EXPIRE_ONLY = 1u << 0; // notify_inval_entry flags

// Ioctls on /dev/fuse (type 229).
inline constexpr unsigned long FUSE_DEV_IOC_CLONE = 0x8004e500;	    // _IOR(229, 0, u32)
inline constexpr unsigned long FUSE_DEV_IOC_BACKING_OPEN = 0x4010e501;  // _IOW(229, 1, fuse_backing_map)
inline constexpr unsigned long FUSE_DEV_IOC_BACKING_CLOSE = 0x4004e502; // _IOW(229, 2, u32)

struct fuse_attr {
	std::uint64_t ino;
	std::uint64_t size;
	std::uint64_t blocks;
	std::uint64_t atime;
	std::uint64_t mtime;
	std::uint64_t ctime;
	std::uint32_t atimensec;
	std::uint32_t mtimensec;
	std::uint32_t ctimensec;
	std::uint32_t mode;
	std::uint32_t nlink;
	std::uint32_t uid;
	std::uint32_t gid;
	std::uint32_t rdev;
	std::uint32_t blksize;
	std::uint32_t flags;
};

struct fuse_sx_time {
	std::int64_t tv_sec;
	std::uint32_t tv_nsec;
	std::int32_t reserved;
};

struct fuse_statx {
	std::uint32_t mask;
	std::uint32_t blksize;
	std::uint64_t attributes;
	std::uint32_t nlink;
	std::uint32_t uid;
	std::uint32_t gid;
	std::uint16_t mode;
	std::uint16_t spare0;
	std::uint64_t ino;
	std::uint64_t size;
	std::uint64_t blocks;
	std::uint64_t attributes_mask;
	fuse_sx_time atime;
	fuse_sx_time btime;
	fuse_sx_time ctime;
	fuse_sx_time mtime;
	std::uint32_t rdev_major;
	std::uint32_t rdev_minor;
	std::uint32_t dev_major;
	std::uint32_t dev_minor;
	std::uint64_t spare2[14];
};

struct fuse_kstatfs {
	std::uint64_t blocks;
	std::uint64_t bfree;
	std::uint64_t bavail;
	std::uint64_t files;
	std::uint64_t ffree;
	std::uint32_t bsize;
	std::uint32_t namelen;
	std::uint32_t frsize;
	std::uint32_t padding;
	std::uint32_t spare[6];
};

struct fuse_file_lock {
	std::uint64_t start;
	std::uint64_t end;
	std::uint32_t type;
	std::uint32_t pid;
};

struct fuse_in_header {
	std::uint32_t len;
	std::uint32_t opcode;
	std::uint64_t unique;
	std::uint64_t nodeid;
	std::uint32_t uid;
	std::uint32_t gid;
	std::uint32_t pid;
	std::uint16_t total_extlen; // in units of 8 bytes
	std::uint16_t padding;
};

struct fuse_out_header {
	std::uint32_t len;
	std::int32_t error; // 0 or -errno; a notify code when unique == 0
	std::uint64_t unique;
};

struct fuse_entry_out {
	std::uint64_t nodeid;
	std::uint64_t generation;
	std::uint64_t entry_valid;
	std::uint64_t attr_valid;
	std::uint32_t entry_valid_nsec;
	std::uint32_t attr_valid_nsec;
	fuse_attr attr;
};

struct fuse_forget_in {
	std::uint64_t nlookup;
};

struct fuse_forget_one {
	std::uint64_t nodeid;
	std::uint64_t nlookup;
};

struct fuse_batch_forget_in {
	std::uint32_t count;
	std::uint32_t dummy;
};

struct fuse_getattr_in {
	std::uint32_t getattr_flags;
	std::uint32_t dummy;
	std::uint64_t fh;
};

struct fuse_attr_out {
	std::uint64_t attr_valid;
	std::uint32_t attr_valid_nsec;
	std::uint32_t dummy;
	fuse_attr attr;
};

struct fuse_statx_in {
	std::uint32_t getattr_flags;
	std::uint32_t reserved;
	std::uint64_t fh;
	std::uint32_t sx_flags;
	std::uint32_t sx_mask;
};

struct fuse_statx_out {
	std::uint64_t attr_valid;
	std::uint32_t attr_valid_nsec;
	std::uint32_t flags;
	std::uint64_t spare[2];
	fuse_statx stat;
};

struct fuse_mknod_in {
	std::uint32_t mode;
	std::uint32_t rdev;
	std::uint32_t umask;
	std::uint32_t padding;
};

struct fuse_mkdir_in {
	std::uint32_t mode;
	std::uint32_t umask;
};

struct fuse_rename_in {
	std::uint64_t newdir;
};

struct fuse_rename2_in {
	std::uint64_t newdir;
	std::uint32_t flags;
	std::uint32_t padding;
};

struct fuse_link_in {
	std::uint64_t oldnodeid;
};

struct fuse_setattr_in {
	std::uint32_t valid;
	std::uint32_t padding;
	std::uint64_t fh;
	std::uint64_t size;
	std::uint64_t lock_owner;
	std::uint64_t atime;
	std::uint64_t mtime;
	std::uint64_t ctime;
	std::uint32_t atimensec;
	std::uint32_t mtimensec;
	std::uint32_t ctimensec;
	std::uint32_t mode;
	std::uint32_t unused4;
	std::uint32_t uid;
	std::uint32_t gid;
	std::uint32_t unused5;
};

struct fuse_open_in {
	std::uint32_t flags;
	std::uint32_t open_flags; // FUSE_OPEN_KILL_SUIDGID
};

// Also the body of FUSE_OPEN_ATOMIC and FUSE_TMPFILE.
struct fuse_create_in {
	std::uint32_t flags;
	std::uint32_t mode;
	std::uint32_t umask;
	std::uint32_t open_flags;
};

struct fuse_open_out {
	std::uint64_t fh;
	std::uint32_t open_flags;
	std::int32_t backing_id;
};

struct fuse_release_in {
	std::uint64_t fh;
	std::uint32_t flags;
	std::uint32_t release_flags;
	std::uint64_t lock_owner;
};

struct fuse_flush_in {
	std::uint64_t fh;
	std::uint32_t unused;
	std::uint32_t padding;
	std::uint64_t lock_owner;
};

struct fuse_read_in {
	std::uint64_t fh;
	std::uint64_t offset;
	std::uint32_t size;
	std::uint32_t read_flags;
	std::uint64_t lock_owner;
	std::uint32_t flags;
	std::uint32_t padding;
};

struct fuse_write_in {
	std::uint64_t fh;
	std::uint64_t offset;
	std::uint32_t size;
	std::uint32_t write_flags;
	std::uint64_t lock_owner;
	std::uint32_t flags;
	std::uint32_t padding;
};

struct fuse_write_out {
	std::uint32_t size;
	std::uint32_t padding;
};

struct fuse_statfs_out {
	fuse_kstatfs st;
};

struct fuse_fsync_in {
	std::uint64_t fh;
	std::uint32_t fsync_flags;
	std::uint32_t padding;
};

// Since 7.33 with FUSE_SETXATTR_EXT; 8 bytes (size, flags) before.
struct fuse_setxattr_in {
	std::uint32_t size;
	std::uint32_t flags;
	std::uint32_t setxattr_flags;
	std::uint32_t padding;
};
inline constexpr std::size_t FUSE_COMPAT_SETXATTR_IN_SIZE = 8;

struct fuse_getxattr_in {
	std::uint32_t size;
	std::uint32_t padding;
};

struct fuse_getxattr_out {
	std::uint32_t size;
	std::uint32_t padding;
};

struct fuse_lk_in {
	std::uint64_t fh;
	std::uint64_t owner;
	fuse_file_lock lk;
	std::uint32_t lk_flags;
	std::uint32_t padding;
};

struct fuse_lk_out {
	fuse_file_lock lk;
};

struct fuse_access_in {
	std::uint32_t mask;
	std::uint32_t padding;
};

struct fuse_init_in {
	std::uint32_t major;
	std::uint32_t minor;
	std::uint32_t max_readahead;
	std::uint32_t flags;
	std::uint32_t flags2;
	std::uint32_t unused[11];
};
// What kernels before 7.36 send (major, minor, max_readahead, flags).
inline constexpr std::size_t FUSE_COMPAT_INIT_IN_SIZE = 16;

struct fuse_init_out {
	std::uint32_t major;
	std::uint32_t minor;
	std::uint32_t max_readahead;
	std::uint32_t flags;
	std::uint16_t max_background;
	std::uint16_t congestion_threshold;
	std::uint32_t max_write;
	std::uint32_t time_gran;
	std::uint16_t max_pages;
	std::uint16_t map_alignment;
	std::uint32_t flags2;
	std::uint32_t max_stack_depth;
	std::uint32_t unused[6];
};

struct fuse_interrupt_in {
	std::uint64_t unique;
};

struct fuse_bmap_in {
	std::uint64_t block;
	std::uint32_t blocksize;
	std::uint32_t padding;
};

struct fuse_bmap_out {
	std::uint64_t block;
};

struct fuse_ioctl_in {
	std::uint64_t fh;
	std::uint32_t flags;
	std::uint32_t cmd;
	std::uint64_t arg;
	std::uint32_t in_size;
	std::uint32_t out_size;
};

struct fuse_poll_in {
	std::uint64_t fh;
	std::uint64_t kh;
	std::uint32_t flags;
	std::uint32_t events;
};

struct fuse_fallocate_in {
	std::uint64_t fh;
	std::uint64_t offset;
	std::uint64_t length;
	std::uint32_t mode;
	std::uint32_t padding;
};

struct fuse_lseek_in {
	std::uint64_t fh;
	std::uint64_t offset;
	std::uint32_t whence;
	std::uint32_t padding;
};

struct fuse_lseek_out {
	std::uint64_t offset;
};

struct fuse_copy_file_range_in {
	std::uint64_t fh_in;
	std::uint64_t off_in;
	std::uint64_t nodeid_out;
	std::uint64_t fh_out;
	std::uint64_t off_out;
	std::uint64_t len;
	std::uint64_t flags;
};

struct fuse_syncfs_in {
	std::uint64_t padding;
};

struct fuse_dirent {
	std::uint64_t ino;
	std::uint64_t off;
	std::uint32_t namelen;
	std::uint32_t type;
	// char name[namelen], then padding to 8 bytes
};

struct fuse_direntplus {
	fuse_entry_out entry_out;
	fuse_dirent dirent;
};

struct fuse_notify_inval_inode_out {
	std::uint64_t ino;
	std::int64_t off;
	std::int64_t len;
};

struct fuse_notify_inval_entry_out {
	std::uint64_t parent;
	std::uint32_t namelen;
	std::uint32_t flags;
};

struct fuse_backing_map {
	std::int32_t fd;
	std::uint32_t flags;
	std::uint64_t padding;
};

// A request extension header (after the arguments, total_extlen * 8 bytes).
struct fuse_ext_header {
	std::uint32_t size; // header included, a multiple of 8
	std::uint32_t type;
};
// Extension types: 1..31 are security contexts (FUSE_SECURITY_CTX).
inline constexpr std::uint32_t FUSE_MAX_NR_SECCTX = 31;
inline constexpr std::uint32_t FUSE_EXT_GROUPS = 32;
// FUSE_EXT_GROUPS body: nr_groups, then that many gids.
struct fuse_supp_groups {
	std::uint32_t nr_groups;
};

constexpr std::size_t dirent_size(std::size_t namelen)
{
	return (sizeof(fuse_dirent) + namelen + 7) & ~std::size_t{7};
}

constexpr std::size_t direntplus_size(std::size_t namelen)
{
	return (sizeof(fuse_direntplus) + namelen + 7) & ~std::size_t{7};
}

// The ABI's sizes, so that a typo in a field cannot go unnoticed.
static_assert(sizeof(fuse_attr) == 88);
static_assert(sizeof(fuse_sx_time) == 16);
static_assert(sizeof(fuse_statx) == 256);
static_assert(sizeof(fuse_kstatfs) == 80);
static_assert(sizeof(fuse_file_lock) == 24);
static_assert(sizeof(fuse_in_header) == 40);
static_assert(sizeof(fuse_out_header) == 16);
static_assert(sizeof(fuse_entry_out) == 128);
static_assert(sizeof(fuse_forget_in) == 8);
static_assert(sizeof(fuse_forget_one) == 16);
static_assert(sizeof(fuse_batch_forget_in) == 8);
static_assert(sizeof(fuse_getattr_in) == 16);
static_assert(sizeof(fuse_attr_out) == 104);
static_assert(sizeof(fuse_statx_in) == 24);
static_assert(sizeof(fuse_statx_out) == 288);
static_assert(sizeof(fuse_mknod_in) == 16);
static_assert(sizeof(fuse_mkdir_in) == 8);
static_assert(sizeof(fuse_rename_in) == 8);
static_assert(sizeof(fuse_rename2_in) == 16);
static_assert(sizeof(fuse_link_in) == 8);
static_assert(sizeof(fuse_setattr_in) == 88);
static_assert(sizeof(fuse_open_in) == 8);
static_assert(sizeof(fuse_create_in) == 16);
static_assert(sizeof(fuse_open_out) == 16);
static_assert(sizeof(fuse_release_in) == 24);
static_assert(sizeof(fuse_flush_in) == 24);
static_assert(sizeof(fuse_read_in) == 40);
static_assert(sizeof(fuse_write_in) == 40);
static_assert(sizeof(fuse_write_out) == 8);
static_assert(sizeof(fuse_statfs_out) == 80);
static_assert(sizeof(fuse_fsync_in) == 16);
static_assert(sizeof(fuse_setxattr_in) == 16);
static_assert(sizeof(fuse_getxattr_in) == 8);
static_assert(sizeof(fuse_getxattr_out) == 8);
static_assert(sizeof(fuse_lk_in) == 48);
static_assert(sizeof(fuse_lk_out) == 24);
static_assert(sizeof(fuse_access_in) == 8);
static_assert(sizeof(fuse_init_in) == 64);
static_assert(sizeof(fuse_init_out) == 64);
static_assert(sizeof(fuse_interrupt_in) == 8);
static_assert(sizeof(fuse_bmap_in) == 16);
static_assert(sizeof(fuse_bmap_out) == 8);
static_assert(sizeof(fuse_ioctl_in) == 32);
static_assert(sizeof(fuse_poll_in) == 24);
static_assert(sizeof(fuse_fallocate_in) == 32);
static_assert(sizeof(fuse_lseek_in) == 24);
static_assert(sizeof(fuse_lseek_out) == 8);
static_assert(sizeof(fuse_copy_file_range_in) == 56);
static_assert(sizeof(fuse_syncfs_in) == 8);
static_assert(sizeof(fuse_dirent) == 24);
static_assert(sizeof(fuse_direntplus) == 152);
static_assert(sizeof(fuse_notify_inval_inode_out) == 24);
static_assert(sizeof(fuse_notify_inval_entry_out) == 16);
static_assert(sizeof(fuse_backing_map) == 16);
static_assert(sizeof(fuse_ext_header) == 8);
static_assert(sizeof(fuse_supp_groups) == 4);

} // namespace atomfs::fuse::abi
