// SPDX-License-Identifier: MIT
//
// Shared by the library's protocol tests (fuse_*_test.cc): a small in-memory
// Filesystem that counts every call and the lookups it hands out per node,
// and helpers to frame requests for the fake kernel.
//
// The tree (fixed inode numbers and times, so that reply bytes are exact):
//   1 /          directory
//   2 /file      regular, "hello world", xattr user.k = "value"
//   3 /dir       directory, with 7 /dir/inner (regular, empty) and
//                8 /dir/a-longer-name (regular, "0123456789")
//   4 /link      symlink -> "file"
//   5 /fifo      FIFO
//   6 /dev       character device 0x123:0x45678
// New files get ids from 100 on.
//
// It implements lookup/open/opendir/create but not open_atomic, so
// FUSE_OPEN_ATOMIC goes through the library's default. Knobs make races
// happen on demand: lookup answers ENOENT once for a name that exists, a
// foreign creator makes the name appear between our LOOKUP and CREATE, open
// fails once.
#pragma once

#include "protocol/abi.h"
#include "transport/fake_kernel.h"

#include <atomfs/fuse/filesystem.h>
#include <atomfs/fuse/session.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomfs::fuse::test
{

inline constexpr NodeId kFile = 2, kDir = 3, kLink = 4, kFifo = 5, kDev = 6, kInner = 7, kLong = 8;
inline constexpr const char *kFileData = "hello world";
inline constexpr unsigned kDevMajor = 0x123, kDevMinor = 0x45678;
// new_encode_dev(0x123, 0x45678), worked out by hand:
// (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)
inline constexpr std::uint32_t kDevWire = 0x78 | 0x12300 | 0x45600000;
inline constexpr double kEntryTimeout = 1.5; // 1 s + 500000000 ns
inline constexpr double kAttrTimeout = 2.25; // 2 s + 250000000 ns
inline constexpr std::uint64_t kDirFh = 0xd1d1, kFileFhBase = 0xf000;

class TestFs : public Filesystem
{
public:
	struct Node {
		NodeId id = 0;
		mode_t mode = 0;
		std::string data; // file contents or symlink target
		dev_t rdev = 0;
		NodeId parent = 1;
		std::map<std::string, NodeId, std::less<>> children;
		std::map<std::string, std::string, std::less<>> xattrs;
	};

	TestFs()
	{
		add(1, 1, "", S_IFDIR | 0755);
		add(kFile, 1, "file", S_IFREG | 0644).data = kFileData;
		nodes_[kFile].xattrs["user.k"] = "value";
		add(kDir, 1, "dir", S_IFDIR | 0750);
		add(kLink, 1, "link", S_IFLNK | 0777).data = "file";
		add(kFifo, 1, "fifo", S_IFIFO | 0600);
		add(kDev, 1, "dev", S_IFCHR | 0660).rdev = makedev(kDevMajor, kDevMinor);
		add(kInner, kDir, "inner", S_IFREG | 0600);
		add(kLong, kDir, "a-longer-name", S_IFREG | 0644).data = "0123456789";
	}

	// The attributes every reply carries, from fixed numbers.
	static struct stat stat_of(const Node &n)
	{
		struct stat st {
		};
		st.st_ino = n.id;
		st.st_mode = n.mode;
		st.st_nlink = S_ISDIR(n.mode) ? 2 : 1;
		st.st_uid = 1000 + static_cast<uid_t>(n.id);
		st.st_gid = 2000 + static_cast<gid_t>(n.id);
		st.st_size = static_cast<off_t>(n.data.size());
		st.st_blocks = 8 * static_cast<blkcnt_t>(n.id);
		st.st_blksize = 4096;
		st.st_rdev = n.rdev;
		st.st_atim = {1700000000 + static_cast<time_t>(n.id), 111};
		st.st_mtim = {1700000100 + static_cast<time_t>(n.id), 222};
		st.st_ctim = {1700000200 + static_cast<time_t>(n.id), 333};
		return st;
	}

	// --- what the tests look at (all under the lock) -------------------

	int calls(const std::string &method) const
	{
		std::lock_guard<std::mutex> l(mu_);
		auto it = calls_.find(method);
		return it == calls_.end() ? 0 : it->second;
	}
	// Lookups handed out minus those forgotten.
	std::int64_t nlookup(NodeId id) const
	{
		std::lock_guard<std::mutex> l(mu_);
		auto it = nlookup_.find(id);
		return it == nlookup_.end() ? 0 : it->second;
	}
	std::int64_t total_nlookup() const
	{
		std::lock_guard<std::mutex> l(mu_);
		std::int64_t n = 0;
		for (auto &[id, c] : nlookup_)
			n += c;
		return n;
	}
	std::optional<NodeId> child(NodeId parent, std::string_view name) const
	{
		std::lock_guard<std::mutex> l(mu_);
		auto &ch = nodes_.at(parent).children;
		auto it = ch.find(name);
		if (it == ch.end())
			return std::nullopt;
		return it->second;
	}
	struct Recorded {
		int create_flags = -1;
		mode_t create_mode = 0, create_umask = 0;
		int open_flags = -1;
		int opendir_flags = -1;
		Caller create_caller;
		Caller lookup_caller;
		std::size_t read_space = 0;
		std::vector<std::byte> written;
		std::uint32_t write_flags = 0;
		std::uint64_t write_off = 0;
		std::uint64_t getattr_fh = 0;
		bool getattr_had_fh = false;
		ConnectionInfo init_info;
		std::uint64_t init_want = 0;
		std::vector<std::pair<NodeId, std::uint64_t>> forgets;
		std::string xattr_name;
		std::vector<std::byte> xattr_value;
		int xattr_flags = -1;
		mode_t mknod_mode = 0, mknod_umask = 0;
		dev_t mknod_rdev = 0;
		SetAttr setattr_in;
	};
	Recorded recorded() const
	{
		std::lock_guard<std::mutex> l(mu_);
		return rec_;
	}
	// Blocks until destroy() was called (or the timeout passed).
	bool wait_destroyed(int ms = 5000)
	{
		std::unique_lock<std::mutex> l(mu_);
		return cv_.wait_for(l, std::chrono::milliseconds(ms),
				    [&] { return calls_["destroy"] > 0; });
	}

	// --- knobs ----------------------------------------------------------

	// lookup(name) answers ENOENT once although the name may exist.
	void lookup_enoent_once(std::string name)
	{
		std::lock_guard<std::mutex> l(mu_);
		lookup_enoent_once_ = std::move(name);
	}
	// The first create(name) finds that someone else just created it: the
	// name appears (no lookup counted for us) and create answers EEXIST.
	void foreign_create_once(std::string name)
	{
		std::lock_guard<std::mutex> l(mu_);
		foreign_create_once_ = std::move(name);
	}
	// The next open() fails with err.
	void open_fails_once(Errno err)
	{
		std::lock_guard<std::mutex> l(mu_);
		open_fails_once_ = err;
	}
	// The next lookup() of `name` (or readdir() when name is empty) waits
	// inside the filesystem until open_gate(); wait_in_gate() returns once
	// it is there. For replies that cannot be delivered.
	void close_gate(std::string name)
	{
		std::lock_guard<std::mutex> l(mu_);
		gate_name_ = std::move(name);
		gate_closed_ = true;
		in_gate_ = false;
	}
	bool wait_in_gate(int ms = 5000)
	{
		std::unique_lock<std::mutex> l(mu_);
		return cv_.wait_for(l, std::chrono::milliseconds(ms), [&] { return in_gate_; });
	}
	void open_gate()
	{
		{
			std::lock_guard<std::mutex> l(mu_);
			gate_closed_ = false;
		}
		cv_.notify_all();
	}
	// init() clears these bits of want.
	void refuse_in_init(std::uint64_t bits)
	{
		std::lock_guard<std::mutex> l(mu_);
		refuse_ = bits;
	}
	void set_stats_fields(std::string s)
	{
		std::lock_guard<std::mutex> l(mu_);
		stats_fields_ = std::move(s);
	}

	// --- Filesystem -------------------------------------------------------

	void init(const ConnectionInfo &info, std::uint64_t &want) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["init"]++;
		rec_.init_info = info;
		rec_.init_want = want;
		want &= ~refuse_;
	}
	void destroy() override
	{
		{
			std::lock_guard<std::mutex> l(mu_);
			calls_["destroy"]++;
		}
		cv_.notify_all();
	}
	std::string stats_json_fields() const override
	{
		std::lock_guard<std::mutex> l(mu_);
		return stats_fields_;
	}

	Errno lookup(const Request &req, NodeId parent, std::string_view name, Entry &out) override
	{
		std::unique_lock<std::mutex> l(mu_);
		calls_["lookup"]++;
		rec_.lookup_caller = req.caller;
		gate(l, name);
		if (!lookup_enoent_once_.empty() && name == lookup_enoent_once_) {
			lookup_enoent_once_.clear();
			return ENOENT;
		}
		auto pit = nodes_.find(parent);
		if (pit == nodes_.end())
			return ESTALE;
		if (!S_ISDIR(pit->second.mode))
			return ENOTDIR;
		auto it = pit->second.children.find(name);
		if (it == pit->second.children.end())
			return ENOENT;
		out = entry_locked(it->second);
		return 0;
	}
	void forget(NodeId node, std::uint64_t n) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["forget"]++;
		rec_.forgets.emplace_back(node, n);
		nlookup_[node] -= static_cast<std::int64_t>(n);
	}
	Errno getattr(const Request &, NodeId node, std::optional<std::uint64_t> fh,
		      Attr &out) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["getattr"]++;
		rec_.getattr_had_fh = fh.has_value();
		rec_.getattr_fh = fh.value_or(0);
		auto it = nodes_.find(node);
		if (it == nodes_.end())
			return ESTALE;
		out.attr = stat_of(it->second);
		out.timeout = kAttrTimeout;
		return 0;
	}
	Errno setattr(const Request &, NodeId node, const SetAttr &in, Attr &out) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["setattr"]++;
		rec_.setattr_in = in;
		auto it = nodes_.find(node);
		if (it == nodes_.end())
			return ESTALE;
		if (in.valid & abi::FATTR_SIZE)
			it->second.data.resize(static_cast<std::size_t>(in.attr.st_size));
		out.attr = stat_of(it->second);
		out.timeout = kAttrTimeout;
		return 0;
	}
	Errno readlink(const Request &, NodeId node, std::span<char> buf, std::size_t &len) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["readlink"]++;
		auto it = nodes_.find(node);
		if (it == nodes_.end())
			return ESTALE;
		if (!S_ISLNK(it->second.mode))
			return EINVAL;
		const std::string &t = it->second.data;
		len = std::min(t.size(), buf.size());
		std::memcpy(buf.data(), t.data(), len);
		return 0;
	}
	Errno open(const Request &, NodeId node, int flags, OpenFile &out) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["open"]++;
		rec_.open_flags = flags;
		if (open_fails_once_) {
			Errno e = open_fails_once_;
			open_fails_once_ = 0;
			return e;
		}
		auto it = nodes_.find(node);
		if (it == nodes_.end())
			return ESTALE;
		if (S_ISDIR(it->second.mode))
			return EISDIR;
		out.fh = kFileFhBase + node;
		out.open_flags = abi::FOPEN_KEEP_CACHE;
		return 0;
	}
	Errno opendir(const Request &, NodeId node, int flags, OpenFile &out) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["opendir"]++;
		rec_.opendir_flags = flags;
		auto it = nodes_.find(node);
		if (it == nodes_.end())
			return ESTALE;
		if (!S_ISDIR(it->second.mode))
			return ENOTDIR;
		out.fh = kDirFh;
		out.open_flags = abi::FOPEN_CACHE_DIR;
		return 0;
	}
	Errno create(const Request &req, NodeId parent, std::string_view name, int flags,
		     mode_t mode, mode_t umask, Entry &entry, OpenFile &out) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["create"]++;
		rec_.create_flags = flags;
		rec_.create_mode = mode;
		rec_.create_umask = umask;
		rec_.create_caller = req.caller;
		auto pit = nodes_.find(parent);
		if (pit == nodes_.end())
			return ESTALE;
		if (!foreign_create_once_.empty() && name == foreign_create_once_) {
			foreign_create_once_.clear();
			add(next_id_++, parent, std::string(name), S_IFREG | 0640);
		}
		if (pit->second.children.count(name)) {
			if (flags & O_EXCL)
				return EEXIST;
		} else {
			add(next_id_++, parent, std::string(name),
			    S_IFREG | (mode & ~umask & 07777));
		}
		NodeId id = nodes_[parent].children.find(name)->second;
		entry = entry_locked(id);
		out.fh = kFileFhBase + id;
		return 0;
	}
	Errno read(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off,
		   ReadBuffer &out) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["read"]++;
		auto space = out.space();
		rec_.read_space = space.size();
		auto it = nodes_.find(node);
		if (it == nodes_.end())
			return ESTALE;
		const std::string &d = it->second.data;
		if (off >= d.size()) {
			out.commit(0);
			return 0;
		}
		std::size_t n = std::min<std::size_t>(d.size() - off, space.size());
		std::memcpy(space.data(), d.data() + off, n);
		out.commit(n);
		return 0;
	}
	Errno write(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off,
		    std::span<const std::byte> data, std::uint32_t write_flags,
		    std::size_t &written) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["write"]++;
		rec_.written.assign(data.begin(), data.end());
		rec_.write_flags = write_flags;
		rec_.write_off = off;
		auto it = nodes_.find(node);
		if (it == nodes_.end())
			return ESTALE;
		std::string &d = it->second.data;
		if (d.size() < off + data.size())
			d.resize(off + data.size());
		std::memcpy(d.data() + off, data.data(), data.size());
		written = data.size();
		return 0;
	}
	Errno release(const Request &, NodeId, std::uint64_t, int) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["release"]++;
		return 0;
	}
	Errno releasedir(const Request &, NodeId, std::uint64_t) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["releasedir"]++;
		return 0;
	}
	// Entries: ".", "..", then the children in name order; the offset of an
	// entry is its index + 1. "." and ".." carry no lookup (nodeid 0).
	Errno readdir(const Request &, NodeId node, std::uint64_t fh, std::uint64_t off,
		      DirBuffer &out) override
	{
		std::unique_lock<std::mutex> l(mu_);
		calls_[out.plus() ? "readdirplus" : "readdir"]++;
		gate(l, "");
		auto it = nodes_.find(node);
		if (it == nodes_.end())
			return ESTALE;
		struct Item {
			std::string name;
			NodeId id;
			bool dot;
		};
		std::vector<Item> items = {{".", node, true}, {"..", it->second.parent, true}};
		for (auto &[name, id] : it->second.children)
			items.push_back({name, id, false});
		for (std::size_t i = off; i < items.size(); i++) {
			const Item &e = items[i];
			const Node &n = nodes_.at(e.id);
			if (!out.plus()) {
				if (!out.add(e.name, n.id, n.mode, i + 1))
					break;
				continue;
			}
			if (!out.fits_plus(e.name))
				break;
			Entry ent;
			if (e.dot) {
				ent.attr.st_ino = n.id;
				ent.attr.st_mode = n.mode;
			} else {
				ent = entry_locked(e.id);
			}
			if (!out.add_plus(e.name, ent, i + 1))
				return EIO; // fits_plus said it fits
		}
		return 0;
	}
	Errno statfs(const Request &, NodeId, struct statvfs &out) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["statfs"]++;
		out = {};
		out.f_blocks = 1000001;
		out.f_bfree = 500002;
		out.f_bavail = 400003;
		out.f_files = 70004;
		out.f_ffree = 60005;
		out.f_bsize = 4096;
		out.f_frsize = 1024;
		out.f_namemax = 255;
		return 0;
	}
	// Size query and short buffers: `len` is the value's size; bytes are
	// copied only when they fit (the library turns len > size into ERANGE).
	Errno getxattr(const Request &, NodeId node, std::string_view name,
		       std::span<std::byte> buf, std::size_t &len) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["getxattr"]++;
		auto it = nodes_.find(node);
		if (it == nodes_.end())
			return ESTALE;
		auto x = it->second.xattrs.find(name);
		if (x == it->second.xattrs.end())
			return ENODATA;
		len = x->second.size();
		if (!buf.empty() && len <= buf.size())
			std::memcpy(buf.data(), x->second.data(), len);
		return 0;
	}

	Errno setxattr(const Request &, NodeId node, std::string_view name,
		       std::span<const std::byte> value, int flags) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["setxattr"]++;
		rec_.xattr_name = std::string(name);
		rec_.xattr_value.assign(value.begin(), value.end());
		rec_.xattr_flags = flags;
		return 0;
	}
	Errno mknod(const Request &, NodeId parent, std::string_view name, mode_t mode, dev_t rdev,
		    mode_t umask, Entry &out) override
	{
		std::lock_guard<std::mutex> l(mu_);
		calls_["mknod"]++;
		rec_.mknod_mode = mode;
		rec_.mknod_umask = umask;
		rec_.mknod_rdev = rdev;
		if (nodes_.at(parent).children.count(name))
			return EEXIST;
		NodeId id = next_id_++;
		add(id, parent, std::string(name), mode & ~umask).rdev = rdev;
		out = entry_locked(id);
		return 0;
	}

private:
	void gate(std::unique_lock<std::mutex> &l, std::string_view name)
	{
		if (!gate_closed_ || name != gate_name_)
			return;
		in_gate_ = true;
		cv_.notify_all();
		cv_.wait(l, [&] { return !gate_closed_; });
	}

	Node &add(NodeId id, NodeId parent, std::string name, mode_t mode)
	{
		Node &n = nodes_[id];
		n.id = id;
		n.mode = mode;
		n.parent = parent;
		if (id != parent)
			nodes_[parent].children[std::move(name)] = id;
		return n;
	}
	Entry entry_locked(NodeId id)
	{
		Entry e;
		e.nodeid = id;
		e.generation = 7;
		e.attr = stat_of(nodes_.at(id));
		e.entry_timeout = kEntryTimeout;
		e.attr_timeout = kAttrTimeout;
		nlookup_[id]++;
		return e;
	}

	mutable std::mutex mu_;
	std::condition_variable cv_;
	std::map<NodeId, Node> nodes_;
	std::map<NodeId, std::int64_t> nlookup_;
	std::map<std::string, int> calls_;
	NodeId next_id_ = 100;
	Recorded rec_;
	std::string lookup_enoent_once_, foreign_create_once_;
	Errno open_fails_once_ = 0;
	std::uint64_t refuse_ = 0;
	std::string stats_fields_;
	std::string gate_name_;
	bool gate_closed_ = false, in_gate_ = false;
};

// --- framing helpers -----------------------------------------------------------

using Bytes = std::vector<std::byte>;

template <class T> inline void append(Bytes &b, const T &v)
{
	auto p = reinterpret_cast<const std::byte *>(&v);
	b.insert(b.end(), p, p + sizeof(T));
}
inline void append(Bytes &b, std::string_view s)
{
	auto p = reinterpret_cast<const std::byte *>(s.data());
	b.insert(b.end(), p, p + s.size());
}
inline Bytes bytes_of(std::string_view s)
{
	Bytes b;
	append(b, s);
	return b;
}
template <class T> inline Bytes bytes_of(const T &v)
{
	Bytes b;
	append(b, v);
	return b;
}

// A request: header + args (+ extensions counted by total_extlen, which the
// caller appends to args). len is the real size unless overridden.
inline Bytes frame(std::uint32_t opcode, std::uint64_t unique, std::uint64_t nodeid,
		   const Bytes &args, std::uint16_t total_extlen = 0,
		   std::optional<std::uint32_t> len = std::nullopt)
{
	abi::fuse_in_header h{};
	h.len = len.value_or(static_cast<std::uint32_t>(sizeof(h) + args.size()));
	h.opcode = opcode;
	h.unique = unique;
	h.nodeid = nodeid;
	h.uid = 1001;
	h.gid = 1002;
	h.pid = 1003;
	h.total_extlen = total_extlen;
	Bytes b;
	append(b, h);
	b.insert(b.end(), args.begin(), args.end());
	return b;
}

// The next message with this unique (skipping none: a message with another
// unique is a test failure reported by the caller through the result).
inline std::optional<FakeKernel::Reply> reply_to(FakeKernel &k, std::uint64_t unique,
						 int timeout_ms = 5000)
{
	auto r = k.receive(timeout_ms);
	if (!r || r->unique != unique)
		return std::nullopt;
	return r;
}

inline SessionOptions one_thread(SessionOptions o = {})
{
	o.threads = 1;
	return o;
}

// The flat {"KEY":N,...} object after "\"<key>\":{" in the stats JSON.
inline std::map<std::string, std::uint64_t> flat_object(const std::string &json,
							const std::string &key)
{
	std::map<std::string, std::uint64_t> out;
	std::string start = "\"" + key + "\":{";
	auto p = json.find(start);
	if (p == std::string::npos) {
		out["<missing>"] = 1;
		return out;
	}
	p += start.size();
	while (p < json.size() && json[p] != '}') {
		if (json[p] == ',') {
			p++;
			continue;
		}
		if (json[p] != '"') {
			out["<bad>"] = 1;
			return out;
		}
		auto q = json.find('"', p + 1);
		std::string name = json.substr(p + 1, q - p - 1);
		p = q + 1;
		if (json[p] != ':') {
			out["<bad>"] = 1;
			return out;
		}
		p++;
		std::uint64_t v = 0;
		std::size_t digits = 0;
		while (p < json.size() && json[p] >= '0' && json[p] <= '9') {
			v = v * 10 + static_cast<std::uint64_t>(json[p++] - '0');
			digits++;
		}
		if (!digits) {
			out["<bad>"] = 1;
			return out;
		}
		out[name] = v;
	}
	return out;
}

// "malformed":N
inline std::int64_t json_number(const std::string &json, const std::string &key)
{
	std::string start = "\"" + key + "\":";
	auto p = json.find(start);
	if (p == std::string::npos)
		return -1;
	return std::stoll(json.substr(p + start.size()));
}

} // namespace atomfs::fuse::test
