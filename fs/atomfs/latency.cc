// SPDX-License-Identifier: MIT
#include "latency.h"

#include <algorithm>
#include <cerrno>

namespace atomfs {

LatencyTimer::LatencyTimer() : thread_([this] { loop(); }) {}

LatencyTimer::~LatencyTimer()
{
	{
		std::lock_guard<std::mutex> l(mu_);
		stopping_ = true;
	}
	cv_.notify_one();
	thread_.join();
	heap_.clear(); // each PendingReply answers EIO (or nothing, session gone)
}

void LatencyTimer::resume_after(std::chrono::nanoseconds delay, fuse::PendingReply reply)
{
	bool first;
	{
		std::lock_guard<std::mutex> l(mu_);
		heap_.push_back(Entry{Clock::now() + delay, seq_++, std::move(reply)});
		std::push_heap(heap_.begin(), heap_.end(), later);
		first = heap_.front().seq == seq_ - 1;
	}
	if (first)
		cv_.notify_one(); // a new earliest deadline
}

void LatencyTimer::loop()
{
	std::unique_lock<std::mutex> l(mu_);
	std::vector<fuse::PendingReply> due;
	while (!stopping_) {
		if (heap_.empty()) {
			cv_.wait(l);
			continue;
		}
		auto now = Clock::now();
		if (heap_.front().when > now) {
			cv_.wait_until(l, heap_.front().when);
			continue;
		}
		while (!heap_.empty() && heap_.front().when <= now) {
			std::pop_heap(heap_.begin(), heap_.end(), later);
			due.push_back(std::move(heap_.back().reply));
			heap_.pop_back();
		}
		l.unlock(); // answering runs the filesystem's method
		for (auto &r : due) {
			if (r.interrupted())
				r.reply_error(EINTR);
			else
				r.resume();
		}
		due.clear();
		l.lock();
	}
}

} // namespace atomfs
