// SPDX-License-Identifier: MIT
#include "session/deferred.h"

#include "session/session_impl.h"

#include <algorithm>
#include <cerrno>

namespace atomfs::fuse {

DeferralCore::~DeferralCore() = default; // Worker is complete here

void DeferralCore::release_locked(Deferred *d)
{
	const std::size_t i = d->live_index;
	if (i < live.size() && live[i] == d) {
		live[i] = live.back();
		live[i]->live_index = i;
		live.pop_back();
	}
	d->channel.reset();
	d->on_interrupt = nullptr;
	d->req = Request{};
	d->interrupted.store(false);
	d->answered = false;
	free.push_back(d);
	d->core.reset(); // the caller holds the core: not the last reference
}

void EarlyInterrupts::add(std::uint64_t unique, std::uint64_t now_ns)
{
	while (!q_.empty() && now_ns - q_.front().second > kKeepNs)
		q_.pop_front();
	q_.emplace_back(unique, now_ns);
}

bool EarlyInterrupts::take(std::uint64_t unique)
{
	auto it = std::find_if(q_.begin(), q_.end(),
			       [&](const auto &e) { return e.first == unique; });
	if (it == q_.end())
		return false;
	q_.erase(it);
	return true;
}

void Deferred::finish(Deferred *d, std::shared_ptr<void> state, int error)
{
	std::shared_ptr<DeferralCore> core = d->core;
	std::unique_lock<std::mutex> l(core->mu);
	if (!core->session || d->answered) { // the session ended and answered it
		core->release_locked(d);
		return;
	}
	SessionImpl *s = core->session;
	d->running = true;
	core->running++;
	Worker *w;
	if (core->idle_workers.empty()) {
		core->workers.push_back(s->new_answering_worker());
		w = core->workers.back().get();
	} else {
		w = core->idle_workers.back();
		core->idle_workers.pop_back();
	}
	l.unlock();
	s->answer_deferred(*d, *w, std::move(state), error);
	l.lock();
	core->idle_workers.push_back(w);
	d->running = false;
	core->release_locked(d);
	if (--core->running == 0)
		core->idle.notify_all();
}

void Deferred::set_on_interrupt(Deferred *d, std::function<void()> fn)
{
	{
		std::lock_guard<std::mutex> l(d->core->mu);
		if (!d->interrupted.load()) {
			d->on_interrupt = std::move(fn);
			return;
		}
	}
	fn();
}

// --- the public handle --------------------------------------------------

PendingReply &PendingReply::operator=(PendingReply &&o) noexcept
{
	if (this != &o) {
		if (d_)
			Deferred::finish(std::exchange(d_, nullptr), {}, EIO);
		d_ = std::exchange(o.d_, nullptr);
	}
	return *this;
}

PendingReply::~PendingReply()
{
	if (d_)
		Deferred::finish(std::exchange(d_, nullptr), {}, EIO);
}

std::uint64_t PendingReply::unique() const { return d_ ? d_->req.unique : 0; }

bool PendingReply::interrupted() const { return d_ && d_->interrupted.load(); }

void PendingReply::on_interrupt(std::function<void()> fn)
{
	if (d_ && fn)
		Deferred::set_on_interrupt(d_, std::move(fn));
}

void PendingReply::resume(std::shared_ptr<void> state)
{
	if (d_)
		Deferred::finish(std::exchange(d_, nullptr), std::move(state), 0);
}

void PendingReply::reply_error(int error)
{
	if (d_)
		Deferred::finish(std::exchange(d_, nullptr), {}, error > 0 ? error : EIO);
}

PendingReply defer(const Request &req)
{
	Context *c = serving_context();
	if (!c || &c->req != &req)
		return {}; // not the request this thread serves (a copy, or none)
	return c->session.defer(*c);
}

} // namespace atomfs::fuse

namespace atomfs::fuse {

bool is_deferred(const Request &req)
{
	Context *c = serving_context();
	return c && &c->req == &req && c->deferred;
}

} // namespace atomfs::fuse
