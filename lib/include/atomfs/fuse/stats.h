// SPDX-License-Identifier: MIT
//
// A session's request counters as data (Session::stats()): what the kernel
// sent, per opcode, exact, with the time each request took to be answered.
// The JSON of Session::stats_json() and the --stats files is written from
// this, so a program can read the same numbers without parsing text.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace atomfs::fuse {

/// The requests of one opcode that a session has served.
struct RequestStats {
	/// Latency histogram size: bucket i counts requests answered in
	/// [2^i, 2^(i+1)) ns; the last bucket also holds everything longer.
	static constexpr unsigned kLatencyBuckets = 40;

	/// FUSE opcode; 0 for requests whose opcode the session does not know.
	std::uint32_t opcode = 0;
	/// "LOOKUP", "OPEN_ATOMIC", ...; "UNKNOWN" for opcode 0. Static storage.
	std::string_view name;
	/// Requests dispatched, counted before their reply is written: once a
	/// system call on the mount has returned, its requests are in here.
	std::uint64_t count = 0;
	/// Of `count`, the requests answered with an error.
	std::uint64_t errors = 0;
	/// Sum of the times from reading a request to its reply.
	std::uint64_t total_ns = 0;
	/// The longest of them.
	std::uint64_t max_ns = 0;
	/// Log-2 histogram of the same times (see kLatencyBuckets).
	std::array<std::uint64_t, kLatencyBuckets> latency_buckets{};

	/// Requests in the histogram (those answered; FORGET has no reply).
	std::uint64_t timed() const;
	/// Upper edge of the histogram bucket holding the p-th percentile
	/// (0 < p <= 1), in microseconds, capped at max_ns: an upper bound
	/// within a factor of two. 0 when nothing was timed.
	double percentile_us(double p) const;
};

/// Everything a session has counted since it started.
struct SessionStats {
	/// One entry per opcode seen at least once, in ascending opcode order.
	std::vector<RequestStats> requests;
	/// Requests too short or inconsistent to dispatch (answered EINVAL or
	/// dropped).
	std::uint64_t malformed = 0;
	/// Requests a handler deferred (pending_reply.h).
	std::uint64_t deferred = 0;
	/// The most deferred requests that waited for their answer at once.
	std::uint64_t deferred_max_in_flight = 0;

	/// The entry for the opcode called `name`, or nullptr if none came.
	const RequestStats *find(std::string_view name) const;
	/// Requests of the opcode called `name` (0 if none came).
	std::uint64_t count(std::string_view name) const;
	/// As JSON: {"requests":{"LOOKUP":3,...},"errors":{...},
	/// "latency_us":{"LOOKUP":{"count":..,"mean":..,"p50":..,"p99":..,
	/// "max":..},...},"malformed":0,"deferred":0,"deferred_max_in_flight":0
	/// [,"fs":{fs_fields}]}. "requests" and
	/// "errors" are flat objects of non-zero counters, easy for shell tools.
	/// `fs_fields` are members the filesystem adds (without braces).
	std::string json(std::string_view fs_fields = {}) const;
};

} // namespace atomfs::fuse
