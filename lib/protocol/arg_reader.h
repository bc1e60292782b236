// SPDX-License-Identifier: MIT
//
// A range-checked reader over one request's arguments (the bytes after
// fuse_in_header). Every accessor checks the remaining length first and
// reports failure instead of reading past the end, so a short or malformed
// request becomes an error reply, never an out-of-bounds read. Structs are
// copied out with memcpy: request buffers carry names of any length between
// fixed parts, so nothing after the first name is aligned.
#pragma once

#include <cstddef>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

namespace atomfs::fuse::protocol {

class ArgReader {
public:
	ArgReader() = default;
	explicit ArgReader(std::span<const std::byte> args) : p_(args.data()), end_(p_ + args.size())
	{
	}

	std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }

	// The whole struct, or false (nothing consumed).
	template <class T> bool read(T &out)
	{
		static_assert(std::is_trivially_copyable_v<T>);
		if (remaining() < sizeof(T))
			return false;
		std::memcpy(&out, p_, sizeof(T));
		p_ += sizeof(T);
		return true;
	}

	// The first `size` bytes of T, the rest zeroed: older kernels send
	// shorter versions of some structs (fuse_init_in, fuse_setxattr_in).
	template <class T> bool read_prefix(T &out, std::size_t size)
	{
		static_assert(std::is_trivially_copyable_v<T>);
		if (size > sizeof(T) || remaining() < size)
			return false;
		std::memset(&out, 0, sizeof(T));
		std::memcpy(&out, p_, size);
		p_ += size;
		return true;
	}

	// A NUL-terminated string inside the arguments (without the NUL).
	// Empty names are the caller's to refuse; an unterminated one fails.
	std::optional<std::string_view> string()
	{
		const void *nul = std::memchr(p_, 0, remaining());
		if (!nul)
			return std::nullopt;
		std::size_t len = static_cast<const std::byte *>(nul) - p_;
		std::string_view s(reinterpret_cast<const char *>(p_), len);
		p_ += len + 1;
		return s;
	}

	std::optional<std::span<const std::byte>> bytes(std::size_t n)
	{
		if (remaining() < n)
			return std::nullopt;
		std::span<const std::byte> s(p_, n);
		p_ += n;
		return s;
	}

	std::span<const std::byte> rest()
	{
		std::span<const std::byte> s(p_, remaining());
		p_ = end_;
		return s;
	}

private:
	const std::byte *p_ = nullptr;
	const std::byte *end_ = nullptr;
};

} // namespace atomfs::fuse::protocol
