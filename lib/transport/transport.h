// SPDX-License-Identifier: MIT
//
// Where requests come from and replies go to. A Transport is one FUSE
// connection; each worker thread gets its own Channel on it, reads whole
// requests from it and writes each reply back to the channel the request
// came from (for /dev/fuse a cloned fd, so the kernel can pair them without
// a lock shared between workers).
//
// Implementations: /dev/fuse (dev_fuse.h) and the fake kernel on a
// socketpair (fake_kernel.h).
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>

namespace atomfs::fuse {

class Channel {
public:
	virtual ~Channel() = default;
	// One whole request into buf. Returns its size; 0 when the connection
	// is gone (unmounted, aborted, peer closed); -errno on a failure the
	// worker may retry (-EINTR, -EAGAIN, -ENOENT for a request the kernel
	// withdrew) or not (anything else). A message larger than buf is
	// reported as -EMSGSIZE with its header, when any, copied into buf.
	virtual ssize_t receive(std::span<std::byte> buf) = 0;
	// One reply, written as one message. 0 or -errno; -ENOENT means the
	// kernel no longer waits for this reply (interrupted or aborted).
	virtual int send(const struct iovec *iov, int count) = 0;
};

class Transport {
public:
	virtual ~Transport() = default;
	// A channel for one more worker. The first call may hand out the
	// connection's own fd; later ones are clones. nullptr + error on failure.
	virtual std::unique_ptr<Channel> open_channel(std::string &error) = 0;
	// A notification (unique == 0) from any thread.
	virtual int notify(const struct iovec *iov, int count) = 0;
	// Kernel FUSE passthrough: register a backing fd. >0 id or -errno.
	virtual int backing_open(int fd) { (void)fd; return -95; /* EOPNOTSUPP */ }
	virtual int backing_close(int id) { (void)id; return -95; }
};

} // namespace atomfs::fuse
