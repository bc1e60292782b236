// SPDX-License-Identifier: MIT
#include "inode_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace atomfs::fs {

Inode::~Inode()
{
	if (fd >= 0)
		::close(fd);
}

FdRef &FdRef::operator=(FdRef &&o) noexcept
{
	if (this != &o) {
		reset();
		table_ = o.table_;
		inode_ = o.inode_;
		fd_ = o.fd_;
		o.table_ = nullptr;
		o.inode_ = nullptr;
		o.fd_ = -1;
	}
	return *this;
}

void FdRef::reset()
{
	if (table_ && inode_)
		table_->unpin(inode_);
	table_ = nullptr;
	inode_ = nullptr;
	fd_ = -1;
}

static struct file_handle *as_handle(unsigned char *p)
{
	return reinterpret_cast<struct file_handle *>(p);
}

InodeTable::InodeTable(int root_fd, std::size_t fd_budget)
{
	for (auto &s : shards_)
		s.lru_head.lru_prev = s.lru_head.lru_next = &s.lru_head;
	shard_budget_ = fd_budget / kShards;
	if (shard_budget_ < 2)
		shard_budget_ = 2;

	struct stat st {};
	::fstatat(root_fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	root_ = std::make_shared<Inode>();
	root_->nodeid = fuse::kRootNodeId;
	root_->dev = st.st_dev;
	root_->ino = st.st_ino;
	root_->type = st.st_mode & S_IFMT;
	root_->fd = root_fd;
	root_->pinned = true;
	root_->nlookup = 1;
	open_fds_ = 1;

	// Handles only help if we can open them again: probe once on the root.
	unsigned char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	auto *fh = as_handle(buf);
	fh->handle_bytes = MAX_HANDLE_SZ;
	char proc[32];
	std::snprintf(proc, sizeof(proc), "/proc/self/fd/%d", root_fd);
	mount_fd_ = ::open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mount_fd_ >= 0 &&
	    ::name_to_handle_at(root_fd, "", fh, &root_mount_id_, AT_EMPTY_PATH) == 0) {
		int fd = ::open_by_handle_at(mount_fd_, fh, O_PATH | O_CLOEXEC);
		if (fd >= 0) {
			use_handles_ = true;
			::close(fd);
		}
	}
}

InodeTable::~InodeTable()
{
	for (auto &s : shards_) {
		std::lock_guard lk(s.mu);
		for (auto &[id, in] : s.by_id)
			in->lru_prev = in->lru_next = nullptr;
		s.by_id.clear();
		s.by_key.clear();
	}
	if (mount_fd_ >= 0)
		::close(mount_fd_);
}

std::shared_ptr<Inode> InodeTable::get(NodeId id) const
{
	if (id == fuse::kRootNodeId)
		return root_;
	Shard &s = shard_of_id(id);
	std::lock_guard lk(s.mu);
	auto it = s.by_id.find(id);
	return it == s.by_id.end() ? nullptr : it->second;
}

std::shared_ptr<Inode> InodeTable::find(dev_t dev, ino_t ino) const
{
	if (dev == root_->dev && ino == root_->ino)
		return root_;
	Key k{dev, ino};
	Shard &s = shards_[KeyHash()(k) % kShards];
	std::lock_guard lk(s.mu);
	auto it = s.by_key.find(k);
	return it == s.by_key.end() ? nullptr : it->second;
}

void InodeTable::lru_unlink(Shard &s, Inode *in)
{
	if (!in->lru_prev)
		return;
	in->lru_prev->lru_next = in->lru_next;
	in->lru_next->lru_prev = in->lru_prev;
	in->lru_prev = in->lru_next = nullptr;
	s.evictable_open--;
}

void InodeTable::lru_push_front(Shard &s, Inode *in)
{
	in->lru_next = s.lru_head.lru_next;
	in->lru_prev = &s.lru_head;
	s.lru_head.lru_next->lru_prev = in;
	s.lru_head.lru_next = in;
	s.evictable_open++;
}

void InodeTable::evict(Shard &s, int *victims, std::size_t &nvictims, std::size_t max)
{
	Inode *in = s.lru_head.lru_prev;
	while (s.evictable_open > shard_budget_ && in != &s.lru_head && nvictims < max) {
		Inode *prev = in->lru_prev;
		if (in->pins == 0) {
			lru_unlink(s, in);
			victims[nvictims++] = in->fd;
			in->fd = -1;
		}
		in = prev;
	}
}

bool InodeTable::read_handle(int fd, HandleBuf &out) const
{
	out.ok = false;
	if (!use_handles_ || fd < 0)
		return false;
	auto *fh = as_handle(out.buf);
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (::name_to_handle_at(fd, "", fh, &out.mount_id, AT_EMPTY_PATH) != 0)
		return false;
	out.ok = true;
	return true;
}

static std::size_t handle_size(const unsigned char *h)
{
	return sizeof(struct file_handle) + reinterpret_cast<const struct file_handle *>(h)->handle_bytes;
}

// Whether a known inode is the object whose handle is `now`. An open fd
// keeps its object alive, so its inode number cannot belong to anything
// else; an evicted one may name a dead object whose number a new object
// got, and the handle (inode number and generation on ext4, xfs, btrfs,
// tmpfs) tells them apart. Without both handles, the type has to do.
static bool same_object(const Inode &in, const unsigned char *now)
{
	if (in.fd >= 0 || !in.handle || !now)
		return true;
	std::size_t n = handle_size(in.handle.get());
	return n == handle_size(now) && std::memcmp(in.handle.get(), now, n) == 0;
}

std::shared_ptr<Inode> InodeTable::intern(const struct stat &st, int path_fd, int probe_fd,
					  fuse::Errno &err)
{
	err = 0;
	if (st.st_dev == root_->dev && st.st_ino == root_->ino) {
		// A name leading back to the root (a bind mount of the source
		// into itself): the root is never forgotten, so count nothing.
		if (path_fd >= 0)
			::close(path_fd);
		return root_;
	}
	Key k{st.st_dev, st.st_ino};
	unsigned idx = KeyHash()(k) % kShards;
	Shard &s = shards_[idx];
	const int id_fd = probe_fd >= 0 ? probe_fd : path_fd;
	const mode_t type = st.st_mode & S_IFMT;
	// The handle of the object named now, read only when needed (outside
	// the lock: a syscall).
	HandleBuf now;
	for (;;) {
		int victims[8];
		std::size_t nvictims = 0;
		std::shared_ptr<Inode> ret;
		bool need_handle = false;
		{
			std::lock_guard lk(s.mu);
			auto it = s.by_key.find(k);
			// Another type, or another handle, means the inode number
			// was reused after the old object died while the kernel
			// still remembers it; that is a new inode.
			if (it != s.by_key.end() && it->second->type == type) {
				Inode *in = it->second.get();
				if (in->fd < 0 && in->handle && !now.ok) {
					need_handle = true;
				} else if (same_object(*in, now.ok ? now.buf : nullptr)) {
					in->nlookup++;
					if (in->fd < 0 && path_fd >= 0) {
						// Keep the fresh fd: saves a reopen, within budget.
						in->fd = path_fd;
						path_fd = -1;
						open_fds_++;
						if (!in->pinned) {
							lru_push_front(s, in);
							evict(s, victims, nvictims, 8);
						}
					}
					ret = it->second;
				}
			}
		}
		if (ret) {
			for (std::size_t i = 0; i < nvictims; i++)
				::close(victims[i]);
			open_fds_ -= nvictims;
			if (path_fd >= 0)
				::close(path_fd);
			return ret;
		}
		if (!need_handle || !read_handle(id_fd, now))
			break;
	}
	if (!now.ok)
		read_handle(id_fd, now);

	// New inode: prepare outside the lock (syscalls), then insert.
	auto in = std::make_shared<Inode>();
	in->dev = st.st_dev;
	in->ino = st.st_ino;
	in->type = type;
	in->generation = next_generation_.fetch_add(1, std::memory_order_relaxed);
	in->nlookup = 1;
	// open_by_handle_at needs an fd on the same mount: we only keep the root's.
	if (now.ok && now.mount_id == root_mount_id_) {
		std::size_t n = handle_size(now.buf);
		in->handle.reset(new unsigned char[n]);
		std::memcpy(in->handle.get(), now.buf, n);
	}
	if (!in->handle) {
		in->pinned = true;
		if (path_fd < 0) {
			// Only an open file (create, tmpfile): keep an O_PATH fd
			// of the same object, not a duplicate that would hold
			// write access. The /proc magic link must be followed
			// (O_NOFOLLOW would open the link itself); it leads to
			// the object the fd holds, even a symlink, never further.
			char proc[32];
			std::snprintf(proc, sizeof(proc), "/proc/self/fd/%d", probe_fd);
			path_fd = ::open(proc, O_PATH | O_CLOEXEC);
			if (path_fd < 0) {
				err = errno;
				return nullptr;
			}
		}
	}

	int victims[8];
	std::size_t nvictims = 0;
	std::shared_ptr<Inode> ret;
	{
		std::lock_guard lk(s.mu);
		auto it = s.by_key.find(k);
		if (it != s.by_key.end() && it->second->type == in->type &&
		    same_object(*it->second, now.ok ? now.buf : nullptr)) {
			// Raced with another lookup of the same object.
			Inode *old = it->second.get();
			old->nlookup++;
			ret = it->second;
		} else {
			in->nodeid = (s.next_seq++ << kShardBits) | idx;
			if (path_fd >= 0) {
				in->fd = path_fd;
				path_fd = -1;
				open_fds_++;
				if (!in->pinned) {
					lru_push_front(s, in.get());
					evict(s, victims, nvictims, 8);
				}
			}
			s.by_key[k] = in; // replaces a stale same-number entry
			s.by_id.emplace(in->nodeid, in);
			count_++;
			ret = std::move(in);
		}
	}
	for (std::size_t i = 0; i < nvictims; i++)
		::close(victims[i]);
	open_fds_ -= nvictims;
	if (path_fd >= 0)
		::close(path_fd);
	return ret;
}

std::shared_ptr<Inode> InodeTable::forget(NodeId id, std::uint64_t n, bool strict)
{
	if (id == fuse::kRootNodeId)
		return nullptr;
	std::shared_ptr<Inode> dead;
	Shard &s = shard_of_id(id);
	{
		std::lock_guard lk(s.mu);
		auto it = s.by_id.find(id);
		if (it == s.by_id.end()) {
			if (strict)
				std::fprintf(stderr, "atomfs: strict: FORGET of unknown node %llu\n",
					     (unsigned long long)id);
			return nullptr;
		}
		Inode *in = it->second.get();
		if (strict && n > in->nlookup)
			std::fprintf(stderr, "atomfs: strict: FORGET of %llu lookups, node %llu has %llu\n",
				     (unsigned long long)n, (unsigned long long)id,
				     (unsigned long long)in->nlookup);
		in->nlookup = n >= in->nlookup ? 0 : in->nlookup - n;
		if (in->nlookup)
			return nullptr;
		if (strict && in->open_files.load())
			std::fprintf(stderr, "atomfs: strict: FORGET drops node %llu with %u open file(s)\n",
				     (unsigned long long)id, in->open_files.load());
		dead = std::move(it->second);
		s.by_id.erase(it);
		auto kit = s.by_key.find(Key{in->dev, in->ino});
		if (kit != s.by_key.end() && kit->second.get() == in)
			s.by_key.erase(kit);
		lru_unlink(s, in);
		in->in_table = false;
		count_--;
		if (in->fd >= 0 && in->pins == 0) {
			// Close now rather than when the last reference drops, so
			// that forgotten inodes never hold fds.
			::close(in->fd);
			in->fd = -1;
			open_fds_--;
		}
	}
	return dead;
}

fuse::Errno InodeTable::fd(const std::shared_ptr<Inode> &inode, FdRef &out)
{
	out.reset();
	Inode *in = inode.get();
	if (in == root_.get()) {
		// The root's fd never moves: no pin needed.
		out.fd_ = in->fd;
		return 0;
	}
	Shard &s = shard_of_id(in->nodeid);
	{
		std::lock_guard lk(s.mu);
		if (in->fd >= 0) {
			in->pins++;
			if (in->lru_prev) {
				lru_unlink(s, in);
				lru_push_front(s, in);
			}
			out.table_ = this;
			out.inode_ = in;
			out.fd_ = in->fd;
			return 0;
		}
	}
	if (!in->handle)
		return ESTALE;
	int fd = ::open_by_handle_at(mount_fd_, as_handle(in->handle.get()), O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == EPERM ? ESTALE : errno;

	int victims[8];
	std::size_t nvictims = 0;
	{
		std::lock_guard lk(s.mu);
		open_fds_++; // ours, also when it is a victim below
		// Pinned before evicting: when every other fd of the shard is
		// in use, the eviction would otherwise pick this very inode.
		in->pins++;
		if (in->fd >= 0) {
			victims[nvictims++] = fd; // another thread won the race
		} else {
			in->fd = fd;
			if (!in->pinned && in->in_table) {
				lru_push_front(s, in);
				evict(s, victims, nvictims, 8);
			}
		}
		out.table_ = this;
		out.inode_ = in;
		out.fd_ = in->fd;
	}
	for (std::size_t i = 0; i < nvictims; i++)
		::close(victims[i]);
	open_fds_ -= nvictims;
	return 0;
}

void InodeTable::unpin(Inode *in)
{
	Shard &s = shard_of_id(in->nodeid);
	int victims[8];
	std::size_t nvictims = 0;
	{
		std::lock_guard lk(s.mu);
		in->pins--;
		if (in->pins == 0 && !in->in_table && in->fd >= 0) {
			victims[nvictims++] = in->fd;
			in->fd = -1;
		}
		// An eviction that found every fd in use left the shard over
		// its budget: the fds freed now make up for it.
		if (s.evictable_open > shard_budget_)
			evict(s, victims, nvictims, 8);
	}
	for (std::size_t i = 0; i < nvictims; i++)
		::close(victims[i]);
	open_fds_ -= nvictims;
}

void InodeTable::pin(const std::shared_ptr<Inode> &inode)
{
	if (inode == root_)
		return;
	FdRef ref;
	if (fd(inode, ref) != 0)
		return;
	Shard &s = shard_of_id(inode->nodeid);
	std::lock_guard lk(s.mu);
	if (!inode->pinned) {
		inode->pinned = true;
		lru_unlink(s, inode.get());
	}
}

} // namespace atomfs::fs
