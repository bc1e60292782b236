// SPDX-License-Identifier: MIT
/// @file
/// The interface a filesystem implements to be served by atomfs::fuse.
///
/// Model: inode-based, like libfuse's low-level API and go-fuse's raw layer.
/// Each request is handled synchronously on the worker thread that read it,
/// unless the handler defers it (pending_reply.h); a handler returns 0 on
/// success or a positive errno, and fills its out-parameters only on success. Every method has a default that answers
/// ENOSYS, except open_atomic(), whose default is built from lookup + open +
/// create (+ opendir), so that every filesystem gets one-request opens for
/// free when the kernel speaks FUSE_OPEN_ATOMIC.
///
/// Lookup counting: every successful reply that carries an Entry (lookup,
/// mknod, mkdir, symlink, link, create, open_atomic, and each entry of
/// readdirplus) counts one lookup of entry.nodeid, which the kernel later
/// returns through forget(). The filesystem increments its count when it
/// produces the Entry; the library calls forget() if the reply cannot be
/// delivered (for example the request was interrupted and the kernel is gone).
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <atomfs/fuse/pending_reply.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

/// The FUSE server library: Filesystem (what a filesystem implements),
/// Session (mount and serve it), the stats and the fake kernel for tests.
namespace atomfs::fuse {

/// The kernel's name for an inode (fuse_in_header.nodeid).
using NodeId = std::uint64_t;
inline constexpr NodeId kRootNodeId = 1; ///< the mount's root directory

/// A positive errno, or 0 for success.
using Errno = int;

class Session;

/// Who is asking, taken from fuse_in_header.
struct Caller {
	uid_t uid = 0; ///< the calling process's fsuid
	gid_t gid = 0; ///< its fsgid
	pid_t pid = 0; ///< its thread group id (0 for requests the kernel makes itself)
	/// Creating requests (CREATE, MKNOD, MKDIR, SYMLINK, TMPFILE,
	/// OPEN_ATOMIC): the parent directory's group when the caller is a
	/// member through a supplementary group (FUSE_CREATE_SUPP_GROUP), so that
	/// a server acting as the caller can create in group-writable and
	/// set-group-ID directories. -1 when absent.
	gid_t supp_gid = static_cast<gid_t>(-1);
};

/// What every handler gets besides its arguments.
struct Request {
	std::uint32_t opcode = 0; ///< FUSE opcode (FUSE_LOOKUP, ...)
	std::uint64_t unique = 0; ///< the kernel's id of this request
	NodeId nodeid = 0;        ///< the node the request is about
	Caller caller;            ///< who made the system call
	Session *session = nullptr; ///< for notifications and backing fds
	/// The request's flag word that the operation's own arguments do not
	/// carry: fuse_open_in/fuse_create_in.open_flags for OPEN, OPENDIR,
	/// CREATE, OPEN_ATOMIC and TMPFILE (kOpenKillSuidgid), and
	/// fuse_setxattr_in.setxattr_flags for SETXATTR (kSetxattrAclKillSgid).
	std::uint32_t fuse_flags = 0;
	/// The method runs again through PendingReply::resume()
	/// (pending_reply.h).
	bool resumed = false;
	std::shared_ptr<void> resume_state; ///< what resume() was given
};

/// Duties the kernel hands over with FUSE_HANDLE_KILLPRIV_V2 and
/// FUSE_POSIX_ACL (values of the FUSE ABI). The kernel sets them only when
/// the caller lacks CAP_FSETID (or, for the ACL one, is neither in the
/// file's group nor capable), so the filesystem can apply them as the
/// backing filesystem would for that caller.
/// Request::fuse_flags of an open with O_TRUNC: clear set-user-ID and
/// set-group-ID as the truncation would.
inline constexpr std::uint32_t kOpenKillSuidgid = 1u << 0;
/// Request::fuse_flags of SETXATTR(system.posix_acl_access): clear
/// set-group-ID as the ACL's mode update would.
inline constexpr std::uint32_t kSetxattrAclKillSgid = 1u << 0;
/// write()'s write_flags: the write must clear set-user-ID/set-group-ID.
inline constexpr std::uint32_t kWriteKillSuidgid = 1u << 2;
/// SetAttr::valid of a truncate or chown that must clear them.
inline constexpr std::uint32_t kSetattrKillSuidgid = 1u << 11;

/// OpenFile::open_flags (FOPEN_* of the FUSE ABI).
inline constexpr std::uint32_t kFopenDirectIo = 1u << 0, ///< no page cache for this open
	kFopenKeepCache = 1u << 1,            ///< keep the page cache from earlier opens
	kFopenCacheDir = 1u << 3,             ///< cache the directory's listing
	kFopenNoflush = 1u << 5,              ///< no FLUSH on close
	kFopenParallelDirectWrites = 1u << 6, ///< direct writes need no inode lock
	kFopenPassthrough = 1u << 7,          ///< I/O goes to OpenFile::backing_id
	kFopenFileCreated = 1u << 8;          ///< set by the library from AtomicOpen::created
/// SetAttr::valid (FATTR_*).
inline constexpr std::uint32_t kSetattrMode = 1u << 0, ///< set st_mode (permission bits)
	kSetattrUid = 1u << 1,       ///< set st_uid
	kSetattrGid = 1u << 2,       ///< set st_gid
	kSetattrSize = 1u << 3,      ///< truncate to st_size
	kSetattrAtime = 1u << 4,     ///< set st_atim
	kSetattrMtime = 1u << 5,     ///< set st_mtim
	kSetattrFh = 1u << 6,        ///< SetAttr::fh is the open file it came through
	kSetattrAtimeNow = 1u << 7,  ///< atime to the current time
	kSetattrMtimeNow = 1u << 8;  ///< mtime to the current time
/// ConnectionInfo::kernel_flags and flags, and init()'s want (FUSE_* of INIT).
inline constexpr std::uint64_t kCapWritebackCache = 1ull << 16, ///< FUSE_WRITEBACK_CACHE
	kCapPosixAcl = 1ull << 20,         ///< FUSE_POSIX_ACL
	kCapHandleKillprivV2 = 1ull << 28, ///< FUSE_HANDLE_KILLPRIV_V2
	kCapPassthrough = 1ull << 37;      ///< FUSE_PASSTHROUGH

/// Reply of LOOKUP, MKNOD, MKDIR, SYMLINK, LINK and the entry part of
/// CREATE / OPEN_ATOMIC / READDIRPLUS. nodeid == 0 is a negative entry
/// (LOOKUP and OPEN_ATOMIC): the kernel caches the name's absence for
/// entry_timeout and answers ENOENT; no lookup is counted.
struct Entry {
	NodeId nodeid = 0;            ///< the node (0: negative entry)
	std::uint64_t generation = 0; ///< with nodeid, unique over the mount's life (NFS export)
	struct stat attr {};          ///< its attributes (st_ino is what stat(2) shows)
	double entry_timeout = 0;     ///< seconds the kernel may cache the name
	double attr_timeout = 0;      ///< seconds the kernel may cache the attributes
};

/// Reply of GETATTR and SETATTR.
struct Attr {
	struct stat attr {}; ///< the node's attributes
	double timeout = 0;  ///< seconds the kernel may cache them
};

/// Reply of OPEN / OPENDIR / the open part of CREATE and OPEN_ATOMIC.
struct OpenFile {
	std::uint64_t fh = 0;         ///< the filesystem's handle, given back with each use
	std::uint32_t open_flags = 0; ///< kFopen* bits
	std::int32_t backing_id = 0;  ///< kernel passthrough, 0 = none
};

/// Reply of OPEN_ATOMIC: the entry (one lookup counted), the open handle when
/// the node was opened (regular files and directories), and whether this call
/// created the file (sets FOPEN_FILE_CREATED on the wire). Symlinks, FIFOs,
/// sockets and device nodes reply with no file: the kernel then follows the
/// link or opens the node itself through the normal path. entry.nodeid 0 is
/// a negative entry (no file).
struct AtomicOpen {
	Entry entry;                  ///< the name's node (one lookup counted)
	std::optional<OpenFile> file; ///< the open, for regular files and directories
	bool created = false;         ///< this call created the file
};

/// Which fields of SETATTR are valid (FATTR_* on the wire).
struct SetAttr {
	std::uint32_t valid = 0; ///< kSetattr* bits
	struct stat attr {};     ///< st_mode, st_uid, st_gid, st_size, st_atim, st_mtim
	std::optional<std::uint64_t> fh; ///< the open file it came through, if any
};

/// Space for READ data in the worker's reply buffer: read into data() at most
/// capacity() bytes and call commit(n). One copy: backend -> reply buffer.
class ReadBuffer {
public:
	virtual ~ReadBuffer() = default;
	/// Where to put the data (the request's size, capped at max_write).
	virtual std::span<std::byte> space() = 0;
	/// The first `n` bytes of space() are the reply (n < size: end of file).
	virtual void commit(std::size_t n) = 0;
};

/// A READDIR / READDIRPLUS reply being filled. add() returns false when the
/// entry does not fit; the filesystem then stops (and, for add_plus, must not
/// count the lookup: check fits_plus() before producing the Entry).
class DirBuffer {
public:
	virtual ~DirBuffer() = default;
	/// READDIR: one entry; `type` is S_IFMT bits, `next_off` the offset
	/// of the entry after it (what the next READDIR of this handle gets).
	virtual bool add(std::string_view name, ino_t ino, mode_t type,
			 std::uint64_t next_off) = 0;
	/// READDIRPLUS: whether an entry of this name still fits.
	virtual bool fits_plus(std::string_view name) const = 0;
	/// READDIRPLUS: one entry with its Entry, which counts one lookup
	/// (except "." and "..", and negative entries).
	virtual bool add_plus(std::string_view name, const Entry &entry,
			      std::uint64_t next_off) = 0;
	/// true for READDIRPLUS (use add_plus()), false for READDIR (add()).
	virtual bool plus() const = 0;
};

/// A POSIX record lock (GETLK, SETLK, SETLKW).
struct Lock {
	std::uint64_t start = 0; ///< first byte
	std::uint64_t end = 0;   ///< last byte (inclusive; OFFSET_MAX: to the end)
	std::uint32_t type = 0; ///< F_RDLCK, F_WRLCK, F_UNLCK
	std::uint32_t pid = 0;  ///< the holder's pid (GETLK's answer)
};

/// What INIT settled, given to init() so the filesystem can adapt (e.g. turn
/// off writeback caching the kernel did not grant).
struct ConnectionInfo {
	std::uint32_t proto_major = 0; ///< FUSE protocol version agreed (7)
	std::uint32_t proto_minor = 0; ///< its minor (the lower of ours and the kernel's)
	std::uint64_t kernel_flags = 0; ///< FUSE_* capability bits the kernel offered
	std::uint64_t flags = 0;        ///< bits we asked for and the kernel offered
	std::uint32_t max_write = 0;       ///< largest WRITE, bytes
	std::uint32_t max_readahead = 0;   ///< largest readahead, bytes
	std::uint32_t max_pages = 0;       ///< pages per request
	std::uint32_t time_gran = 0;       ///< timestamp granularity, ns
	std::uint32_t max_stack_depth = 0; ///< stacking depth with passthrough
};

/// What a filesystem implements: one virtual per FUSE request.
///
/// Handlers run on the session's worker threads, several at once: a
/// filesystem served with more than one thread must be thread-safe.
/// Each returns 0 or a positive errno; out-parameters count only on 0.
class Filesystem {
public:
	virtual ~Filesystem() = default;

	/// Called once after INIT is negotiated, before any other request. The
	/// filesystem may clear bits of want (a subset of offered) to refuse them.
	virtual void init(const ConnectionInfo &info, std::uint64_t &want)
	{
		(void)info;
		(void)want;
	}
	/// Called once at the end of the session (DESTROY, unmount or
	/// Session::exit()), after the last request.
	virtual void destroy() {}
	/// Extra fields for the session's stats JSON ("\"inodes\": 12, ..."),
	/// without braces; empty for none. Called from the thread that writes
	/// the stats, concurrently with requests.
	virtual std::string stats_json_fields() const { return {}; }

	/// LOOKUP: the node called `name` in `parent`; counts one lookup.
	/// Negative entries (out.nodeid 0) let the kernel cache the absence.
	virtual Errno lookup(const Request &, NodeId parent, std::string_view name,
			     Entry &out);
	/// FORGET / BATCH_FORGET: the kernel drops `nlookup` lookups of `node`;
	/// at zero the filesystem may free it. No reply.
	virtual void forget(NodeId node, std::uint64_t nlookup) { (void)node, (void)nlookup; }
	/// GETATTR: attributes of `node`; `fh` when asked through an open file.
	virtual Errno getattr(const Request &, NodeId node, std::optional<std::uint64_t> fh,
			      Attr &out);
	/// SETATTR (chmod, chown, truncate, utimes): change the fields
	/// in `in.valid`, reply with the new attributes.
	virtual Errno setattr(const Request &, NodeId node, const SetAttr &in, Attr &out);
	/// READLINK: the target into `buf` (no NUL), its length into `len`.
	virtual Errno readlink(const Request &, NodeId node, std::span<char> buf,
			       std::size_t &len);
	/// MKNOD: create a regular file, FIFO, socket or device node.
	virtual Errno mknod(const Request &, NodeId parent, std::string_view name,
			    mode_t mode, dev_t rdev, mode_t umask, Entry &out);
	/// MKDIR: create directory `name` in `parent` (mode before umask).
	virtual Errno mkdir(const Request &, NodeId parent, std::string_view name,
			    mode_t mode, mode_t umask, Entry &out);
	/// SYMLINK: create `name` in `parent` pointing to `target`.
	virtual Errno symlink(const Request &, NodeId parent, std::string_view name,
			      std::string_view target, Entry &out);
	/// UNLINK: remove the non-directory `name` from `parent`.
	virtual Errno unlink(const Request &, NodeId parent, std::string_view name);
	/// RMDIR: remove the empty directory `name` from `parent`.
	virtual Errno rmdir(const Request &, NodeId parent, std::string_view name);
	/// RENAME / RENAME2: move `name` to `new_name` in `new_parent`;
	/// `flags` are renameat2(2)'s (RENAME_NOREPLACE, RENAME_EXCHANGE).
	virtual Errno rename(const Request &, NodeId parent, std::string_view name,
			     NodeId new_parent, std::string_view new_name, std::uint32_t flags);
	/// LINK: a new name for `node`; counts one lookup of it.
	virtual Errno link(const Request &, NodeId node, NodeId new_parent,
			   std::string_view new_name, Entry &out);

	/// OPEN: open `node` with open(2) `flags` (O_CREAT, O_EXCL and O_NOCTTY
	/// removed by the kernel); `out.fh` comes back with each I/O.
	virtual Errno open(const Request &, NodeId node, int flags, OpenFile &out);
	/// CREATE: create and open `name` in `parent`; counts one lookup.
	virtual Errno create(const Request &, NodeId parent, std::string_view name,
			     int flags, mode_t mode, mode_t umask, Entry &entry, OpenFile &out);
	/// One request: look up `name` in `parent` and open it (creating it if
	/// flags has O_CREAT). Default: lookup + open/opendir, or create when the
	/// name does not exist, looping on the ENOENT/EEXIST race so that
	/// out.created is true exactly when this call created the file.
	virtual Errno open_atomic(const Request &, NodeId parent, std::string_view name,
				  int flags, mode_t mode, mode_t umask, AtomicOpen &out);

	/// READ: up to out.space().size() bytes at `off`, then out.commit(n).
	virtual Errno read(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off,
			   ReadBuffer &out);
	/// WRITE: `data` at `off`; bytes written into `written`. `write_flags`
	/// has kWriteKillSuidgid when the write must clear set-ID bits.
	virtual Errno write(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off,
			    std::span<const std::byte> data, std::uint32_t write_flags,
			    std::size_t &written);
	/// FLUSH: a close(2) of one descriptor of the open (default 0).
	virtual Errno flush(const Request &, NodeId node, std::uint64_t fh,
			    std::uint64_t lock_owner);
	/// RELEASE: the open's last descriptor is gone (default 0).
	virtual Errno release(const Request &, NodeId node, std::uint64_t fh, int flags);
	/// FSYNC: `datasync` for fdatasync(2).
	virtual Errno fsync(const Request &, NodeId node, std::uint64_t fh, bool datasync);

	/// OPENDIR: open directory `node` (default: 0, fh 0).
	virtual Errno opendir(const Request &, NodeId node, int flags, OpenFile &out);
	/// READDIR / READDIRPLUS: entries from offset `off` into `out`
	/// (default ENOSYS).
	virtual Errno readdir(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off,
			      DirBuffer &out);
	/// RELEASEDIR: the directory open is gone (default 0).
	virtual Errno releasedir(const Request &, NodeId node, std::uint64_t fh);
	/// FSYNCDIR: fsync(2) of a directory.
	virtual Errno fsyncdir(const Request &, NodeId node, std::uint64_t fh, bool datasync);

	/// STATFS: statvfs(2) of the filesystem (default: zeros, block size 512, name length 255).
	virtual Errno statfs(const Request &, NodeId node, struct statvfs &out);
	/// SETXATTR: set attribute `name`; `flags` XATTR_CREATE / XATTR_REPLACE.
	virtual Errno setxattr(const Request &, NodeId node, std::string_view name,
			       std::span<const std::byte> value, int flags);
	/// GETXATTR: the value of `name` into `buf`, its length into `len`;
	/// an empty `buf` (size 0) asks for the needed size in `len`.
	virtual Errno getxattr(const Request &, NodeId node, std::string_view name,
			       std::span<std::byte> buf, std::size_t &len);
	/// LISTXATTR: NUL-separated names; size 0 (empty `buf`) asks for the
	/// needed size in `len`.
	virtual Errno listxattr(const Request &, NodeId node, std::span<char> buf,
				std::size_t &len);
	/// REMOVEXATTR: remove attribute `name`.
	virtual Errno removexattr(const Request &, NodeId node, std::string_view name);
	/// ACCESS: access(2) check of `mask` for the caller (without
	/// default_permissions; ENOSYS makes the kernel stop asking).
	virtual Errno access(const Request &, NodeId node, int mask);

	/// GETLK: the first lock that would conflict with `inout`, or F_UNLCK.
	virtual Errno getlk(const Request &, NodeId node, std::uint64_t fh,
			    std::uint64_t owner, Lock &inout);
	/// SETLK / SETLKW (`wait`): take or release a POSIX lock for `owner`.
	/// A waiting one is called on a thread of its own and may block.
	virtual Errno setlk(const Request &, NodeId node, std::uint64_t fh,
			    std::uint64_t owner, const Lock &lock, bool wait);
	/// flock(2) through SETLK/SETLKW with FUSE_LK_FLOCK (when
	/// SessionOptions::flock_locks): `op` is LOCK_SH / LOCK_EX / LOCK_UN,
	/// with LOCK_NB when it must not wait.
	virtual Errno flock(const Request &, NodeId node, std::uint64_t fh,
			    std::uint64_t owner, int op);
	/// FALLOCATE: fallocate(2) `mode` over [off, off + len).
	virtual Errno fallocate(const Request &, NodeId node, std::uint64_t fh, int mode,
				std::uint64_t off, std::uint64_t len);
	/// COPY_FILE_RANGE: copy `len` bytes between two open files; bytes
	/// copied into `copied`.
	virtual Errno copy_file_range(const Request &, NodeId in_node, std::uint64_t in_fh,
				      std::uint64_t in_off, NodeId out_node,
				      std::uint64_t out_fh, std::uint64_t out_off,
				      std::uint64_t len, std::uint64_t flags,
				      std::size_t &copied);
	/// LSEEK: SEEK_DATA / SEEK_HOLE from `off`; the offset into `result`.
	virtual Errno lseek(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off,
			    int whence, std::uint64_t &result);
	/// TMPFILE: an unnamed regular file in `parent`, open (O_TMPFILE);
	/// counts one lookup.
	virtual Errno tmpfile(const Request &, NodeId parent, int flags, mode_t mode,
			      mode_t umask, Entry &entry, OpenFile &out);
};

} // namespace atomfs::fuse
