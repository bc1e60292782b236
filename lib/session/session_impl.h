// SPDX-License-Identifier: MIT
//
// The session's insides, shared by session.cc (threads, signals, stats),
// init.cc (INIT negotiation) and the handlers (dispatch.cc, handlers_*.cc).
#pragma once

#include "protocol/abi.h"
#include "protocol/arg_reader.h"
#include "session/deferred.h"
#include "session/mount.h"
#include "session/notifier.h"
#include "session/opcodes.h"
#include "session/stats.h"
#include "session/waits.h"
#include "transport/transport.h"

#include <atomfs/fuse/session.h>

#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace atomfs::fuse {

class SessionImpl;

// What one worker thread owns: its channel and its buffers, allocated once
// and reused for every request (request in, reply out, one data copy).
struct Worker {
	SessionImpl *session = nullptr;
	std::shared_ptr<Channel> channel; // shared with its requests' waits (waits.h)
	StatsShard *stats = nullptr;
	std::vector<std::byte> in;  // the request as read
	std::vector<std::byte> out; // reply body (after fuse_out_header)
	std::vector<NodeId> counted; // READDIRPLUS lookups of the current reply
	std::vector<Message> notes;  // notifications of the current request (notifier.h)
	std::thread thread;
	std::atomic<bool> done{false};
};

// One request being handled: its header, a reader over its arguments and
// the ways to answer it. Exactly one reply (or none, for FORGET-like ops).
struct Context {
	SessionImpl &session;
	Worker &worker;
	Filesystem &fs;
	const abi::fuse_in_header &in;
	protocol::ArgReader args;
	Request req;
	bool replied = false;
	std::int32_t error = 0; // what was replied, for the counters
	std::uint64_t t0 = 0;   // when it was read (ns), for the latency
	bool handed_off = false; // served by a wait's thread, or deferred
	Deferred *deferred = nullptr; // defer()ed while being served: nothing is sent
	bool resumed = false;         // an answer to a deferred request
	bool can_defer = true;        // false on a wait's thread (no request bytes)

	// Body space in the worker's reply buffer.
	std::span<std::byte> out_space() { return worker.out; }

	// Each returns whether the kernel took the reply: false means it was
	// lost (interrupted, aborted) and any lookup it carried must be undone.
	bool reply_error(Errno e);
	bool reply(std::span<const std::byte> a, std::span<const std::byte> b = {},
		   std::span<const std::byte> c = {});
	template <class T> bool reply_struct(const T &v)
	{
		return reply(std::as_bytes(std::span<const T>(&v, 1)));
	}
	bool reply_ok() { return reply({}); }
	bool reply_error_or_ok(Errno e) { return e ? reply_error(e) : reply_ok(); }
	// Malformed arguments: EINVAL, and counted.
	bool bad_request();
};

// The real-time signal that interrupts a worker's or a wait's system call.
int wake_signal();

// The request this thread is serving (a handler is running), if any.
Context *serving_context();

class SessionImpl final : public Session {
public:
	SessionImpl(Filesystem &fs, std::unique_ptr<Transport> t, const SessionOptions &opts);
	~SessionImpl() override;

	int run() override;
	void exit() override;
	// Async-signal-safe: run() writes the stats (SIGUSR1).
	void request_stats_dump();
	Errno notify_inval_entry(NodeId parent, std::string_view name) override;
	Errno notify_inval_inode(NodeId node, std::int64_t off, std::int64_t len) override;
	int open_backing(int fd) override;
	void close_backing(int backing_id) override;
	const ConnectionInfo &connection() const override { return conn_; }
	SessionStats stats() const override;
	std::string stats_json() const override;

	void set_mount(const MountHandle &m) { mount_ = m; mounted_ = true; }

	// Used by the handlers.
	bool initialized() const { return initialized_.load(std::memory_order_acquire); }
	void handle_init(Context &c);
	void handle_destroy(Context &c);
	bool debug() const { return opts_.debug; }
	// One message to SessionOptions::log (stderr without one).
	void log(LogLevel level, const char *fmt, ...) const __attribute__((format(printf, 3, 4)));
	// Serves the rest of the request on a thread of its own (waits.h):
	// `call` may block without bound and its result is replied there.
	// false (nothing done) when no wait can be started.
	bool wait_elsewhere(Context &c, std::function<Errno(const Request &)> call);
	// FUSE_INTERRUPT: of a deferred request, of a wait, or of one not seen
	// yet (kept for the deferral or wait that comes, deferred.h).
	void interrupt(std::uint64_t unique);

	// Asynchronous replies (deferred.h).
	PendingReply defer(Context &c);
	std::unique_ptr<Worker> new_answering_worker();
	// Answers d on this thread: runs its handler again (error 0) or
	// replies error.
	void answer_deferred(Deferred &d, Worker &w, std::shared_ptr<void> state, int error);

private:
	void worker_loop(Worker &w);
	void process(Worker &w, std::size_t n);
	void stop_workers();
	// Refuses new deferrals, waits for answers being made, answers EIO to
	// every request still deferred.
	void end_deferrals();
	void write_stats(bool at_exit);
	void wake_main(std::uint64_t why);
	Errno notify(const struct iovec *iov, int count);

	Filesystem &fs_;
	std::unique_ptr<Transport> transport_;
	SessionOptions opts_;
	ConnectionInfo conn_;
	Stats stats_;
	MountHandle mount_;
	bool mounted_ = false;
	std::vector<std::unique_ptr<Worker>> workers_;
	std::size_t in_size_ = 0, out_size_ = 0;
	std::mutex init_mu_;
	std::atomic<bool> initialized_{false};
	std::atomic<bool> destroyed_{false};
	std::atomic<bool> stopping_{false};
	int event_fd_ = -1; // wakes run(): exit, stats dump, a worker ended
	std::atomic<std::uint64_t> pending_{0};
	Notifier notifier_{*transport_};
	std::mutex wait_shards_mu_;
	std::vector<StatsShard *> wait_shards_; // free ones, for waits' threads
	std::shared_ptr<DeferralCore> deferrals_ = std::make_shared<DeferralCore>(this);
	Waits waits_{wake_signal()};            // last: its threads use the rest
};

} // namespace atomfs::fuse
