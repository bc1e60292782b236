// SPDX-License-Identifier: MIT
//
// An in-memory tree on atomfs_fuse: files, directories, create, rename,
// unlink and hard links. It implements lookup, open and create but not
// open_atomic: the library's default builds FUSE_OPEN_ATOMIC from them, so
// on a kernel with atomic open every uncached open or create is one request.
//   memfs MOUNTPOINT [STATS_FILE]   (ends on unmount or SIGINT/SIGTERM;
//                                    SIGUSR1 rewrites STATS_FILE)
#include <atomfs/fuse/filesystem.h>
#include <atomfs/fuse/session.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

using namespace atomfs::fuse;

namespace {

struct Node {
	struct stat st {};
	std::string data;                         // regular files
	std::map<std::string, NodeId, std::less<>> children; // directories
	std::uint64_t lookups = 0;                // the kernel's references
	unsigned opens = 0;
};

class Memfs final : public Filesystem {
public:
	Memfs()
	{
		Node &root = nodes_[kRootNodeId];
		root.st = new_stat(kRootNodeId, S_IFDIR | 0755, {});
		root.st.st_nlink = 2;
	}

	Errno lookup(const Request &, NodeId parent, std::string_view name, Entry &out) override
	{
		std::lock_guard lock(mu_);
		Node *dir = find(parent);
		if (!dir || !S_ISDIR(dir->st.st_mode))
			return ENOTDIR;
		auto it = dir->children.find(name);
		if (it == dir->children.end())
			return ENOENT;
		return entry(it->second, out);
	}
	void forget(NodeId node, std::uint64_t n) override
	{
		std::lock_guard lock(mu_);
		if (Node *x = find(node)) {
			x->lookups -= std::min(n, x->lookups);
			drop_if_unused(node);
		}
	}
	Errno getattr(const Request &, NodeId node, std::optional<std::uint64_t>, Attr &out) override
	{
		std::lock_guard lock(mu_);
		Node *x = find(node);
		if (!x)
			return ENOENT;
		out.attr = x->st;
		out.timeout = kTimeout;
		return 0;
	}
	Errno setattr(const Request &, NodeId node, const SetAttr &in, Attr &out) override
	{
		std::lock_guard lock(mu_);
		Node *x = find(node);
		if (!x)
			return ENOENT;
		if (in.valid & kSetattrMode)
			x->st.st_mode = (x->st.st_mode & S_IFMT) | (in.attr.st_mode & 07777);
		if (in.valid & kSetattrUid)
			x->st.st_uid = in.attr.st_uid;
		if (in.valid & kSetattrGid)
			x->st.st_gid = in.attr.st_gid;
		if (in.valid & kSetattrSize) {
			if (!S_ISREG(x->st.st_mode))
				return EISDIR;
			x->data.resize(static_cast<std::size_t>(in.attr.st_size));
			x->st.st_size = in.attr.st_size;
			x->st.st_mtim = now();
		}
		if (in.valid & kSetattrAtime)
			x->st.st_atim = in.valid & kSetattrAtimeNow ? now() : in.attr.st_atim;
		if (in.valid & kSetattrMtime)
			x->st.st_mtim = in.valid & kSetattrMtimeNow ? now() : in.attr.st_mtim;
		x->st.st_ctim = now();
		out.attr = x->st;
		out.timeout = kTimeout;
		return 0;
	}
	Errno mkdir(const Request &req, NodeId parent, std::string_view name, mode_t mode,
		    mode_t umask, Entry &out) override
	{
		std::lock_guard lock(mu_);
		Errno e = add(req, parent, name, S_IFDIR | (mode & ~umask & 07777), out);
		if (e == 0) {
			nodes_[out.nodeid].st.st_nlink = 2;
			nodes_[parent].st.st_nlink++;
			out.attr = nodes_[out.nodeid].st;
		}
		return e;
	}
	Errno create(const Request &req, NodeId parent, std::string_view name, int flags,
		     mode_t mode, mode_t umask, Entry &entry, OpenFile &out) override
	{
		std::lock_guard lock(mu_);
		Errno e = add(req, parent, name, S_IFREG | (mode & ~umask & 07777), entry);
		if (e == 0)
			nodes_[entry.nodeid].opens++;
		return e;
	}
	Errno unlink(const Request &, NodeId parent, std::string_view name) override
	{
		std::lock_guard lock(mu_);
		return remove(parent, name, false);
	}
	Errno rmdir(const Request &, NodeId parent, std::string_view name) override
	{
		std::lock_guard lock(mu_);
		return remove(parent, name, true);
	}
	Errno rename(const Request &, NodeId parent, std::string_view name, NodeId new_parent,
		     std::string_view new_name, std::uint32_t flags) override
	{
		std::lock_guard lock(mu_);
		if (flags & ~RENAME_NOREPLACE)
			return EINVAL; // no RENAME_EXCHANGE / WHITEOUT
		Node *from = find(parent), *to = find(new_parent);
		if (!from || !to)
			return ENOENT;
		auto it = from->children.find(name);
		if (it == from->children.end())
			return ENOENT;
		NodeId moved = it->second;
		bool is_dir = S_ISDIR(nodes_[moved].st.st_mode);
		if (is_dir && is_ancestor(moved, new_parent))
			return EINVAL;
		auto old = to->children.find(new_name);
		if (old != to->children.end()) {
			if (old->second == moved)
				return 0;
			if (flags & RENAME_NOREPLACE)
				return EEXIST;
			Node &target = nodes_[old->second];
			if (is_dir != S_ISDIR(target.st.st_mode))
				return is_dir ? ENOTDIR : EISDIR;
			if (Errno e = remove(new_parent, new_name, is_dir))
				return e;
		}
		from->children.erase(std::string(name));
		to->children.emplace(std::string(new_name), moved);
		if (is_dir && parent != new_parent) {
			from->st.st_nlink--;
			to->st.st_nlink++;
		}
		from->st.st_mtim = to->st.st_mtim = now();
		nodes_[moved].st.st_ctim = now();
		return 0;
	}
	Errno link(const Request &, NodeId node, NodeId new_parent, std::string_view new_name,
		   Entry &out) override
	{
		std::lock_guard lock(mu_);
		Node *x = find(node), *dir = find(new_parent);
		if (!x || !dir)
			return ENOENT;
		if (S_ISDIR(x->st.st_mode))
			return EPERM;
		if (!dir->children.emplace(std::string(new_name), node).second)
			return EEXIST;
		x->st.st_nlink++;
		x->st.st_ctim = dir->st.st_mtim = now();
		return entry(node, out);
	}
	Errno open(const Request &, NodeId node, int flags, OpenFile &) override
	{
		std::lock_guard lock(mu_);
		Node *x = find(node);
		if (!x)
			return ENOENT;
		if (flags & O_TRUNC) {
			x->data.clear();
			x->st.st_size = 0;
		}
		x->opens++;
		return 0;
	}
	Errno read(const Request &, NodeId node, std::uint64_t, std::uint64_t off,
		   ReadBuffer &out) override
	{
		std::lock_guard lock(mu_);
		Node *x = find(node);
		if (!x)
			return ENOENT;
		if (off < x->data.size()) {
			std::size_t n = std::min(out.space().size(), x->data.size() - off);
			std::memcpy(out.space().data(), x->data.data() + off, n);
			out.commit(n);
		}
		return 0;
	}
	Errno write(const Request &, NodeId node, std::uint64_t, std::uint64_t off,
		    std::span<const std::byte> data, std::uint32_t, std::size_t &written) override
	{
		std::lock_guard lock(mu_);
		Node *x = find(node);
		if (!x)
			return ENOENT;
		if (off + data.size() > x->data.size())
			x->data.resize(off + data.size());
		std::memcpy(x->data.data() + off, data.data(), data.size());
		x->st.st_size = static_cast<off_t>(x->data.size());
		x->st.st_mtim = x->st.st_ctim = now();
		written = data.size();
		return 0;
	}
	Errno flush(const Request &, NodeId, std::uint64_t, std::uint64_t) override { return 0; }
	Errno release(const Request &, NodeId node, std::uint64_t, int) override
	{
		std::lock_guard lock(mu_);
		if (Node *x = find(node)) {
			x->opens--;
			drop_if_unused(node);
		}
		return 0;
	}
	Errno opendir(const Request &, NodeId node, int, OpenFile &) override
	{
		std::lock_guard lock(mu_);
		Node *x = find(node);
		return !x ? ENOENT : S_ISDIR(x->st.st_mode) ? 0 : ENOTDIR;
	}
	// Offsets are positions in the name-ordered children; a rename during a
	// listing may skip or repeat a name, as on many filesystems.
	Errno readdir(const Request &, NodeId node, std::uint64_t, std::uint64_t off,
		      DirBuffer &out) override
	{
		std::lock_guard lock(mu_);
		Node *dir = find(node);
		if (!dir)
			return ENOENT;
		std::uint64_t pos = 0;
		for (auto &[name, id] : dir->children) {
			if (pos++ < off)
				continue;
			if (!out.plus()) {
				if (!out.add(name, id, nodes_[id].st.st_mode & S_IFMT, pos))
					break;
				continue;
			}
			if (!out.fits_plus(name))
				break;
			Entry e;
			entry(id, e); // counts the lookup the entry carries
			out.add_plus(name, e, pos);
		}
		return 0;
	}
	Errno releasedir(const Request &, NodeId, std::uint64_t) override { return 0; }
	Errno statfs(const Request &, NodeId, struct statvfs &out) override
	{
		out = {};
		out.f_bsize = out.f_frsize = 4096;
		out.f_namemax = 255;
		return 0;
	}

private:
	static constexpr double kTimeout = 1.0;

	static struct timespec now()
	{
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		return t;
	}
	static struct stat new_stat(NodeId id, mode_t mode, const Caller &who)
	{
		struct stat st {};
		st.st_ino = id;
		st.st_mode = mode;
		st.st_nlink = 1;
		st.st_uid = who.uid;
		st.st_gid = who.gid;
		st.st_blksize = 4096;
		st.st_atim = st.st_mtim = st.st_ctim = now();
		return st;
	}
	Node *find(NodeId id)
	{
		auto it = nodes_.find(id);
		return it == nodes_.end() ? nullptr : &it->second;
	}
	Errno entry(NodeId id, Entry &out)
	{
		Node &x = nodes_[id];
		x.lookups++;
		out.nodeid = id;
		out.attr = x.st;
		out.entry_timeout = out.attr_timeout = kTimeout;
		return 0;
	}
	Errno add(const Request &req, NodeId parent, std::string_view name, mode_t mode,
		  Entry &out)
	{
		Node *dir = find(parent);
		if (!dir || !S_ISDIR(dir->st.st_mode))
			return ENOTDIR;
		if (dir->children.count(name))
			return EEXIST;
		NodeId id = next_id_++;
		nodes_[id].st = new_stat(id, mode, req.caller);
		nodes_[parent].children.emplace(std::string(name), id);
		nodes_[parent].st.st_mtim = now();
		return entry(id, out);
	}
	Errno remove(NodeId parent, std::string_view name, bool dir_wanted)
	{
		Node *dir = find(parent);
		if (!dir)
			return ENOENT;
		auto it = dir->children.find(name);
		if (it == dir->children.end())
			return ENOENT;
		NodeId id = it->second;
		Node &x = nodes_[id];
		bool is_dir = S_ISDIR(x.st.st_mode);
		if (dir_wanted && !is_dir)
			return ENOTDIR;
		if (!dir_wanted && is_dir)
			return EISDIR;
		if (is_dir && !x.children.empty())
			return ENOTEMPTY;
		dir->children.erase(it);
		if (is_dir) {
			x.st.st_nlink = 0;
			nodes_[parent].st.st_nlink--;
		} else {
			x.st.st_nlink--;
		}
		x.st.st_ctim = nodes_[parent].st.st_mtim = now();
		drop_if_unused(id);
		return 0;
	}
	bool is_ancestor(NodeId dir, NodeId node)
	{
		// node is dir or below it: walk up by searching parents (small trees).
		for (NodeId cur = node; cur != kRootNodeId;) {
			if (cur == dir)
				return true;
			NodeId up = kRootNodeId;
			for (auto &[id, n] : nodes_)
				for (auto &[nm, child] : n.children)
					if (child == cur && S_ISDIR(n.st.st_mode))
						up = id;
			cur = up;
		}
		return dir == kRootNodeId;
	}
	void drop_if_unused(NodeId id)
	{
		Node &x = nodes_[id];
		if (id != kRootNodeId && x.st.st_nlink == 0 && x.lookups == 0 && x.opens == 0)
			nodes_.erase(id);
	}

	std::mutex mu_;
	std::unordered_map<NodeId, Node> nodes_;
	NodeId next_id_ = 2;
};

Session *g_session = nullptr;
void on_signal(int) { g_session->exit(); } // async-signal-safe

} // namespace

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		std::fprintf(stderr, "usage: memfs MOUNTPOINT [STATS_FILE]\n");
		return 2;
	}
	Memfs fs;
	MountOptions mo;
	mo.mountpoint = argv[1];
	mo.fsname = "memfs";
	mo.subtype = "memfs";
	SessionOptions so;
	if (argc == 3) {
		so.stats_path = argv[2];
		so.stats_signal = true;
	}
	std::string error;
	auto session = Session::mount(fs, mo, so, error);
	if (!session) {
		std::fprintf(stderr, "memfs: %s\n", error.c_str());
		return 1;
	}
	g_session = session.get();
	std::signal(SIGINT, on_signal);
	std::signal(SIGTERM, on_signal);
	return session->run();
}
