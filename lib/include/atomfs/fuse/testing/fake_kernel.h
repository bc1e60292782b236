// SPDX-License-Identifier: MIT
/// @file
/// An in-process stand-in for the kernel, for protocol tests without a mount
/// (library atomfs_fuse_testing).
///
/// FakeKernel serves a Filesystem through a Session attached to one end of a
/// SOCK_SEQPACKET socketpair: every message is one request or one reply, as
/// on /dev/fuse. It holds the other end, frames requests like the kernel's
/// fs/fuse/dev.c does, and reads replies back, so a filesystem's tests can
/// assert on exact reply bytes. Request and reply structs are the kernel's
/// (<linux/fuse.h>); FUSE_OPEN_ATOMIC is opcode 60.
#pragma once

#include <atomfs/fuse/session.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace atomfs::fuse {

/// The kernel's side of /dev/fuse over a socket pair, in-process: sends
/// requests framed as the kernel frames them and returns the replies, so a
/// filesystem's protocol handling can be unit-tested without mounting.
class FakeKernel {
public:
	/// The protocol version the library speaks (7.41 + FUSE_OPEN_ATOMIC).
	static constexpr std::uint32_t kProtocolMajor = 7;
	static constexpr std::uint32_t kProtocolMinor = 41; ///< see kProtocolMajor

	/// A reply (or a notification) as the kernel would read it.
	struct Reply {
		std::int32_t error = 0; ///< 0 or -errno, as on the wire
		std::uint64_t unique = 0; ///< the request it answers (0: notification)
		std::vector<std::byte> body; ///< after fuse_out_header

		/// The body at `offset` as a T (zeroes past its end).
		template <class T> T as(std::size_t offset = 0) const
		{
			T v{};
			if (offset + sizeof(T) <= body.size())
				std::memcpy(&v, body.data() + offset, sizeof(T));
			return v;
		}
	};

	/// Starts serving `fs` on a thread; INIT is not sent yet.
	explicit FakeKernel(Filesystem &fs, const SessionOptions &opts = {});
	/// Hangs up (the session sees the end of its connection) and joins.
	~FakeKernel();
	FakeKernel(const FakeKernel &) = delete;
	FakeKernel &operator=(const FakeKernel &) = delete;

	/// INIT as a 6.12 kernel sends it, offering `flags`.
	Reply init(std::uint32_t major = kProtocolMajor,
		   std::uint32_t minor = kProtocolMinor, std::uint64_t flags = ~0ull,
		   std::uint32_t max_readahead = 128 * 1024);

	/// One request; waits for its reply (up to timeout_ms; error = -ETIMEDOUT
	/// when none came). FORGET and BATCH_FORGET return at once.
	Reply call(std::uint32_t opcode, std::uint64_t nodeid,
		   std::initializer_list<std::span<const std::byte>> args = {},
		   std::uint32_t uid = 0, std::uint32_t gid = 0, int timeout_ms = 5000);
	/// Exact bytes, framed by the caller (malformed requests).
	void send_raw(std::span<const std::byte> message);
	/// The next message (reply or notification), if one comes in time.
	std::optional<Reply> receive(int timeout_ms);
	/// Closes the kernel's end: the session sees its connection end.
	void hang_up();

	/// The session serving the filesystem.
	Session &session() { return *session_; }
	/// What Session::run() returned (-1 while it runs).
	int run_result() const { return run_result_; }
	/// A fresh request id, for send_raw().
	std::uint64_t next_unique() { return unique_ += 2; }

	/// The bytes of `v`, as one argument of call().
	template <class T> static std::span<const std::byte> arg(const T &v)
	{
		return std::as_bytes(std::span<const T>(&v, 1));
	}
	/// A NUL-terminated name; keep the returned string alive for the call.
	static std::string name(std::string_view s) { return std::string(s) + '\0'; }
	/// The bytes of `s` (with its NUL when made by name()).
	static std::span<const std::byte> arg(const std::string &s)
	{
		return std::as_bytes(std::span<const char>(s.data(), s.size()));
	}

private:
	int fd_ = -1;
	std::unique_ptr<Session> session_;
	std::thread thread_;
	int run_result_ = -1;
	std::uint64_t unique_ = 0;
	std::vector<std::byte> rx_ = std::vector<std::byte>(4u << 20); ///< reused per receive()
};

} // namespace atomfs::fuse
