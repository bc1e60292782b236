// SPDX-License-Identifier: MIT
//
// The dispatch table: opcode -> handler. Adding an opcode is one line here
// and one handler function. Opcodes not listed are answered ENOSYS.
#include "session/handlers.h"

#include <array>

namespace atomfs::fuse {
namespace {

using namespace abi;
namespace h = handlers;

constexpr std::uint32_t kTableSize = 64;

constexpr std::array<OpcodeEntry, kTableSize> make_table()
{
	std::array<OpcodeEntry, kTableSize> t{};
	t[FUSE_LOOKUP] = {h::lookup};
	t[FUSE_FORGET] = {h::forget, true};
	t[FUSE_GETATTR] = {h::getattr};
	t[FUSE_SETATTR] = {h::setattr};
	t[FUSE_READLINK] = {h::readlink};
	t[FUSE_SYMLINK] = {h::symlink};
	t[FUSE_MKNOD] = {h::mknod};
	t[FUSE_MKDIR] = {h::mkdir};
	t[FUSE_UNLINK] = {h::unlink};
	t[FUSE_RMDIR] = {h::rmdir};
	t[FUSE_RENAME] = {h::rename};
	t[FUSE_LINK] = {h::link};
	t[FUSE_OPEN] = {h::open};
	t[FUSE_READ] = {h::read};
	t[FUSE_WRITE] = {h::write};
	t[FUSE_STATFS] = {h::statfs};
	t[FUSE_RELEASE] = {h::release};
	t[FUSE_FSYNC] = {h::fsync};
	t[FUSE_SETXATTR] = {h::setxattr};
	t[FUSE_GETXATTR] = {h::getxattr};
	t[FUSE_LISTXATTR] = {h::listxattr};
	t[FUSE_REMOVEXATTR] = {h::removexattr};
	t[FUSE_FLUSH] = {h::flush};
	t[FUSE_INIT] = {h::init};
	t[FUSE_OPENDIR] = {h::opendir};
	t[FUSE_READDIR] = {h::readdir};
	t[FUSE_RELEASEDIR] = {h::releasedir};
	t[FUSE_FSYNCDIR] = {h::fsyncdir};
	t[FUSE_GETLK] = {h::getlk};
	t[FUSE_SETLK] = {h::setlk};
	t[FUSE_SETLKW] = {h::setlkw};
	t[FUSE_ACCESS] = {h::access};
	t[FUSE_CREATE] = {h::create};
	t[FUSE_INTERRUPT] = {h::interrupt, true};
	t[FUSE_DESTROY] = {h::destroy};
	t[FUSE_NOTIFY_REPLY] = {h::ignore, true};
	t[FUSE_BATCH_FORGET] = {h::batch_forget, true};
	t[FUSE_FALLOCATE] = {h::fallocate};
	t[FUSE_READDIRPLUS] = {h::readdirplus};
	t[FUSE_RENAME2] = {h::rename2};
	t[FUSE_LSEEK] = {h::lseek};
	t[FUSE_COPY_FILE_RANGE] = {h::copy_file_range};
	t[FUSE_TMPFILE] = {h::tmpfile};
	t[FUSE_OPEN_ATOMIC] = {h::open_atomic};
	// BMAP, IOCTL, POLL, SETUPMAPPING, REMOVEMAPPING, SYNCFS, STATX: ENOSYS,
	// which the kernel remembers (STATX falls back to GETATTR).
	return t;
}

constexpr std::array<OpcodeEntry, kTableSize> kTable = make_table();
static_assert(kTable[FUSE_FORGET].no_reply && kTable[FUSE_BATCH_FORGET].no_reply);

} // namespace

const OpcodeEntry *lookup_opcode(std::uint32_t opcode)
{
	return opcode < kTableSize ? &kTable[opcode] : nullptr;
}

} // namespace atomfs::fuse
