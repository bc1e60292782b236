// SPDX-License-Identifier: MIT
//
// The inode table: one Inode per backing (st_dev, st_ino) the kernel knows,
// with its lookup count, and a bounded cache of O_PATH fds.
//
// Why not one O_PATH fd per inode (libfuse's passthroughs): a tree with more
// inodes than RLIMIT_NOFILE cannot be served. Instead each inode keeps a file
// handle (name_to_handle_at) and its fd lives in an LRU; an evicted fd is
// re-opened on demand with open_by_handle_at(root_fd, ...). That needs
// CAP_DAC_READ_SEARCH and a handle-capable filesystem on the root's mount;
// inodes without a usable handle (non-root server, another mount below the
// source, a filesystem without handles) keep their fd pinned.
//
// Concurrency: the table is split into shards, each with its own mutex,
// key map, nodeid map and LRU; a nodeid carries its shard in its low bits,
// so a request never takes a lock shared by all inodes.
#pragma once

#include <atomfs/fuse/filesystem.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace atomfs::fs {

using fuse::NodeId;

struct Inode {
	NodeId nodeid = 0;
	std::uint64_t generation = 0;
	dev_t dev = 0;
	ino_t ino = 0;
	mode_t type = 0; // S_IFMT bits

	// All below protected by the owning shard's mutex.
	std::uint64_t nlookup = 0;
	std::atomic<unsigned> open_files{0}; // FileHandles (for --test-strict-forget)
	int fd = -1;        // cached O_PATH fd, -1 when evicted
	unsigned pins = 0;  // FdRefs in use: never evict while > 0
	bool pinned = false; // fd must stay open (no handle, or unlinked while known)
	bool in_table = true;
	Inode *lru_prev = nullptr, *lru_next = nullptr;
	std::unique_ptr<unsigned char[]> handle; // struct file_handle, or null

	// Page cache validity (FOPEN_KEEP_CACHE): mtime and size last seen at an
	// open or release; atomic so opens need not lock.
	std::atomic<std::int64_t> stamp_mtime_ns{-1};
	std::atomic<std::int64_t> stamp_size{-1};

	// Kernel passthrough: the kernel wants every open of an inode that is
	// open for passthrough to name the same backing file, so the id is
	// shared by the inode's open files. After the last of them it stays
	// registered (idle) for the next open while the kernel knows the
	// inode, within a budget (open.cc, attach_backing).
	// cached_users: opens served without passthrough because the kernel
	// refused this file as a backing file.
	std::mutex backing_mu;
	int backing_id = 0;
	unsigned backing_users = 0;
	unsigned cached_users = 0;
	bool forgotten = false; // the kernel forgot it: no idle backing any more

	~Inode();
	bool is_dir() const { return S_ISDIR(type); }
	bool is_reg() const { return S_ISREG(type); }
	bool is_symlink() const { return S_ISLNK(type); }
};

class InodeTable;

// A pinned fd of an inode: valid until the FdRef dies.
class FdRef {
public:
	FdRef() = default;
	FdRef(FdRef &&o) noexcept : table_(o.table_), inode_(o.inode_), fd_(o.fd_)
	{
		o.table_ = nullptr;
		o.inode_ = nullptr;
		o.fd_ = -1;
	}
	FdRef &operator=(FdRef &&o) noexcept;
	FdRef(const FdRef &) = delete;
	FdRef &operator=(const FdRef &) = delete;
	~FdRef() { reset(); }
	int get() const { return fd_; }
	void reset();

private:
	friend class InodeTable;
	InodeTable *table_ = nullptr;
	Inode *inode_ = nullptr;
	int fd_ = -1;
};

class InodeTable {
public:
	// root_fd: O_PATH|O_DIRECTORY fd of the source (owned). fd_budget: how
	// many evictable fds may stay open.
	InodeTable(int root_fd, std::size_t fd_budget);
	~InodeTable();

	std::shared_ptr<Inode> get(NodeId id) const;
	const std::shared_ptr<Inode> &root() const { return root_; }

	// Finds or adds the inode for st and counts one lookup. path_fd: an
	// O_PATH fd of the object that the table takes over (or closes), or -1;
	// probe_fd: any fd of the object, used to get its file handle when the
	// inode is new (may equal path_fd). Returns null and sets err on failure.
	std::shared_ptr<Inode> intern(const struct stat &st, int path_fd, int probe_fd,
				      fuse::Errno &err);
	// Drops n lookups; the inode leaves the table at zero. strict (tests):
	// log a FORGET of more lookups than counted or of a node with open files.
	// Returns the inode when it left the table.
	std::shared_ptr<Inode> forget(NodeId id, std::uint64_t n, bool strict = false);
	// The inode for (dev, ino) if the kernel currently knows it.
	std::shared_ptr<Inode> find(dev_t dev, ino_t ino) const;

	// An fd for the inode (re-opened from its handle if evicted).
	fuse::Errno fd(const std::shared_ptr<Inode> &inode, FdRef &out);
	// Keep the inode's fd open for good: called before the last name of a
	// known inode is removed, when its handle could no longer be opened.
	void pin(const std::shared_ptr<Inode> &inode);

	// Inodes the kernel knows, the root included.
	std::size_t size() const { return count_.load(std::memory_order_relaxed); }
	// Open cached fds (for tests and stats).
	std::size_t open_fds() const { return open_fds_.load(std::memory_order_relaxed); }
	bool handles_enabled() const { return use_handles_; }
	// How many evictable fds may stay open in all.
	std::size_t fd_budget() const { return shard_budget_ * kShards; }

	static constexpr unsigned kShardBits = 6;
	static constexpr unsigned kShards = 1u << kShardBits;

private:
	friend class FdRef;
	struct Key {
		dev_t dev;
		ino_t ino;
		bool operator==(const Key &) const = default;
	};
	struct KeyHash {
		std::size_t operator()(const Key &k) const
		{
			return std::hash<std::uint64_t>()(k.ino * 0x9e3779b97f4a7c15ull ^ k.dev);
		}
	};
	struct alignas(64) Shard {
		mutable std::mutex mu;
		std::unordered_map<Key, std::shared_ptr<Inode>, KeyHash> by_key;
		std::unordered_map<NodeId, std::shared_ptr<Inode>> by_id;
		std::uint64_t next_seq = 1;
		Inode lru_head; // sentinel: lru_head.lru_next is the most recent
		std::size_t evictable_open = 0;
	};

	Shard &shard_of_key(const Key &k) { return shards_[KeyHash()(k) % kShards]; }
	Shard &shard_of_id(NodeId id) const { return shards_[id & (kShards - 1)]; }
	void lru_unlink(Shard &s, Inode *in);
	void lru_push_front(Shard &s, Inode *in);
	// Collects fds to close so that the shard fits its budget.
	void evict(Shard &s, int *victims, std::size_t &nvictims, std::size_t max);
	void unpin(Inode *inode);
	// A file handle as name_to_handle_at gives it, with its mount.
	struct HandleBuf {
		alignas(struct file_handle) unsigned char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
		int mount_id = -1;
		bool ok = false;
	};
	bool read_handle(int fd, HandleBuf &out) const;

	mutable Shard shards_[kShards];
	std::shared_ptr<Inode> root_;
	int root_mount_id_ = -1;
	int mount_fd_ = -1; // O_RDONLY fd of the root: open_by_handle_at refuses O_PATH
	bool use_handles_ = false;
	std::size_t shard_budget_;
	std::atomic<std::size_t> count_{1};
	std::atomic<std::size_t> open_fds_{0};
	std::atomic<std::uint64_t> next_generation_{1};
};

} // namespace atomfs::fs
