// atomfs-bench: runs one workload and prints one JSON object (rate, mean and p99 latency).
// Request counting and cache dropping are the caller's job (bench/run.py), so that they stay
// outside the timed region.
#include "workload.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

void usage()
{
	std::fprintf(stderr,
		     "usage: atomfs-bench --root=DIR --workload=W [--files=N] [--depth=1|3]\n"
		     "       [--threads=T] [--size=BYTES] [--block=BYTES] [--ops=N] [--seed=S] [--drop=0|1]\n"
		     "workloads: mkdirs create open stat readdir unlink seqwrite seqread randread\n");
	std::exit(2);
}

bool opt(const char* arg, const char* name, std::string& val)
{
	size_t n = std::strlen(name);
	if (std::strncmp(arg, name, n) != 0 || arg[n] != '=')
		return false;
	val = arg + n + 1;
	return true;
}

uint64_t num(const std::string& s)
{
	char* end;
	uint64_t v = std::strtoull(s.c_str(), &end, 10);
	if (*end == 'k' || *end == 'K')
		v <<= 10;
	else if (*end == 'm' || *end == 'M')
		v <<= 20;
	else if (*end == 'g' || *end == 'G')
		v <<= 30;
	return v;
}

std::string json_escape(const std::string& s)
{
	std::string o;
	for (char c : s) {
		if (c == '"' || c == '\\')
			o += '\\';
		if ((unsigned char)c >= 0x20)
			o += c;
	}
	return o;
}

} // namespace

int main(int argc, char** argv)
{
	bench::Options o;
	for (int i = 1; i < argc; i++) {
		std::string v;
		if (opt(argv[i], "--root", v))
			o.root = v;
		else if (opt(argv[i], "--workload", v))
			o.workload = v;
		else if (opt(argv[i], "--files", v))
			o.files = num(v);
		else if (opt(argv[i], "--depth", v))
			o.depth = (int)num(v);
		else if (opt(argv[i], "--threads", v))
			o.threads = (int)num(v);
		else if (opt(argv[i], "--size", v))
			o.size = num(v);
		else if (opt(argv[i], "--block", v))
			o.block = num(v);
		else if (opt(argv[i], "--ops", v))
			o.ops = num(v);
		else if (opt(argv[i], "--seed", v))
			o.seed = num(v);
		else if (opt(argv[i], "--drop", v))
			o.drop = num(v) != 0;
		else
			usage();
	}
	if (o.root.empty() || o.workload.empty() || o.block == 0 || o.size < 4096)
		usage();

	bench::Result r;
	if (!bench::run_workload(o, r))
		usage();

	double mean = 0, p99 = 0;
	if (!r.lat_ns.empty()) {
		double sum = 0;
		for (auto l : r.lat_ns)
			sum += l;
		mean = sum / r.lat_ns.size();
		size_t k = std::min(r.lat_ns.size() - 1, (size_t)(r.lat_ns.size() * 0.99));
		std::nth_element(r.lat_ns.begin(), r.lat_ns.begin() + k, r.lat_ns.end());
		p99 = r.lat_ns[k];
	}
	double rate = r.seconds > 0 ? r.units / r.seconds : 0;
	std::printf("{\"workload\":\"%s\",\"threads\":%d,\"depth\":%d,\"ops\":%llu,"
		    "\"units\":%llu,\"unit\":\"%s\",\"seconds\":%.6f,\"rate\":%.3f,"
		    "\"lat_mean_us\":%.3f,\"lat_p99_us\":%.3f,\"errors\":%llu,\"first_error\":\"%s\"}\n",
		    o.workload.c_str(), o.threads, o.depth, (unsigned long long)r.ops,
		    (unsigned long long)r.units, r.unit.c_str(), r.seconds, rate, mean / 1e3,
		    p99 / 1e3, (unsigned long long)r.errors, json_escape(r.first_error).c_str());
	return r.errors ? 1 : 0;
}
