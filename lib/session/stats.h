// SPDX-License-Identifier: MIT
//
// Exact per-opcode request counters and latency histograms.
//
// Each worker thread owns one StatsShard and is its only writer, so the hot
// path is a relaxed load and store per field: no lock, no shared cache line.
// Readers (SIGUSR1 dump, exit, tests) sum the shards. A request is counted
// when it is dispatched, before its reply is written, so once a system call
// on the mount returns, every request it caused is already in the counts
// (errors too: they are counted before the error reply is written).
#pragma once

#include "session/opcodes.h"

#include <atomfs/fuse/stats.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace atomfs::fuse {

// Latency buckets: bucket i counts requests that took [2^i, 2^(i+1)) ns.
inline constexpr unsigned kLatencyBuckets = RequestStats::kLatencyBuckets;

struct OpcodeStats {
	std::atomic<std::uint64_t> count{0};
	std::atomic<std::uint64_t> errors{0};
	std::atomic<std::uint64_t> total_ns{0};
	std::atomic<std::uint64_t> max_ns{0};
	std::array<std::atomic<std::uint64_t>, kLatencyBuckets> buckets{};
};

class StatsShard {
public:
	// The single writer's increment: no read-modify-write instruction needed.
	static void bump(std::atomic<std::uint64_t> &a, std::uint64_t by = 1)
	{
		a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
	}

	void dispatched(std::uint32_t opcode) { bump(ops_[opcode_slot(opcode)].count); }
	// Counted before the error reply is written, like dispatched().
	void errored(std::uint32_t opcode) { bump(ops_[opcode_slot(opcode)].errors); }
	void finished(std::uint32_t opcode, std::uint64_t ns);
	void malformed() { bump(malformed_); }

private:
	friend class Stats;
	std::array<OpcodeStats, kOpcodeSlots> ops_;
	std::atomic<std::uint64_t> malformed_{0};
};

class Stats {
public:
	// A shard for a new worker; shards live as long as the Stats.
	StatsShard &new_shard();

	// The shards summed: what Session::stats() returns (and the JSON
	// is written from).
	SessionStats snapshot() const;

private:
	mutable std::mutex mu_; // guards shards_ (the list), never the counters
	std::deque<StatsShard> shards_;
};

} // namespace atomfs::fuse
