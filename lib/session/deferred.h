// SPDX-License-Identifier: MIT
//
// The library's side of asynchronous replies (<atomfs/fuse/pending_reply.h>):
// a deferred request's own copy of its bytes and the channel its reply goes
// to, and the registry of the session's deferred requests, which INTERRUPT
// and the end of the session walk.
//
// The registry (DeferralCore) is shared by the session and by every
// PendingReply that is not answered yet, so a handle that outlives its
// session finds the session gone instead of freed memory. Deferred records
// are kept on a free list and reused with their buffers: no allocation per
// deferred request once a few have been in flight.
#pragma once

#include <atomfs/fuse/filesystem.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace atomfs::fuse {

class Channel;
class SessionImpl;
struct DeferralCore;
struct Worker;

struct Deferred {
	std::shared_ptr<DeferralCore> core; // while a PendingReply refers to it
	std::vector<std::byte> in;          // header + arguments + extensions
	std::shared_ptr<Channel> channel;   // where the reply goes
	Request req;
	std::uint64_t t0 = 0; // when the request was read, for the latency
	std::atomic<bool> interrupted{false};
	std::function<void()> on_interrupt;
	bool answered = false; // by the end of the session
	bool running = false;  // resume() or reply_error() is answering it
	std::size_t live_index = 0; // in DeferralCore::live

	static PendingReply handle(Deferred *d) { return PendingReply(d); }
	// resume (error 0) or reply error; then back to the free list.
	static void finish(Deferred *d, std::shared_ptr<void> state, int error);
	static void set_on_interrupt(Deferred *d, std::function<void()> fn);
};

// INTERRUPTs read before their request was deferred or its wait started
// (another worker read the INTERRUPT first). Kept for kKeepNs, by time
// rather than by count: INTERRUPTs of requests answered synchronously are
// kept too, and however many of them come they cannot push out the one
// that a deferred request or a wait is about to look for.
class EarlyInterrupts {
public:
	static constexpr std::uint64_t kKeepNs = 10'000'000'000ull;
	void add(std::uint64_t unique, std::uint64_t now_ns);
	bool take(std::uint64_t unique);
	std::size_t size() const { return q_.size(); }

private:
	std::deque<std::pair<std::uint64_t, std::uint64_t>> q_; // unique, when
};

struct DeferralCore {
	explicit DeferralCore(SessionImpl *s) : session(s) {}
	~DeferralCore();

	std::mutex mu;
	std::condition_variable idle; // running dropped to 0
	SessionImpl *session;         // nullptr once the session has ended
	bool ending = false;          // defer() refuses
	unsigned running = 0;         // answers being made outside mu
	std::vector<Deferred *> live; // deferred, not answered
	std::vector<Deferred *> free;
	std::vector<std::unique_ptr<Deferred>> all;
	// Reply buffers and stats shards for the threads that answer.
	std::vector<Worker *> idle_workers;
	std::vector<std::unique_ptr<Worker>> workers;
	EarlyInterrupts early;
	std::uint64_t deferred_total = 0; // for the stats
	std::size_t max_in_flight = 0;

	void release_locked(Deferred *d);
};

} // namespace atomfs::fuse
