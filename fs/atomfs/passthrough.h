// SPDX-License-Identifier: MIT
//
// atomfs: a passthrough of a source directory, served by atomfs::fuse.
//
// Every operation works relative to the O_PATH fd of an inode from the
// InodeTable (openat, mkdirat, renameat2, ...; /proc/self/fd/N where a
// syscall has no AT_EMPTY_PATH form), never with absolute paths, and never
// follows a symlink: names are single components and "." / ".." / names with
// '/' are refused, so nothing outside the source can be reached.
#pragma once

#include "inode_table.h"
#include "latency.h"
#include "util.h"

#include <atomfs/fuse/filesystem.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace atomfs::fs {

struct Config {
	std::string source;
	double timeout = 1.0;        // entry and attr timeout, seconds
	double negative_timeout = 0; // >0: a missing name is a negative entry cached this long
	bool cache = true;           // false with --nocache
	bool writeback = false;      // --writeback (only when caching)
	bool passthrough = true;     // kernel read/write passthrough when offered
	bool atomic_open = true;     // false: open_atomic answers ENOSYS
	bool read_only = false;
	bool noatime = false;        // -o noatime: reads must not touch the source's atime
	bool kernel_checks = false;  // default_permissions: the kernel checked access
	// Called (from init(), on a worker) when the kernel did not grant what
	// kernel_checks needs (FUSE_POSIX_ACL): the mount must end.
	std::function<void()> on_refused;
	bool test_created_flag = false; // tests only: FOPEN_FILE_CREATED in OPEN/CREATE replies
	bool test_strict_forget = false; // tests only: log FORGETs of open or unknown nodes
	bool test_bad_attr = false;   // tests only: OPEN_ATOMIC of "bad-attr*" replies with a bad size
	bool test_new_generation = false; // tests only: "newgen*" entries get a new generation each time
	std::chrono::nanoseconds meta_latency{0};
	bool sync_latency = false;   // --sync-latency: sleep on the worker, not a timer
	std::size_t fd_budget = 0;   // 0: derive from RLIMIT_NOFILE
};

// Handles of open files and directories, looked up by fh with a lock per
// shard so that a bogus fh is an error, not a crash.
template <class T> class HandleTable {
public:
	std::uint64_t add(std::shared_ptr<T> h)
	{
		unsigned i = next_.fetch_add(1, std::memory_order_relaxed) % kShards;
		Shard &s = shards_[i];
		std::lock_guard lk(s.mu);
		std::uint64_t fh = (s.next++ << kBits) | i;
		s.map.emplace(fh, std::move(h));
		return fh;
	}
	std::shared_ptr<T> get(std::uint64_t fh) const
	{
		const Shard &s = shards_[fh % kShards];
		std::lock_guard lk(s.mu);
		auto it = s.map.find(fh);
		return it == s.map.end() ? nullptr : it->second;
	}
	std::shared_ptr<T> take(std::uint64_t fh)
	{
		Shard &s = shards_[fh % kShards];
		std::lock_guard lk(s.mu);
		auto it = s.map.find(fh);
		if (it == s.map.end())
			return nullptr;
		auto h = std::move(it->second);
		s.map.erase(it);
		return h;
	}

private:
	static constexpr unsigned kBits = 4, kShards = 1u << kBits;
	struct alignas(64) Shard {
		mutable std::mutex mu;
		std::unordered_map<std::uint64_t, std::shared_ptr<T>> map;
		std::uint64_t next = 1;
	};
	Shard shards_[kShards];
	std::atomic<unsigned> next_{0};
};

struct FileHandle {
	int fd = -1;
	int backing_id = 0; // >0 passthrough, AtomFs::kNoBacking refused, 0 none
	bool writable = false;
	std::atomic<bool> flocked{false}; // flock(2) was taken through it
	std::shared_ptr<Inode> inode;
	~FileHandle();
};

struct DirHandle {
	int fd = -1;
	std::mutex mu;
	std::unique_ptr<char[]> buf; // getdents64 records, reused across READDIRs
	std::size_t len = 0, pos = 0;
	std::uint64_t next_off = 0; // offset of the record at pos
	~DirHandle();
};

class AtomFs : public fuse::Filesystem {
public:
	// Takes ownership of root_fd (O_PATH|O_DIRECTORY of the source).
	AtomFs(const Config &cfg, int root_fd);
	~AtomFs() override;

	// Opens cfg.source and builds the filesystem, or null with a reason.
	static std::unique_ptr<AtomFs> create(const Config &cfg, std::string &error);

	InodeTable &inodes() { return table_; }
	const Config &config() const { return cfg_; }
	// Test seam: an O_CREAT open_atomic found `name` existing and is about
	// to look at it; a test removes the name here to drive the retry.
	std::function<void(std::string_view name)> on_create_found_name;
	// {"inodes": N, "cached_fds": N, ...} fields for the stats file.
	std::string stats_json_fields() const;

	void init(const fuse::ConnectionInfo &info, std::uint64_t &want) override;
	void destroy() override;
	// INIT did not grant FUSE_POSIX_ACL while kernel_checks needs it: the
	// kernel would judge from the mode alone and ignore the source's ACLs.
	bool refused() const { return refused_.load(); }

	using Request = fuse::Request;
	using Entry = fuse::Entry;
	using Errno = fuse::Errno;

	Errno lookup(const Request &, NodeId parent, std::string_view name, Entry &out) override;
	void forget(NodeId node, std::uint64_t nlookup) override;
	Errno getattr(const Request &, NodeId node, std::optional<std::uint64_t> fh,
		      fuse::Attr &out) override;
	Errno setattr(const Request &, NodeId node, const fuse::SetAttr &in,
		      fuse::Attr &out) override;
	Errno readlink(const Request &, NodeId node, std::span<char> buf,
		       std::size_t &len) override;
	Errno mknod(const Request &, NodeId parent, std::string_view name, mode_t mode, dev_t rdev,
		    mode_t umask, Entry &out) override;
	Errno mkdir(const Request &, NodeId parent, std::string_view name, mode_t mode,
		    mode_t umask, Entry &out) override;
	Errno symlink(const Request &, NodeId parent, std::string_view name,
		      std::string_view target, Entry &out) override;
	Errno unlink(const Request &, NodeId parent, std::string_view name) override;
	Errno rmdir(const Request &, NodeId parent, std::string_view name) override;
	Errno rename(const Request &, NodeId parent, std::string_view name, NodeId new_parent,
		     std::string_view new_name, std::uint32_t flags) override;
	Errno link(const Request &, NodeId node, NodeId new_parent, std::string_view new_name,
		   Entry &out) override;
	Errno open(const Request &, NodeId node, int flags, fuse::OpenFile &out) override;
	Errno create(const Request &, NodeId parent, std::string_view name, int flags,
		     mode_t mode, mode_t umask, Entry &entry, fuse::OpenFile &out) override;
	Errno open_atomic(const Request &, NodeId parent, std::string_view name, int flags,
			  mode_t mode, mode_t umask, fuse::AtomicOpen &out) override;
	Errno read(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off,
		   fuse::ReadBuffer &out) override;
	Errno write(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off,
		    std::span<const std::byte> data, std::uint32_t write_flags,
		    std::size_t &written) override;
	Errno flush(const Request &, NodeId node, std::uint64_t fh,
		    std::uint64_t lock_owner) override;
	Errno release(const Request &, NodeId node, std::uint64_t fh, int flags) override;
	Errno fsync(const Request &, NodeId node, std::uint64_t fh, bool datasync) override;
	Errno opendir(const Request &, NodeId node, int flags, fuse::OpenFile &out) override;
	Errno readdir(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off,
		      fuse::DirBuffer &out) override;
	Errno releasedir(const Request &, NodeId node, std::uint64_t fh) override;
	Errno fsyncdir(const Request &, NodeId node, std::uint64_t fh, bool datasync) override;
	Errno statfs(const Request &, NodeId node, struct statvfs &out) override;
	Errno setxattr(const Request &, NodeId node, std::string_view name,
		       std::span<const std::byte> value, int flags) override;
	Errno getxattr(const Request &, NodeId node, std::string_view name,
		       std::span<std::byte> buf, std::size_t &len) override;
	Errno listxattr(const Request &, NodeId node, std::span<char> buf,
			std::size_t &len) override;
	Errno removexattr(const Request &, NodeId node, std::string_view name) override;
	Errno access(const Request &, NodeId node, int mask) override;
	Errno flock(const Request &, NodeId node, std::uint64_t fh, std::uint64_t owner,
		    int op) override;
	Errno fallocate(const Request &, NodeId node, std::uint64_t fh, int mode,
			std::uint64_t off, std::uint64_t len) override;
	Errno copy_file_range(const Request &, NodeId in_node, std::uint64_t in_fh,
			      std::uint64_t in_off, NodeId out_node, std::uint64_t out_fh,
			      std::uint64_t out_off, std::uint64_t len, std::uint64_t flags,
			      std::size_t &copied) override;
	Errno lseek(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off, int whence,
		    std::uint64_t &result) override;
	Errno tmpfile(const Request &, NodeId parent, int flags, mode_t mode, mode_t umask,
		      Entry &entry, fuse::OpenFile &out) override;

private:
	// true: the request was deferred for --meta-latency, return at once.
	bool charge_latency(const Request &req);
	Errno node_fd(NodeId id, std::shared_ptr<Inode> &inode, FdRef &fd);
	// node_fd() of a name-taking call's parent, which must be a directory.
	Errno dir_fd(NodeId id, std::shared_ptr<Inode> &dir, FdRef &fd);
	// The start of every name-taking call: the name's own error, or the
	// parent directory's inode and pinned fd.
	Errno parent_dir(NodeId parent, const Name &name, std::shared_ptr<Inode> &dir, FdRef &fd)
	{
		return name.err ? name.err : dir_fd(parent, dir, fd);
	}
	Errno lookup_at(int parent_fd, const char *name, Entry &out);
	// The reply for a missing name: ENOENT, or a negative entry (nodeid 0)
	// cached for cfg_.negative_timeout.
	Errno missing(Entry &out) const;
	// --test-new-generation: the entry of a "newgen*" name carries a
	// generation it never carried before, for the same nodeid.
	void test_generation(std::string_view name, Entry &out);
	Errno entry_from_fd(int fd, bool fd_is_path, Entry &out, std::shared_ptr<Inode> *inode);
	void fill_entry(const Inode &in, const struct stat &st, Entry &out) const;
	Errno finish_create(const Request &, int fd, Entry &entry, fuse::OpenFile &out,
			    int flags);
	Errno open_file(const Request &, const std::shared_ptr<Inode> &in, int path_fd, int flags,
			const struct stat *st, fuse::OpenFile &out);
	Errno open_dir(const Request &, int path_fd, fuse::OpenFile &out);
	int open_as_caller(const Request &, int path_fd, int flags);
	std::uint32_t open_reply_flags(Inode &in, int flags, const struct stat &st);
	void pin_victim(int parent_fd, const char *name, bool is_dir);
	Errno handle_fd(std::uint64_t fh, std::shared_ptr<FileHandle> &h);

	Config cfg_;
	InodeTable table_;
	HandleTable<FileHandle> files_;
	HandleTable<DirHandle> dirs_;
	bool as_root_;
	bool writeback_ = false;     // granted by the kernel
	bool passthrough_ = false;   // granted by the kernel and wanted
	bool killpriv_v2_ = false;   // FUSE_HANDLE_KILLPRIV_V2 granted: set-ID bits are ours
	std::atomic<bool> refused_{false}; // see refused()
	std::atomic<std::uint64_t> test_generation_bump_{0};
	bool must_kill_suidgid(const Request &req) const;
	static constexpr int kNoBacking = -1; // FileHandle::backing_id: refused, cached
	int attach_backing(const Request &req, Inode &in, int fd, const struct stat &st,
			   fuse::OpenFile &out);
	void detach_backing(const Request &req, Inode &in, int backing_id);
	// Drops n lookups of node (FORGET, or a lookup counted in vain), and
	// the idle backing id of an inode that leaves the table.
	void drop_lookups(NodeId node, std::uint64_t n);
	// Backing ids kept registered with no open file (attach_backing), and
	// the session they belong to (FORGET brings no request).
	std::atomic<std::size_t> idle_backings_{0};
	std::atomic<std::uint64_t> backing_registrations_{0}; // BACKING_OPEN ioctls that worked
	std::atomic<fuse::Session *> backing_session_{nullptr};
	// Last: destroyed first, its thread resumes requests that use the rest.
	std::once_flag timer_once_;
	std::unique_ptr<LatencyTimer> timer_;
};

} // namespace atomfs::fs
