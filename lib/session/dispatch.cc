// SPDX-License-Identifier: MIT
//
// The opcode list (opcodes.h): every opcode of the ABI, its handler and its
// arguments. Opcodes without a handler are answered ENOSYS, which the
// kernel remembers (STATX then falls back to GETATTR).
#include "session/opcodes.h"

#include "session/handlers.h"

#include <array>

namespace atomfs::fuse {
namespace {

using namespace abi;
namespace h = handlers;

constexpr OpcodeInfo kOpcodes[] = {
	{FUSE_LOOKUP, "LOOKUP", h::lookup, false, 0, 1},
	{FUSE_FORGET, "FORGET", h::forget, true, sizeof(fuse_forget_in), 0},
	{FUSE_GETATTR, "GETATTR", h::getattr, false, sizeof(fuse_getattr_in), 0},
	{FUSE_SETATTR, "SETATTR", h::setattr, false, sizeof(fuse_setattr_in), 0},
	{FUSE_READLINK, "READLINK", h::readlink, false, 0, 0},
	{FUSE_SYMLINK, "SYMLINK", h::symlink, false, 0, 2},
	{FUSE_MKNOD, "MKNOD", h::mknod, false, sizeof(fuse_mknod_in), 1},
	{FUSE_MKDIR, "MKDIR", h::mkdir, false, sizeof(fuse_mkdir_in), 1},
	{FUSE_UNLINK, "UNLINK", h::unlink, false, 0, 1},
	{FUSE_RMDIR, "RMDIR", h::rmdir, false, 0, 1},
	{FUSE_RENAME, "RENAME", h::rename, false, sizeof(fuse_rename_in), 2},
	{FUSE_LINK, "LINK", h::link, false, sizeof(fuse_link_in), 1},
	{FUSE_OPEN, "OPEN", h::open, false, sizeof(fuse_open_in), 0},
	{FUSE_READ, "READ", h::read, false, sizeof(fuse_read_in), 0},
	{FUSE_WRITE, "WRITE", h::write, false, sizeof(fuse_write_in), 0},
	{FUSE_STATFS, "STATFS", h::statfs, false, 0, 0},
	{FUSE_RELEASE, "RELEASE", h::release, false, sizeof(fuse_release_in), 0},
	{FUSE_FSYNC, "FSYNC", h::fsync, false, sizeof(fuse_fsync_in), 0},
	// 16 bytes with SETXATTR_EXT (every kernel from 7.33 that we serve)
	{FUSE_SETXATTR, "SETXATTR", h::setxattr, false, sizeof(fuse_setxattr_in), 1},
	{FUSE_GETXATTR, "GETXATTR", h::getxattr, false, sizeof(fuse_getxattr_in), 1},
	{FUSE_LISTXATTR, "LISTXATTR", h::listxattr, false, sizeof(fuse_getxattr_in), 0},
	{FUSE_REMOVEXATTR, "REMOVEXATTR", h::removexattr, false, 0, 1},
	{FUSE_FLUSH, "FLUSH", h::flush, false, sizeof(fuse_flush_in), 0},
	{FUSE_INIT, "INIT", h::init, false, FUSE_COMPAT_INIT_IN_SIZE, 0},
	{FUSE_OPENDIR, "OPENDIR", h::opendir, false, sizeof(fuse_open_in), 0},
	{FUSE_READDIR, "READDIR", h::readdir, false, sizeof(fuse_read_in), 0},
	{FUSE_RELEASEDIR, "RELEASEDIR", h::releasedir, false, sizeof(fuse_release_in), 0},
	{FUSE_FSYNCDIR, "FSYNCDIR", h::fsyncdir, false, sizeof(fuse_fsync_in), 0},
	{FUSE_GETLK, "GETLK", h::getlk, false, sizeof(fuse_lk_in), 0},
	{FUSE_SETLK, "SETLK", h::setlk, false, sizeof(fuse_lk_in), 0},
	{FUSE_SETLKW, "SETLKW", h::setlkw, false, sizeof(fuse_lk_in), 0},
	{FUSE_ACCESS, "ACCESS", h::access, false, sizeof(fuse_access_in), 0},
	{FUSE_CREATE, "CREATE", h::create, false, sizeof(fuse_create_in), 1},
	{FUSE_INTERRUPT, "INTERRUPT", h::interrupt, true, sizeof(fuse_interrupt_in), 0},
	{FUSE_BMAP, "BMAP"},
	{FUSE_DESTROY, "DESTROY", h::destroy, false, 0, 0},
	{FUSE_IOCTL, "IOCTL"},
	{FUSE_POLL, "POLL"},
	{FUSE_NOTIFY_REPLY, "NOTIFY_REPLY", h::ignore, true, 0, 0},
	{FUSE_BATCH_FORGET, "BATCH_FORGET", h::batch_forget, true, sizeof(fuse_batch_forget_in), 0},
	{FUSE_FALLOCATE, "FALLOCATE", h::fallocate, false, sizeof(fuse_fallocate_in), 0},
	{FUSE_READDIRPLUS, "READDIRPLUS", h::readdirplus, false, sizeof(fuse_read_in), 0},
	{FUSE_RENAME2, "RENAME2", h::rename2, false, sizeof(fuse_rename2_in), 2},
	{FUSE_LSEEK, "LSEEK", h::lseek, false, sizeof(fuse_lseek_in), 0},
	{FUSE_COPY_FILE_RANGE, "COPY_FILE_RANGE", h::copy_file_range, false,
	 sizeof(fuse_copy_file_range_in), 0},
	{FUSE_SETUPMAPPING, "SETUPMAPPING"},
	{FUSE_REMOVEMAPPING, "REMOVEMAPPING"},
	{FUSE_SYNCFS, "SYNCFS"},
	{FUSE_TMPFILE, "TMPFILE", h::tmpfile, false, sizeof(fuse_create_in), 0},
	{FUSE_STATX, "STATX"},
	{FUSE_OPEN_ATOMIC, "OPEN_ATOMIC", h::open_atomic, false, sizeof(fuse_create_in), 1},
};

// opcode -> row, for the request path.
constexpr std::array<const OpcodeInfo *, kOpcodeSlots> make_index()
{
	std::array<const OpcodeInfo *, kOpcodeSlots> t{};
	for (const OpcodeInfo &i : kOpcodes)
		t[i.opcode] = &i;
	return t;
}

constexpr std::array<const OpcodeInfo *, kOpcodeSlots> kIndex = make_index();
static_assert(kIndex[FUSE_FORGET]->no_reply && kIndex[FUSE_BATCH_FORGET]->no_reply);
static_assert(kIndex[FUSE_OPEN_ATOMIC]->handler == h::open_atomic);

} // namespace

const OpcodeInfo *opcode_info(std::uint32_t opcode)
{
	return opcode < kOpcodeSlots ? kIndex[opcode] : nullptr;
}

std::span<const OpcodeInfo> all_opcodes() { return kOpcodes; }

} // namespace atomfs::fuse
