// SPDX-License-Identifier: MIT
#include "transport/dev_fuse.h"

#include "protocol/abi.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace atomfs::fuse {
namespace {

class DevFuseChannel final : public Channel {
public:
	DevFuseChannel(int fd, bool owned) : fd_(fd), owned_(owned) {}
	~DevFuseChannel() override
	{
		if (owned_)
			::close(fd_);
	}

	ssize_t receive(std::span<std::byte> buf) override
	{
		ssize_t n = ::read(fd_, buf.data(), buf.size());
		if (n >= 0)
			return n;
		// ENODEV: unmounted or aborted; the session is over.
		return errno == ENODEV ? 0 : -errno;
	}

	int send(const struct iovec *iov, int count) override
	{
		ssize_t n = ::writev(fd_, iov, count);
		return n < 0 ? -errno : 0;
	}

private:
	int fd_;
	bool owned_;
};

class DevFuseTransport final : public Transport {
public:
	explicit DevFuseTransport(int fd) : fd_(fd) {}
	~DevFuseTransport() override { ::close(fd_); }

	std::unique_ptr<Channel> open_channel(std::string &error) override
	{
		if (!first_taken_.exchange(true))
			return std::make_unique<DevFuseChannel>(fd_, false);
		int clone = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
		if (clone < 0) {
			error = std::string("open /dev/fuse: ") + std::strerror(errno);
			return nullptr;
		}
		std::uint32_t master = static_cast<std::uint32_t>(fd_);
		if (::ioctl(clone, abi::FUSE_DEV_IOC_CLONE, &master) != 0) {
			error = std::string("FUSE_DEV_IOC_CLONE: ") + std::strerror(errno);
			::close(clone);
			return nullptr;
		}
		return std::make_unique<DevFuseChannel>(clone, true);
	}

	int notify(const struct iovec *iov, int count) override
	{
		ssize_t n = ::writev(fd_, iov, count);
		return n < 0 ? -errno : 0;
	}

	int backing_open(int fd) override
	{
		abi::fuse_backing_map map{};
		map.fd = fd;
		int id = ::ioctl(fd_, abi::FUSE_DEV_IOC_BACKING_OPEN, &map);
		return id < 0 ? -errno : id;
	}

	int backing_close(int id) override
	{
		std::uint32_t v = static_cast<std::uint32_t>(id);
		return ::ioctl(fd_, abi::FUSE_DEV_IOC_BACKING_CLOSE, &v) < 0 ? -errno : 0;
	}

private:
	int fd_;
	std::atomic<bool> first_taken_{false};
};

} // namespace

std::unique_ptr<Transport> make_dev_fuse_transport(int fd)
{
	return std::make_unique<DevFuseTransport>(fd);
}

} // namespace atomfs::fuse
