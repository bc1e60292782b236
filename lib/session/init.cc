// SPDX-License-Identifier: MIT
//
// INIT: agree on the protocol version, the capability flags and the sizes.
#include "session/session_impl.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace atomfs::fuse {
namespace {

// What a fast passthrough asks for. Each costs nothing when the filesystem
// does not use it, or is switched by SessionOptions.
constexpr std::uint64_t kAlwaysWanted =
	abi::FUSE_ASYNC_READ |        // parallel reads of one file
	abi::FUSE_ATOMIC_O_TRUNC |    // O_TRUNC in OPEN, not OPEN + SETATTR
	abi::FUSE_BIG_WRITES |        // writes larger than a page
	abi::FUSE_DONT_MASK |         // umask travels in the request; default ACLs win
	abi::FUSE_AUTO_INVAL_DATA |   // drop cached pages when mtime/size change
	abi::FUSE_DO_READDIRPLUS |    // entries + attributes in one request
	abi::FUSE_READDIRPLUS_AUTO |  // ... when the kernel thinks they will be used
	abi::FUSE_ASYNC_DIO |         // parallel direct I/O
	abi::FUSE_PARALLEL_DIROPS |   // lookups and readdirs of one directory at once
	abi::FUSE_ABORT_ERROR |       // ECONNABORTED after an abort, not ENOTCONN
	abi::FUSE_MAX_PAGES |         // our max_pages, not 32
	abi::FUSE_CACHE_SYMLINKS |    // readlink results in the page cache
	abi::FUSE_SETXATTR_EXT |      // setxattr flags for ACL set-gid handling
	abi::FUSE_CREATE_SUPP_GROUP | // the parent's group when the caller has it
	abi::FUSE_INIT_EXT;           // flags2 exists

// Short INIT replies for kernels older than 7.23.
constexpr std::size_t kCompat22InitOutSize = 24;

} // namespace

void SessionImpl::handle_init(Context &c)
{
	abi::fuse_init_in in{};
	std::size_t n = std::min(c.args.remaining(), sizeof(in));
	if (n < abi::FUSE_COMPAT_INIT_IN_SIZE || !c.args.read_prefix(in, n)) {
		c.bad_request();
		return;
	}
	std::lock_guard<std::mutex> lock(init_mu_);
	if (initialized()) {
		c.reply_error(EPROTO); // INIT twice
		return;
	}
	if (in.major < abi::kKernelVersion) {
		log(LogLevel::error, "kernel protocol %u.%u is not supported", in.major, in.minor);
		c.reply_error(EPROTO);
		return;
	}
	abi::fuse_init_out out{};
	out.major = abi::kKernelVersion;
	out.minor = abi::kKernelMinorVersion;
	if (in.major > abi::kKernelVersion) {
		// The protocol's version handshake: the side with the newer major
		// answers with its own and the kernel retries INIT with 7.x.
		c.reply_struct(out);
		return;
	}
	if (in.minor < abi::kOldestMinorVersion) {
		log(LogLevel::error, "kernel protocol 7.%u is older than 7.%u", in.minor,
		    abi::kOldestMinorVersion);
		c.reply_error(EPROTO);
		return;
	}

	std::uint64_t offered = in.flags;
	if (in.flags & abi::FUSE_INIT_EXT)
		offered |= static_cast<std::uint64_t>(in.flags2) << 32;
	std::uint64_t wanted = kAlwaysWanted;
	if (opts_.writeback_cache)
		wanted |= abi::FUSE_WRITEBACK_CACHE;
	if (opts_.posix_acl)
		wanted |= abi::FUSE_POSIX_ACL;
	if (opts_.passthrough)
		wanted |= abi::FUSE_PASSTHROUGH;
	if (opts_.handle_killpriv_v2)
		wanted |= abi::FUSE_HANDLE_KILLPRIV_V2;
	// Without export support the kernel still decodes handles of inodes it
	// has cached and answers ESTALE once it has dropped them; refuse them
	// from the start instead (fanotify's FIDs keep working).
	wanted |= opts_.export_support ? abi::FUSE_EXPORT_SUPPORT : abi::FUSE_NO_EXPORT_SUPPORT;
	if (opts_.flock_locks)
		wanted |= abi::FUSE_FLOCK_LOCKS;

	ConnectionInfo info;
	info.proto_major = in.major;
	info.proto_minor = in.minor;
	info.kernel_flags = offered;
	info.max_readahead = std::min(opts_.max_readahead, in.max_readahead);
	info.max_pages = (offered & abi::FUSE_MAX_PAGES) ? std::max(1u, opts_.max_pages) : 32;
	info.max_write = std::max<std::uint32_t>(
		4096, std::min<std::uint32_t>(opts_.max_write, info.max_pages * 4096u));
	info.time_gran = 1;
	std::uint64_t want = wanted & offered;
	info.flags = want;
	fs_.init(info, want);
	want &= offered; // a filesystem may refuse bits, not invent them
	// The kernel (6.12) takes passthrough only without writeback caching.
	if (want & abi::FUSE_WRITEBACK_CACHE)
		want &= ~abi::FUSE_PASSTHROUGH;
	info.flags = want;
	info.max_stack_depth = (want & abi::FUSE_PASSTHROUGH) ? 1 : 0;
	conn_ = info;

	out.max_readahead = info.max_readahead;
	out.flags = static_cast<std::uint32_t>(want);
	out.flags2 = static_cast<std::uint32_t>(want >> 32);
	if (out.flags2)
		out.flags |= static_cast<std::uint32_t>(abi::FUSE_INIT_EXT);
	out.max_write = info.max_write;
	out.time_gran = info.time_gran;
	out.max_pages = static_cast<std::uint16_t>(info.max_pages);
	out.max_stack_depth = info.max_stack_depth;

	// Other workers may read the next request as soon as the reply is out.
	initialized_.store(true, std::memory_order_release);
	std::size_t size = in.minor < 23 ? kCompat22InitOutSize : sizeof(out);
	c.reply(std::as_bytes(std::span<const abi::fuse_init_out>(&out, 1)).first(size));
}

void SessionImpl::handle_destroy(Context &c)
{
	if (!destroyed_.exchange(true))
		fs_.destroy();
	c.reply_ok();
	wake_main(2); // the session is over
}

} // namespace atomfs::fuse
