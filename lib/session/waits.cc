// SPDX-License-Identifier: MIT
#include "session/waits.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>

namespace atomfs::fuse {
namespace {

// A signal can land just before the thread enters its blocking call and
// be lost; so an interrupted wait is signalled once a millisecond until
// its call returns, at most this many times (a call that ignores EINTR).
constexpr int kInterruptSignals = 200;

void on_interrupt_signal(int) {} // only interrupts a blocking call

} // namespace

void arm_interrupt_signal(int sig)
{
	struct sigaction old {};
	if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == on_interrupt_signal)
		return;
	struct sigaction sa {};
	sa.sa_handler = on_interrupt_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; // no SA_RESTART: the blocked call must return EINTR
	::sigaction(sig, &sa, nullptr);
}

void Waits::reap_locked()
{
	for (auto it = waits_.begin(); it != waits_.end();) {
		if ((*it)->finished) {
			(*it)->thread.join(); // past its last use of mu_
			it = waits_.erase(it);
		} else {
			++it;
		}
	}
}

bool Waits::start(std::uint64_t unique, std::uint32_t uid, bool interrupted,
		  std::function<void(bool)> serve)
{
	std::lock_guard<std::mutex> lock(mu_);
	reap_locked();
	if (stopping_ || waits_.size() >= kMaxWaits)
		return false;
	auto mine = std::count_if(waits_.begin(), waits_.end(),
				  [&](const auto &w) { return w->uid == uid && !w->finished; });
	if (static_cast<std::size_t>(mine) >= kMaxWaitsPerUid)
		return false;
	auto w = std::make_unique<Wait>();
	w->unique = unique;
	w->uid = uid;
	w->interrupted = interrupted;
	Wait *wp = w.get();
	w->thread = std::thread([this, wp, serve = std::move(serve)] {
		bool intr;
		{
			std::lock_guard<std::mutex> l(mu_);
			intr = wp->interrupted;
		}
		serve(intr);
		std::lock_guard<std::mutex> l(mu_);
		wp->finished = true;
	});
	waits_.push_back(std::move(w));
	return true;
}

bool Waits::interrupt(std::uint64_t unique)
{
	std::lock_guard<std::mutex> lock(mu_);
	auto it = std::find_if(waits_.begin(), waits_.end(),
			       [&](const auto &w) { return w->unique == unique; });
	if (it == waits_.end())
		return false;
	Wait &w = **it;
	if (w.finished || w.interrupted)
		return true;
	w.interrupted = true;
	arm_interrupt_signal(signal_);
	pthread_kill(w.thread.native_handle(), signal_);
	w.signals = 1;
	if (!resignal_.joinable() && !stopping_)
		resignal_ = std::thread([this] { resignal_loop(); });
	wake_.notify_one();
	return true;
}

void Waits::resignal_loop()
{
	std::unique_lock<std::mutex> lock(mu_);
	while (!stopping_) {
		bool more = false;
		for (auto &w : waits_) {
			if (w->interrupted && !w->finished && w->signals < kInterruptSignals) {
				pthread_kill(w->thread.native_handle(), signal_);
				more = ++w->signals < kInterruptSignals || more;
			}
		}
		if (more)
			wake_.wait_for(lock, std::chrono::milliseconds(1));
		else
			wake_.wait(lock);
	}
}

void Waits::stop()
{
	std::unique_lock<std::mutex> lock(mu_);
	stopping_ = true;
	wake_.notify_all();
	if (resignal_.joinable()) {
		std::thread t = std::move(resignal_);
		lock.unlock();
		t.join();
		lock.lock();
	}
	for (;;) {
		bool running = false;
		for (auto &w : waits_) {
			if (!w->finished) {
				running = true;
				w->interrupted = true;
				arm_interrupt_signal(signal_);
				pthread_kill(w->thread.native_handle(), signal_);
			}
		}
		if (!running)
			break;
		lock.unlock();
		std::this_thread::sleep_for(std::chrono::milliseconds(2));
		lock.lock();
	}
	reap_locked();
}

} // namespace atomfs::fuse
