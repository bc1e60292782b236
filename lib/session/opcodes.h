// SPDX-License-Identifier: MIT
//
// The one list of opcodes (dispatch.cc): for each, its name as the counters,
// the debug log and the stats JSON print it ("LOOKUP", "OPEN_ATOMIC": the
// kernel's name without FUSE_), its handler, whether it is answered, and
// the shape of its arguments (what the malformed-request tests build).
// Adding an opcode is one row there and one handler function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace atomfs::fuse {

struct Context;
using Handler = void (*)(Context &);

struct OpcodeInfo {
	std::uint32_t opcode = 0;
	std::string_view name;
	Handler handler = nullptr; // none: answered ENOSYS
	bool no_reply = false;     // FORGET, BATCH_FORGET, INTERRUPT, NOTIFY_REPLY
	std::size_t fixed = 0;     // the fixed argument struct's (smallest) size
	int names = 0;             // NUL-terminated names after it
};

// Counters are kept per opcode below this bound; CUSE_INIT and anything
// larger are counted as "UNKNOWN" (slot 0, which no opcode uses).
inline constexpr std::uint32_t kOpcodeSlots = 64;

// The row of an opcode, or nullptr when it has none.
const OpcodeInfo *opcode_info(std::uint32_t opcode);
std::span<const OpcodeInfo> all_opcodes();

inline std::string_view opcode_name(std::uint32_t opcode)
{
	const OpcodeInfo *i = opcode_info(opcode);
	return i ? i->name : std::string_view{};
}

inline std::uint32_t opcode_slot(std::uint32_t opcode)
{
	return opcode < kOpcodeSlots && opcode_info(opcode) ? opcode : 0;
}

} // namespace atomfs::fuse
