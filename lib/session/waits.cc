// SPDX-License-Identifier: MIT
#include "session/waits.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>

namespace atomfs::fuse {
namespace {

constexpr std::size_t kEarlyInterrupts = 64;
// An interrupted call that has not returned after this many signals, one
// per millisecond, ignores EINTR; the worker that read the INTERRUPT stops
// signalling then.
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

bool Waits::start(std::uint64_t unique, std::uint32_t uid, std::function<void(bool)> serve)
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
	auto early = std::find(early_.begin(), early_.end(), unique);
	if (early != early_.end()) {
		w->interrupted = true;
		early_.erase(early);
	}
	Wait *wp = w.get();
	w->thread = std::thread([this, wp, serve = std::move(serve)] {
		bool interrupted;
		{
			std::lock_guard<std::mutex> l(mu_);
			interrupted = wp->interrupted;
		}
		serve(interrupted);
		std::lock_guard<std::mutex> l(mu_);
		wp->finished = true;
	});
	waits_.push_back(std::move(w));
	return true;
}

// A signal can land just before the thread enters its blocking call and
// be lost; so it is repeated until the call has returned.
void Waits::interrupt(std::uint64_t unique)
{
	for (int i = 0; i < kInterruptSignals; i++) {
		{
			std::lock_guard<std::mutex> lock(mu_);
			auto it = std::find_if(waits_.begin(), waits_.end(),
					       [&](const auto &w) { return w->unique == unique; });
			if (it == waits_.end()) {
				if (i == 0) { // not started yet, or not a wait at all
					early_.push_back(unique);
					if (early_.size() > kEarlyInterrupts)
						early_.pop_front();
				}
				return;
			}
			if ((*it)->finished)
				return;
			(*it)->interrupted = true;
			arm_interrupt_signal(signal_);
			pthread_kill((*it)->thread.native_handle(), signal_);
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
}

void Waits::stop()
{
	std::unique_lock<std::mutex> lock(mu_);
	stopping_ = true;
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
