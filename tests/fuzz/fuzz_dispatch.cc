// SPDX-License-Identifier: MIT
//
// libFuzzer harness: arbitrary request bytes to the library's dispatcher,
// through the fake kernel transport (a socketpair), with the atomfs
// filesystem behind it on a scratch source directory that is rebuilt for
// every input (so that a crash replays exactly from its file).
//
// An input is split into requests by fuse_in_header.len, as the kernel
// would frame them; a len that is too small or runs past the input sends
// the remainder as one malformed message and ends the input. Every reply
// the session writes is checked: its length field equals the bytes
// received, its error is 0 or a negated errno (-4095..-1), its unique names
// a request that was sent and not answered yet, FORGET / BATCH_FORGET
// are never answered, and every other well-framed request is answered
// within 30 s (a missing reply is a hang). The seed corpus (make_corpus.py) begins with INIT;
// inputs without INIT exercise the not-initialized paths.
#include "fuzz_link.h"

#include "passthrough.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ftw.h>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

struct InHeader {
	std::uint32_t len, opcode;
	std::uint64_t unique, nodeid;
	std::uint32_t uid, gid, pid;
	std::uint16_t total_extlen, padding;
};
static_assert(sizeof(InHeader) == 40);
struct OutHeader {
	std::uint32_t len;
	std::int32_t error;
	std::uint64_t unique;
};
constexpr std::uint32_t kForget = 2, kBatchForget = 42, kInterrupt = 36, kNotifyReply = 41,
			 kDestroy = 38;

[[noreturn]] void bug(const char *what)
{
	std::fprintf(stderr, "fuzz_dispatch: reply check failed: %s\n", what);
	std::abort();
}

std::string g_base;

// A fresh source: a file, a directory with a file, a symlink pointing
// outside, and a FIFO (which the server must never open).
std::string fresh_source()
{
	if (g_base.empty()) {
		char tmpl[] = "/tmp/atomfs-fuzz-XXXXXX";
		if (!::mkdtemp(tmpl))
			std::abort();
		g_base = tmpl;
	}
	std::string src = g_base + "/src";
	::nftw(
		src.c_str(), [](const char *p, const struct stat *, int, struct FTW *) { return ::remove(p); },
		16, FTW_DEPTH | FTW_PHYS);
	::mkdir(src.c_str(), 0755);
	int fd = ::open((src + "/f").c_str(), O_WRONLY | O_CREAT, 0644);
	if (fd >= 0) {
		(void)!::write(fd, "hello fuzz\n", 11);
		::close(fd);
	}
	::mkdir((src + "/d").c_str(), 0755);
	::close(::open((src + "/d/inner").c_str(), O_WRONLY | O_CREAT, 0600));
	(void)!::symlink("../outside", (src + "/l").c_str());
	::mkfifo((src + "/p").c_str(), 0644);
	return src;
}

// Reads replies until none is pending or the session stops answering.
void drain(int fd, std::set<std::uint64_t> &pending, int timeout_ms)
{
	std::vector<unsigned char> buf(1 << 21);
	while (!pending.empty()) {
		struct pollfd p = {fd, POLLIN, 0};
		if (::poll(&p, 1, timeout_ms) <= 0)
			return; // the caller judges what is still pending
		ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
		if (n <= 0)
			return;
		if (n < (ssize_t)sizeof(OutHeader))
			bug("reply shorter than fuse_out_header");
		OutHeader h;
		std::memcpy(&h, buf.data(), sizeof h);
		if (h.unique == 0)
			continue; // a notification
		if (h.len != (std::uint32_t)n)
			bug("out header len differs from the bytes written");
		if (h.error > 0 || h.error < -4095)
			bug("error is not a negated errno");
		if (h.error != 0 && h.len != sizeof(OutHeader))
			bug("error reply carries a body");
		if (!pending.erase(h.unique))
			bug("reply to a request never sent, sent twice, or a FORGET");
	}
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	atomfs::fs::Config cfg;
	cfg.source = fresh_source();
	cfg.passthrough = false;
	std::string error;
	auto fs = atomfs::fs::AtomFs::create(cfg, error);
	if (!fs) {
		std::fprintf(stderr, "fuzz_dispatch: atomfs: %s\n", error.c_str());
		std::abort();
	}
	int sv[2];
	if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		std::abort();
	atomfs::fuse::SessionOptions opts;
	opts.threads = 1; // one worker: replies come in request order, deterministic
	opts.debug = std::getenv("ATOMFS_FUZZ_DEBUG") != nullptr; // replay a crash with the log
	auto session = atomfs::fuzz::attach_over_socket(*fs, sv[1], opts);
	std::thread runner([&] { session->run(); });

	std::set<std::uint64_t> pending;
	std::size_t off = 0;
	while (size - off >= sizeof(InHeader)) {
		InHeader h;
		std::memcpy(&h, data + off, sizeof h);
		std::size_t len = h.len;
		bool malformed = len < sizeof(InHeader) || len > size - off;
		if (malformed)
			len = size - off;
		// Every well-framed request but FORGET, BATCH_FORGET, INTERRUPT and
		// NOTIFY_REPLY must be answered, however bad its arguments; one
		// with unique 0 cannot be (its reply would read as a notification).
		bool expect = !malformed && h.unique != 0 && h.opcode != kForget && h.opcode != kBatchForget &&
			      h.opcode != kInterrupt && h.opcode != kNotifyReply;
		if (expect)
			pending.insert(h.unique);
		if (::send(sv[0], data + off, len, MSG_NOSIGNAL) < 0)
			break;
		off += len;
		// One request at a time, as a single-threaded kernel caller would:
		// its reply (if any) is checked before the next is sent. The limit
		// is generous (a loaded 2-core CI machine under ASan), and a reply
		// that never comes is a hang, not noise.
		drain(sv[0], pending, expect ? 30000 : 0);
		if (!pending.empty())
			bug("a request was not answered within 30 s");
		if (malformed || h.opcode == kDestroy)
			break; // nothing after DESTROY is served
	}
	::shutdown(sv[0], SHUT_RDWR); // the "kernel" goes away: run() must return
	runner.join();
	session.reset();
	::close(sv[0]);
	return 0;
}
