// SPDX-License-Identifier: MIT
#include "session/stats.h"

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

Stats::Summary Stats::summary(std::uint32_t slot) const
{
	Summary out;
	std::lock_guard<std::mutex> lock(mu_);
	for (const StatsShard &sh : shards_) {
		const OpcodeStats &s = sh.ops_[slot];
		out.count += s.count.load(std::memory_order_relaxed);
		out.errors += s.errors.load(std::memory_order_relaxed);
		out.total_ns += s.total_ns.load(std::memory_order_relaxed);
		std::uint64_t m = s.max_ns.load(std::memory_order_relaxed);
		if (m > out.max_ns)
			out.max_ns = m;
		for (unsigned i = 0; i < kLatencyBuckets; i++)
			out.buckets[i] += s.buckets[i].load(std::memory_order_relaxed);
	}
	return out;
}

std::uint64_t Stats::malformed() const
{
	std::uint64_t n = 0;
	std::lock_guard<std::mutex> lock(mu_);
	for (const StatsShard &sh : shards_)
		n += sh.malformed_.load(std::memory_order_relaxed);
	return n;
}

// The upper edge of the bucket that holds the p-th percentile: an upper
// bound within a factor of two, which is what a log histogram can promise.
double Stats::Summary::percentile_us(double p) const
{
	std::uint64_t timed = 0;
	for (std::uint64_t b : buckets)
		timed += b;
	if (!timed)
		return 0;
	auto rank = static_cast<std::uint64_t>(p * static_cast<double>(timed) + 0.999999);
	if (rank == 0)
		rank = 1;
	std::uint64_t seen = 0;
	for (unsigned i = 0; i < kLatencyBuckets; i++) {
		seen += buckets[i];
		if (seen >= rank) {
			double upper_ns = static_cast<double>(std::uint64_t{2} << i);
			double max_us = static_cast<double>(max_ns) / 1000.0;
			double v = upper_ns / 1000.0;
			return v < max_us ? v : max_us;
		}
	}
	return static_cast<double>(max_ns) / 1000.0;
}

std::string Stats::json(const std::string &fs_fields) const
{
	std::string requests, errors, latency;
	char buf[256];
	for (std::uint32_t slot = 0; slot < kOpcodeSlots; slot++) {
		Summary s = summary(slot);
		if (!s.count)
			continue;
		std::string_view name = slot ? opcode_name(slot) : "UNKNOWN";
		std::snprintf(buf, sizeof(buf), "%s\"%.*s\":%llu", requests.empty() ? "" : ",",
			      (int)name.size(), name.data(), (unsigned long long)s.count);
		requests += buf;
		if (s.errors) {
			std::snprintf(buf, sizeof(buf), "%s\"%.*s\":%llu",
				      errors.empty() ? "" : ",", (int)name.size(), name.data(),
				      (unsigned long long)s.errors);
			errors += buf;
		}
		std::uint64_t timed = 0;
		for (std::uint64_t b : s.buckets)
			timed += b;
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
	std::string out = "{\"requests\":{" + requests + "},\n\"errors\":{" + errors +
			  "},\n\"latency_us\":{" + latency + "},\n\"malformed\":" +
			  std::to_string(malformed());
	if (!fs_fields.empty())
		out += ",\n\"fs\":{" + fs_fields + "}";
	out += "}\n";
	return out;
}

} // namespace atomfs::fuse
