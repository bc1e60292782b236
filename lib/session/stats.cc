// SPDX-License-Identifier: MIT
#include "session/stats.h"

#include <algorithm>
#include <bit>
#include <cstdio>

namespace atomfs::fuse {

void StatsShard::finished(std::uint32_t opcode, std::uint64_t ns)
{
	OpcodeStats &s = ops_[opcode_slot(opcode)];
	bump(s.total_ns, ns);
	if (ns > s.max_ns.load(std::memory_order_relaxed))
		s.max_ns.store(ns, std::memory_order_relaxed);
	unsigned b = ns ? static_cast<unsigned>(std::bit_width(ns)) - 1 : 0;
	bump(s.buckets[b < kLatencyBuckets ? b : kLatencyBuckets - 1]);
}

StatsShard &Stats::new_shard()
{
	std::lock_guard<std::mutex> lock(mu_);
	return shards_.emplace_back();
}

SessionStats Stats::snapshot() const
{
	SessionStats out;
	std::array<RequestStats, kOpcodeSlots> sum{};
	std::lock_guard<std::mutex> lock(mu_);
	for (const StatsShard &sh : shards_) {
		out.malformed += sh.malformed_.load(std::memory_order_relaxed);
		for (std::uint32_t slot = 0; slot < kOpcodeSlots; slot++) {
			const OpcodeStats &s = sh.ops_[slot];
			RequestStats &r = sum[slot];
			r.count += s.count.load(std::memory_order_relaxed);
			r.errors += s.errors.load(std::memory_order_relaxed);
			r.total_ns += s.total_ns.load(std::memory_order_relaxed);
			r.max_ns = std::max(r.max_ns, s.max_ns.load(std::memory_order_relaxed));
			for (unsigned i = 0; i < kLatencyBuckets; i++)
				r.latency_buckets[i] += s.buckets[i].load(std::memory_order_relaxed);
		}
	}
	for (std::uint32_t slot = 0; slot < kOpcodeSlots; slot++) {
		if (!sum[slot].count)
			continue;
		sum[slot].opcode = slot;
		sum[slot].name = slot ? opcode_name(slot) : "UNKNOWN";
		out.requests.push_back(sum[slot]);
	}
	return out;
}

std::uint64_t RequestStats::timed() const
{
	std::uint64_t n = 0;
	for (std::uint64_t b : latency_buckets)
		n += b;
	return n;
}

// The upper edge of the bucket that holds the p-th percentile: an upper
// bound within a factor of two, which is what a log histogram can promise.
double RequestStats::percentile_us(double p) const
{
	std::uint64_t all = timed();
	if (!all)
		return 0;
	auto rank = static_cast<std::uint64_t>(p * static_cast<double>(all) + 0.999999);
	if (rank == 0)
		rank = 1;
	std::uint64_t seen = 0;
	for (unsigned i = 0; i < kLatencyBuckets; i++) {
		seen += latency_buckets[i];
		if (seen >= rank) {
			double upper_ns = static_cast<double>(std::uint64_t{2} << i);
			double max_us = static_cast<double>(max_ns) / 1000.0;
			double v = upper_ns / 1000.0;
			return v < max_us ? v : max_us;
		}
	}
	return static_cast<double>(max_ns) / 1000.0;
}

const RequestStats *SessionStats::find(std::string_view name) const
{
	for (const RequestStats &r : requests)
		if (r.name == name)
			return &r;
	return nullptr;
}

std::uint64_t SessionStats::count(std::string_view name) const
{
	const RequestStats *r = find(name);
	return r ? r->count : 0;
}

std::string SessionStats::json(std::string_view fs_fields) const
{
	std::string req, errors, latency;
	char buf[256];
	for (const RequestStats &s : requests) {
		const std::string_view name = s.name;
		std::snprintf(buf, sizeof(buf), "%s\"%.*s\":%llu", req.empty() ? "" : ",",
			      (int)name.size(), name.data(), (unsigned long long)s.count);
		req += buf;
		if (s.errors) {
			std::snprintf(buf, sizeof(buf), "%s\"%.*s\":%llu",
				      errors.empty() ? "" : ",", (int)name.size(), name.data(),
				      (unsigned long long)s.errors);
			errors += buf;
		}
		std::uint64_t timed = s.timed();
		if (!timed)
			continue;
		std::snprintf(buf, sizeof(buf),
			      "%s\"%.*s\":{\"count\":%llu,\"mean\":%.1f,\"p50\":%.1f,"
			      "\"p99\":%.1f,\"max\":%.1f}",
			      latency.empty() ? "" : ",", (int)name.size(), name.data(),
			      (unsigned long long)timed,
			      static_cast<double>(s.total_ns) / 1000.0 / static_cast<double>(timed),
			      s.percentile_us(0.50), s.percentile_us(0.99),
			      static_cast<double>(s.max_ns) / 1000.0);
		latency += buf;
	}
	std::string out = "{\"requests\":{" + req + "},\n\"errors\":{" + errors +
			  "},\n\"latency_us\":{" + latency + "},\n\"malformed\":" +
			  std::to_string(malformed) + ",\n\"deferred\":" + std::to_string(deferred) +
			  ",\"deferred_max_in_flight\":" + std::to_string(deferred_max_in_flight);
	if (!fs_fields.empty())
		out += ",\n\"fs\":{" + std::string(fs_fields) + "}";
	out += "}\n";
	return out;
}

} // namespace atomfs::fuse
