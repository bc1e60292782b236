// SPDX-License-Identifier: MIT
#include "transport/fake_kernel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace atomfs::fuse {

static_assert(FakeKernel::kProtocolMajor == abi::kKernelVersion &&
	      FakeKernel::kProtocolMinor == abi::kKernelMinorVersion);

namespace {

class SocketChannel final : public Channel {
public:
	explicit SocketChannel(int fd) : fd_(fd) {}

	ssize_t receive(std::span<std::byte> buf) override
	{
		struct iovec iov = {buf.data(), buf.size()};
		struct msghdr msg {};
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		ssize_t n = ::recvmsg(fd_, &msg, 0);
		if (n < 0)
			return errno == ECONNRESET ? 0 : -errno;
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		return n;
	}

	int send(const struct iovec *iov, int count) override
	{
		struct msghdr msg {};
		msg.msg_iov = const_cast<struct iovec *>(iov);
		msg.msg_iovlen = static_cast<std::size_t>(count);
		ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
		return n < 0 ? -errno : 0;
	}

private:
	int fd_;
};

class SocketTransport final : public Transport {
public:
	explicit SocketTransport(int fd) : fd_(fd) {}
	~SocketTransport() override { ::close(fd_); }

	// SOCK_SEQPACKET keeps message boundaries even with several readers.
	std::unique_ptr<Channel> open_channel(std::string &) override
	{
		return std::make_unique<SocketChannel>(fd_);
	}

	int notify(const struct iovec *iov, int count) override
	{
		return SocketChannel(fd_).send(iov, count);
	}

private:
	int fd_;
};

} // namespace

std::unique_ptr<Transport> make_socket_transport(int fd)
{
	return std::make_unique<SocketTransport>(fd);
}

FakeKernel::FakeKernel(Filesystem &fs, const SessionOptions &opts)
{
	int sv[2];
	if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		throw std::runtime_error("socketpair failed");
	fd_ = sv[0];
	session_ = Session::attach(fs, make_socket_transport(sv[1]), opts);
	thread_ = std::thread([this] { run_result_ = session_->run(); });
}

FakeKernel::~FakeKernel()
{
	hang_up();
	if (thread_.joinable())
		thread_.join();
}

void FakeKernel::hang_up()
{
	if (fd_ >= 0) {
		::shutdown(fd_, SHUT_RDWR);
		::close(fd_);
		fd_ = -1;
	}
}

void FakeKernel::send_raw(std::span<const std::byte> message)
{
	if (::send(fd_, message.data(), message.size(), MSG_NOSIGNAL) < 0)
		throw std::runtime_error("fake kernel: send failed");
}

std::optional<FakeKernel::Reply> FakeKernel::receive(int timeout_ms)
{
	struct pollfd p = {fd_, POLLIN, 0};
	if (::poll(&p, 1, timeout_ms) <= 0)
		return std::nullopt;
	std::vector<std::byte> &buf = rx_;
	ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
	if (n < static_cast<ssize_t>(sizeof(abi::fuse_out_header)))
		return std::nullopt;
	abi::fuse_out_header h;
	std::memcpy(&h, buf.data(), sizeof(h));
	Reply r;
	r.error = h.error;
	r.unique = h.unique;
	r.body.assign(buf.begin() + sizeof(h), buf.begin() + n);
	return r;
}

FakeKernel::Reply FakeKernel::init(std::uint32_t major, std::uint32_t minor, std::uint64_t flags,
				   std::uint32_t max_readahead)
{
	abi::fuse_init_in in{};
	in.major = major;
	in.minor = minor;
	in.max_readahead = max_readahead;
	in.flags = static_cast<std::uint32_t>(flags);
	in.flags2 = static_cast<std::uint32_t>(flags >> 32);
	return call(abi::FUSE_INIT, 0, {arg(in)});
}

FakeKernel::Reply FakeKernel::call(std::uint32_t opcode, std::uint64_t nodeid,
				   std::initializer_list<std::span<const std::byte>> args,
				   std::uint32_t uid, std::uint32_t gid, int timeout_ms)
{
	std::vector<std::byte> msg(sizeof(abi::fuse_in_header));
	for (auto a : args)
		msg.insert(msg.end(), a.begin(), a.end());
	abi::fuse_in_header h{};
	h.len = static_cast<std::uint32_t>(msg.size());
	h.opcode = opcode;
	h.unique = next_unique();
	h.nodeid = nodeid;
	h.uid = uid;
	h.gid = gid;
	h.pid = static_cast<std::uint32_t>(::getpid());
	std::memcpy(msg.data(), &h, sizeof(h));
	send_raw(msg);
	if (opcode == abi::FUSE_FORGET || opcode == abi::FUSE_BATCH_FORGET ||
	    opcode == abi::FUSE_INTERRUPT)
		return {};
	for (;;) {
		auto r = receive(timeout_ms);
		if (!r)
			return Reply{-ETIMEDOUT, 0, {}};
		if (r->unique == h.unique)
			return *r;
		// a notification or a stale reply: not ours
	}
}

} // namespace atomfs::fuse
