// SPDX-License-Identifier: MIT
#include "session/notifier.h"

#include <sys/uio.h>

#include <cstring>

namespace atomfs::fuse {

Message flatten(const struct iovec *iov, int count)
{
	std::size_t n = 0;
	for (int i = 0; i < count; i++)
		n += iov[i].iov_len;
	Message m(n);
	std::size_t at = 0;
	for (int i = 0; i < count; i++) {
		if (iov[i].iov_len)
			std::memcpy(m.data() + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	return m;
}

void Notifier::queue(std::vector<Message> &messages)
{
	{
		std::lock_guard<std::mutex> lock(mu_);
		if (stopping_) {
			messages.clear();
			return;
		}
		for (auto &m : messages)
			queue_.push_back(std::move(m));
		if (!thread_.joinable())
			thread_ = std::thread([this] { loop(); });
	}
	messages.clear();
	cv_.notify_one();
}

void Notifier::stop()
{
	{
		std::lock_guard<std::mutex> lock(mu_);
		stopping_ = true;
	}
	cv_.notify_one();
	if (thread_.joinable())
		thread_.join();
}

void Notifier::loop()
{
	std::unique_lock<std::mutex> lock(mu_);
	for (;;) {
		cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
		if (queue_.empty())
			return; // stopping, and everything was written
		Message m = std::move(queue_.front());
		queue_.pop_front();
		lock.unlock();
		// The kernel's answer has nobody to go to: ENOENT (the node or
		// name is no longer known) is the usual one and harmless.
		struct iovec iov = {m.data(), m.size()};
		(void)transport_.notify(&iov, 1);
		lock.lock();
	}
}

} // namespace atomfs::fuse
