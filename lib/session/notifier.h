// SPDX-License-Identifier: MIT
//
// The thread that writes notifications queued by handlers.
//
// A notification written while the kernel serves a request can wait for
// locks that request holds: FUSE_NOTIFY_INVAL_ENTRY takes the parent
// directory's inode lock (held by the LOOKUP, CREATE, UNLINK, ... in
// flight), FUSE_NOTIFY_INVAL_INODE locks the page-cache folios (held by the
// READ in flight). Written by the worker serving that request, it never
// returns. So a handler's notifications are queued, handed over once the
// request is answered, and written here, on a thread that serves no
// request: a write that waits for a lock waits only until the request
// holding it is answered by some worker.
#pragma once

#include "transport/transport.h"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace atomfs::fuse {

using Message = std::vector<std::byte>;

// One notification as bytes (the iovecs flattened).
Message flatten(const struct iovec *iov, int count);

class Notifier {
public:
	explicit Notifier(Transport &t) : transport_(t) {}
	~Notifier() { stop(); }
	Notifier(const Notifier &) = delete;
	Notifier &operator=(const Notifier &) = delete;

	// Queues the messages (in order); the thread starts on first use.
	void queue(std::vector<Message> &messages);
	// Writes what is queued, then ends the thread. Later queue() calls
	// are dropped.
	void stop();

private:
	void loop();

	Transport &transport_;
	std::mutex mu_;
	std::condition_variable cv_;
	std::deque<Message> queue_;
	bool stopping_ = false;
	std::thread thread_;
};

} // namespace atomfs::fuse
