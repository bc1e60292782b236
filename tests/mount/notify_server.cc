// SPDX-License-Identifier: MIT
//
// A filesystem on atomfs::fuse that notifies the kernel from inside its
// handlers, for notify_test.cc. Usage: notify_server MOUNTPOINT THREADS.
//
//   /a        a file whose size is the number of LOOKUPs of "a" so far
//   /trigger  its LOOKUP sends FUSE_NOTIFY_INVAL_ENTRY for "a" (the kernel
//             holds the root's inode lock during that LOOKUP)
//   /b        one byte, '0' + the number of READs so far (mod 10); the first
//             READ sends FUSE_NOTIFY_INVAL_INODE for its pages (the kernel
//             holds the page being read locked during that READ)
// Entries and attributes are cached for 1000 s and b's pages are kept
// across opens, so only a notification makes the kernel ask again.
#include <atomfs/fuse/session.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using namespace atomfs::fuse;

constexpr NodeId kA = 2, kTrigger = 3, kB = 4;
constexpr double kLong = 1000;

class NotifyingFs final : public Filesystem {
public:
	Errno lookup(const Request &req, NodeId parent, std::string_view name, Entry &out) override
	{
		if (parent != kRootNodeId)
			return ENOENT;
		NodeId node = name == "a" ? kA : name == "trigger" ? kTrigger : name == "b" ? kB : 0;
		if (!node)
			return ENOENT;
		if (node == kA)
			lookups_a_++;
		if (node == kTrigger)
			(void)req.session->notify_inval_entry(kRootNodeId, "a");
		out = Entry{};
		out.nodeid = node;
		out.generation = 1;
		fill(node, out.attr);
		out.entry_timeout = node == kTrigger ? 0 : kLong;
		out.attr_timeout = node == kTrigger ? 0 : kLong;
		return 0;
	}

	Errno getattr(const Request &, NodeId node, std::optional<std::uint64_t>, Attr &out) override
	{
		if (node != kRootNodeId && node != kA && node != kTrigger && node != kB)
			return ENOENT;
		out = Attr{};
		fill(node, out.attr);
		out.timeout = node == kTrigger ? 0 : kLong;
		return 0;
	}

	Errno open(const Request &, NodeId node, int, OpenFile &out) override
	{
		out = OpenFile{};
		out.open_flags = kFopenKeepCache;
		return node == kB || node == kA || node == kTrigger ? 0 : ENOENT;
	}

	Errno read(const Request &req, NodeId node, std::uint64_t, std::uint64_t off,
		   ReadBuffer &out) override
	{
		if (node != kB)
			return EIO;
		int n = ++reads_b_;
		if (n == 1)
			(void)req.session->notify_inval_inode(kB, 0, 0);
		if (off == 0 && !out.space().empty()) {
			out.space()[0] = static_cast<std::byte>('0' + n % 10);
			out.commit(1);
		}
		return 0;
	}

private:
	void fill(NodeId node, struct stat &st) const
	{
		st = {};
		st.st_ino = node;
		st.st_nlink = 1;
		st.st_mode = node == kRootNodeId ? S_IFDIR | 0755 : S_IFREG | 0644;
		st.st_size = node == kA ? lookups_a_.load() : node == kB ? 1 : 0;
		st.st_mtim.tv_sec = 1700000000;
		st.st_ctim = st.st_atim = st.st_mtim;
	}

	std::atomic<long> lookups_a_{0};
	std::atomic<int> reads_b_{0};
};

Session *g_session = nullptr;

void on_signal(int)
{
	if (g_session)
		g_session->exit();
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 3) {
		std::fprintf(stderr, "usage: notify_server MOUNTPOINT THREADS\n");
		return 2;
	}
	NotifyingFs fs;
	MountOptions mo;
	mo.mountpoint = argv[1];
	mo.fsname = "notifytest";
	mo.subtype = "notifytest";
	SessionOptions so;
	so.threads = static_cast<unsigned>(std::atoi(argv[2]));
	std::string error;
	auto session = Session::mount(fs, mo, so, error);
	if (!session) {
		std::fprintf(stderr, "notify_server: %s\n", error.c_str());
		return 1;
	}
	g_session = session.get();
	struct sigaction sa {};
	sa.sa_handler = on_signal;
	::sigaction(SIGTERM, &sa, nullptr);
	::sigaction(SIGINT, &sa, nullptr);
	return session->run();
}
