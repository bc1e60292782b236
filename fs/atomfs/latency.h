// SPDX-License-Identifier: MIT
//
// --meta-latency as a timer: each metadata request is deferred
// (<atomfs/fuse/pending_reply.h>) and resumed by one timer thread once the
// latency has passed, so a worker serves other requests meanwhile and a
// slow backend is modelled without taking a thread per request in flight.
// A request interrupted meanwhile is answered EINTR when its time comes.
#pragma once

#include <atomfs/fuse/pending_reply.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace atomfs {

class LatencyTimer {
public:
	LatencyTimer();
	~LatencyTimer(); // what is still waiting is answered EIO
	LatencyTimer(const LatencyTimer &) = delete;
	LatencyTimer &operator=(const LatencyTimer &) = delete;

	void resume_after(std::chrono::nanoseconds delay, fuse::PendingReply reply);

private:
	using Clock = std::chrono::steady_clock;
	struct Entry {
		Clock::time_point when;
		std::uint64_t seq; // equal times: first in, first out
		fuse::PendingReply reply;
	};
	static bool later(const Entry &a, const Entry &b)
	{
		return a.when != b.when ? a.when > b.when : a.seq > b.seq;
	}
	void loop();

	std::mutex mu_;
	std::condition_variable cv_;
	std::vector<Entry> heap_; // min-heap on when
	std::uint64_t seq_ = 0;
	bool stopping_ = false;
	std::thread thread_;
};

} // namespace atomfs
