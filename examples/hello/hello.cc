// SPDX-License-Identifier: MIT
//
// The smallest complete filesystem on atomfs_fuse: one read-only file.
//   hello MOUNTPOINT        (ends on unmount or SIGINT/SIGTERM)
#include <atomfs/fuse/filesystem.h>
#include <atomfs/fuse/session.h>

#include <fcntl.h>

#include <csignal>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

using namespace atomfs::fuse;

namespace {

constexpr std::string_view kName = "hello";
constexpr std::string_view kText = "Hello, world!\n";
constexpr NodeId kFile = 2;

class Hello final : public Filesystem {
public:
	Errno lookup(const Request &, NodeId parent, std::string_view name, Entry &out) override
	{
		if (parent != kRootNodeId || name != kName)
			return ENOENT;
		out.nodeid = kFile;
		out.attr = stat_of(kFile);
		out.entry_timeout = out.attr_timeout = 60;
		return 0;
	}
	Errno getattr(const Request &, NodeId node, std::optional<std::uint64_t>, Attr &out) override
	{
		if (node != kRootNodeId && node != kFile)
			return ENOENT;
		out.attr = stat_of(node);
		out.timeout = 60;
		return 0;
	}
	Errno open(const Request &, NodeId node, int flags, OpenFile &) override
	{
		if (node != kFile)
			return EISDIR;
		return (flags & O_ACCMODE) == O_RDONLY ? 0 : EACCES;
	}
	Errno read(const Request &, NodeId, std::uint64_t, std::uint64_t off, ReadBuffer &out) override
	{
		if (off < kText.size()) {
			std::size_t n = std::min(out.space().size(), kText.size() - off);
			std::memcpy(out.space().data(), kText.data() + off, n);
			out.commit(n);
		}
		return 0;
	}
	Errno release(const Request &, NodeId, std::uint64_t, int) override { return 0; }
	Errno opendir(const Request &, NodeId node, int, OpenFile &) override
	{
		return node == kRootNodeId ? 0 : ENOTDIR;
	}
	Errno readdir(const Request &, NodeId, std::uint64_t, std::uint64_t off, DirBuffer &out) override
	{
		// Offsets are positions: the entry at 0 is the file, 1 is the end.
		if (off == 0 && !out.plus())
			out.add(kName, kFile, S_IFREG, 1);
		if (off == 0 && out.plus()) {
			Entry e;
			lookup({}, kRootNodeId, kName, e);
			out.add_plus(kName, e, 1); // the one lookup it counts is never forgotten here
		}
		return 0;
	}
	Errno releasedir(const Request &, NodeId, std::uint64_t) override { return 0; }

private:
	static struct stat stat_of(NodeId node)
	{
		struct stat st {};
		st.st_ino = node;
		if (node == kRootNodeId) {
			st.st_mode = S_IFDIR | 0555;
			st.st_nlink = 2;
		} else {
			st.st_mode = S_IFREG | 0444;
			st.st_nlink = 1;
			st.st_size = static_cast<off_t>(kText.size());
		}
		return st;
	}
};

Session *g_session = nullptr;
void on_signal(int) { g_session->exit(); } // async-signal-safe

} // namespace

int main(int argc, char **argv)
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: hello MOUNTPOINT\n");
		return 2;
	}
	Hello fs;
	MountOptions mo;
	mo.mountpoint = argv[1];
	mo.fsname = "hello";
	mo.subtype = "hello";
	std::string error;
	auto session = Session::mount(fs, mo, SessionOptions{}, error);
	if (!session) {
		std::fprintf(stderr, "hello: %s\n", error.c_str());
		return 1;
	}
	g_session = session.get();
	std::signal(SIGINT, on_signal);
	std::signal(SIGTERM, on_signal);
	return session->run();
}
