// SPDX-License-Identifier: MIT
//
// The interface a filesystem implements to be served by atomfs::fuse.
//
// Model: inode-based, like libfuse's low-level API and go-fuse's raw layer.
// Each request is handled synchronously on the worker thread that read it;
// a handler returns 0 on success or a positive errno, and fills its
// out-parameters only on success. Every method has a default that answers
// ENOSYS, except open_atomic(), whose default is built from lookup + open +
// create (+ opendir), so that every filesystem gets one-request opens for
// free when the kernel speaks FUSE_OPEN_ATOMIC.
//
// Lookup counting: every successful reply that carries an Entry (lookup,
// mknod, mkdir, symlink, link, create, open_atomic, and each entry of
// readdirplus) counts one lookup of entry.nodeid, which the kernel later
// returns through forget(). The filesystem increments its count when it
// produces the Entry; the library calls forget() if the reply cannot be
// delivered (for example the request was interrupted and the kernel is gone).
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace atomfs::fuse {

using NodeId = std::uint64_t;
inline constexpr NodeId kRootNodeId = 1;

// A positive errno, or 0 for success.
using Errno = int;

class Session;

// Who is asking, taken from fuse_in_header.
struct Caller {
	uid_t uid = 0;
	gid_t gid = 0;
	pid_t pid = 0;
	// Creating requests (CREATE, MKNOD, MKDIR, SYMLINK, TMPFILE,
	// OPEN_ATOMIC): the parent directory's group when the caller is a
	// member through a supplementary group (FUSE_CREATE_SUPP_GROUP), so that
	// a server acting as the caller can create in group-writable and
	// set-group-ID directories. -1 when absent.
	gid_t supp_gid = static_cast<gid_t>(-1);
};

// What every handler gets besides its arguments.
struct Request {
	std::uint32_t opcode = 0;
	std::uint64_t unique = 0;
	NodeId nodeid = 0;
	Caller caller;
	Session *session = nullptr; // for notifications and backing fds
	// The request's flag word that the operation's own arguments do not
	// carry: fuse_open_in/fuse_create_in.open_flags for OPEN, OPENDIR,
	// CREATE, OPEN_ATOMIC and TMPFILE (kOpenKillSuidgid), and
	// fuse_setxattr_in.setxattr_flags for SETXATTR (kSetxattrAclKillSgid).
	std::uint32_t fuse_flags = 0;
};

// Duties the kernel hands over with FUSE_HANDLE_KILLPRIV_V2 and
// FUSE_POSIX_ACL (values of the FUSE ABI). The kernel sets them only when
// the caller lacks CAP_FSETID (or, for the ACL one, is neither in the
// file's group nor capable), so the filesystem can apply them as the
// backing filesystem would for that caller.
// Request::fuse_flags of an open with O_TRUNC: clear set-user-ID and
// set-group-ID as the truncation would.
inline constexpr std::uint32_t kOpenKillSuidgid = 1u << 0;
// Request::fuse_flags of SETXATTR(system.posix_acl_access): clear
// set-group-ID as the ACL's mode update would.
inline constexpr std::uint32_t kSetxattrAclKillSgid = 1u << 0;
// write()'s write_flags: the write must clear set-user-ID/set-group-ID.
inline constexpr std::uint32_t kWriteKillSuidgid = 1u << 2;
// SetAttr::valid of a truncate or chown that must clear them.
inline constexpr std::uint32_t kSetattrKillSuidgid = 1u << 11;

// OpenFile::open_flags (FOPEN_* of the FUSE ABI).
inline constexpr std::uint32_t kFopenDirectIo = 1u << 0, kFopenKeepCache = 1u << 1,
			       kFopenCacheDir = 1u << 3, kFopenNoflush = 1u << 5,
			       kFopenParallelDirectWrites = 1u << 6, kFopenPassthrough = 1u << 7,
			       kFopenFileCreated = 1u << 8;
// SetAttr::valid (FATTR_*).
inline constexpr std::uint32_t kSetattrMode = 1u << 0, kSetattrUid = 1u << 1,
			       kSetattrGid = 1u << 2, kSetattrSize = 1u << 3,
			       kSetattrAtime = 1u << 4, kSetattrMtime = 1u << 5, kSetattrFh = 1u << 6,
			       kSetattrAtimeNow = 1u << 7, kSetattrMtimeNow = 1u << 8;
// ConnectionInfo::kernel_flags and flags, and init()'s want (FUSE_* of INIT).
inline constexpr std::uint64_t kCapWritebackCache = 1ull << 16, kCapPosixAcl = 1ull << 20,
			       kCapHandleKillprivV2 = 1ull << 28, kCapPassthrough = 1ull << 37;

// Reply of LOOKUP, MKNOD, MKDIR, SYMLINK, LINK and the entry part of
// CREATE / OPEN_ATOMIC / READDIRPLUS. nodeid == 0 is a negative entry
// (LOOKUP and OPEN_ATOMIC): the kernel caches the name's absence for
// entry_timeout and answers ENOENT; no lookup is counted.
struct Entry {
	NodeId nodeid = 0;
	std::uint64_t generation = 0;
	struct stat attr {};
	double entry_timeout = 0;
	double attr_timeout = 0;
};

struct Attr {
	struct stat attr {};
	double timeout = 0;
};

// Reply of OPEN / OPENDIR / the open part of CREATE and OPEN_ATOMIC.
struct OpenFile {
	std::uint64_t fh = 0;
	std::uint32_t open_flags = 0; // kFopen* bits
	std::int32_t backing_id = 0;  // kernel passthrough, 0 = none
};

// Reply of OPEN_ATOMIC: the entry (one lookup counted), the open handle when
// the node was opened (regular files and directories), and whether this call
// created the file (sets FOPEN_FILE_CREATED on the wire). Symlinks, FIFOs,
// sockets and device nodes reply with no file: the kernel then follows the
// link or opens the node itself through the normal path. entry.nodeid 0 is
// a negative entry (no file).
struct AtomicOpen {
	Entry entry;
	std::optional<OpenFile> file;
	bool created = false;
};

// Which fields of SETATTR are valid (FATTR_* on the wire).
struct SetAttr {
	std::uint32_t valid = 0; // kSetattr* bits
	struct stat attr {};     // st_mode, st_uid, st_gid, st_size, st_atim, st_mtim
	std::optional<std::uint64_t> fh;
};

// Space for READ data in the worker's reply buffer: read into data() at most
// capacity() bytes and call commit(n). One copy: backend -> reply buffer.
class ReadBuffer {
public:
	virtual ~ReadBuffer() = default;
	virtual std::span<std::byte> space() = 0;
	virtual void commit(std::size_t n) = 0;
};

// A READDIR / READDIRPLUS reply being filled. add() returns false when the
// entry does not fit; the filesystem then stops (and, for add_plus, must not
// count the lookup: check fits_plus() before producing the Entry).
class DirBuffer {
public:
	virtual ~DirBuffer() = default;
	virtual bool add(std::string_view name, ino_t ino, mode_t type,
			 std::uint64_t next_off) = 0;
	virtual bool fits_plus(std::string_view name) const = 0;
	virtual bool add_plus(std::string_view name, const Entry &entry,
			      std::uint64_t next_off) = 0;
	virtual bool plus() const = 0;
};

struct Lock {
	std::uint64_t start = 0;
	std::uint64_t end = 0;
	std::uint32_t type = 0; // F_RDLCK, F_WRLCK, F_UNLCK
	std::uint32_t pid = 0;
};

// What INIT settled, given to init() so the filesystem can adapt (e.g. turn
// off writeback caching the kernel did not grant).
struct ConnectionInfo {
	std::uint32_t proto_major = 0;
	std::uint32_t proto_minor = 0;
	std::uint64_t kernel_flags = 0; // FUSE_* capability bits the kernel offered
	std::uint64_t flags = 0;        // bits we asked for and the kernel offered
	std::uint32_t max_write = 0;
	std::uint32_t max_readahead = 0;
	std::uint32_t max_pages = 0;
	std::uint32_t time_gran = 0;
	std::uint32_t max_stack_depth = 0;
};

class Filesystem {
public:
	virtual ~Filesystem() = default;

	// Called once after INIT is negotiated, before any other request. The
	// filesystem may clear bits of want (a subset of offered) to refuse them.
	virtual void init(const ConnectionInfo &info, std::uint64_t &want)
	{
		(void)info;
		(void)want;
	}
	virtual void destroy() {}
	// Extra fields for the session's stats JSON ("\"inodes\": 12, ..."),
	// without braces; empty for none. Called from the thread that writes
	// the stats, concurrently with requests.
	virtual std::string stats_json_fields() const { return {}; }

	virtual Errno lookup(const Request &, NodeId parent, std::string_view name,
			     Entry &out);
	virtual void forget(NodeId node, std::uint64_t nlookup) { (void)node, (void)nlookup; }
	virtual Errno getattr(const Request &, NodeId node, std::optional<std::uint64_t> fh,
			      Attr &out);
	virtual Errno setattr(const Request &, NodeId node, const SetAttr &in, Attr &out);
	virtual Errno readlink(const Request &, NodeId node, std::span<char> buf,
			       std::size_t &len);
	virtual Errno mknod(const Request &, NodeId parent, std::string_view name,
			    mode_t mode, dev_t rdev, mode_t umask, Entry &out);
	virtual Errno mkdir(const Request &, NodeId parent, std::string_view name,
			    mode_t mode, mode_t umask, Entry &out);
	virtual Errno symlink(const Request &, NodeId parent, std::string_view name,
			      std::string_view target, Entry &out);
	virtual Errno unlink(const Request &, NodeId parent, std::string_view name);
	virtual Errno rmdir(const Request &, NodeId parent, std::string_view name);
	virtual Errno rename(const Request &, NodeId parent, std::string_view name,
			     NodeId new_parent, std::string_view new_name, std::uint32_t flags);
	virtual Errno link(const Request &, NodeId node, NodeId new_parent,
			   std::string_view new_name, Entry &out);

	virtual Errno open(const Request &, NodeId node, int flags, OpenFile &out);
	virtual Errno create(const Request &, NodeId parent, std::string_view name,
			     int flags, mode_t mode, mode_t umask, Entry &entry, OpenFile &out);
	// One request: look up `name` in `parent` and open it (creating it if
	// flags has O_CREAT). Default: lookup + open/opendir, or create when the
	// name does not exist, looping on the ENOENT/EEXIST race so that
	// out.created is true exactly when this call created the file.
	virtual Errno open_atomic(const Request &, NodeId parent, std::string_view name,
				  int flags, mode_t mode, mode_t umask, AtomicOpen &out);

	virtual Errno read(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off,
			   ReadBuffer &out);
	virtual Errno write(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off,
			    std::span<const std::byte> data, std::uint32_t write_flags,
			    std::size_t &written);
	virtual Errno flush(const Request &, NodeId node, std::uint64_t fh,
			    std::uint64_t lock_owner);
	virtual Errno release(const Request &, NodeId node, std::uint64_t fh, int flags);
	virtual Errno fsync(const Request &, NodeId node, std::uint64_t fh, bool datasync);

	virtual Errno opendir(const Request &, NodeId node, int flags, OpenFile &out);
	virtual Errno readdir(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off,
			      DirBuffer &out);
	virtual Errno releasedir(const Request &, NodeId node, std::uint64_t fh);
	virtual Errno fsyncdir(const Request &, NodeId node, std::uint64_t fh, bool datasync);

	virtual Errno statfs(const Request &, NodeId node, struct statvfs &out);
	virtual Errno setxattr(const Request &, NodeId node, std::string_view name,
			       std::span<const std::byte> value, int flags);
	// size == 0 asks for the needed size in `len`; otherwise fill buf.
	virtual Errno getxattr(const Request &, NodeId node, std::string_view name,
			       std::span<std::byte> buf, std::size_t &len);
	virtual Errno listxattr(const Request &, NodeId node, std::span<char> buf,
				std::size_t &len);
	virtual Errno removexattr(const Request &, NodeId node, std::string_view name);
	virtual Errno access(const Request &, NodeId node, int mask);

	virtual Errno getlk(const Request &, NodeId node, std::uint64_t fh,
			    std::uint64_t owner, Lock &inout);
	virtual Errno setlk(const Request &, NodeId node, std::uint64_t fh,
			    std::uint64_t owner, const Lock &lock, bool wait);
	virtual Errno flock(const Request &, NodeId node, std::uint64_t fh,
			    std::uint64_t owner, int op);
	virtual Errno fallocate(const Request &, NodeId node, std::uint64_t fh, int mode,
				std::uint64_t off, std::uint64_t len);
	virtual Errno copy_file_range(const Request &, NodeId in_node, std::uint64_t in_fh,
				      std::uint64_t in_off, NodeId out_node,
				      std::uint64_t out_fh, std::uint64_t out_off,
				      std::uint64_t len, std::uint64_t flags,
				      std::size_t &copied);
	virtual Errno lseek(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off,
			    int whence, std::uint64_t &result);
	virtual Errno tmpfile(const Request &, NodeId parent, int flags, mode_t mode,
			      mode_t umask, Entry &entry, OpenFile &out);
};

} // namespace atomfs::fuse
