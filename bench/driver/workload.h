// Workloads of the benchmark driver: one workload per process run, timed per operation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

struct Options {
	std::string root;         // directory the workload runs in (a mount or a native dir)
	std::string workload;     // see run_workload()
	uint64_t files = 1000;    // number of small files
	int depth = 1;            // 1: d/fNNN, 3: a/b/c/fNNN
	int threads = 1;
	uint64_t size = 64ull << 20; // data file size for seqwrite/seqread/randread
	uint64_t block = 1ull << 20; // I/O size for sequential workloads
	uint64_t ops = 10000;     // random reads
	uint64_t seed = 1;
	bool drop = true;         // drop the file's page cache before reads (see drop_file_cache)
};

struct Result {
	uint64_t ops = 0;          // operations timed
	uint64_t units = 0;        // what the rate counts: ops, entries (readdir) or bytes
	std::string unit = "ops";  // "ops", "entries" or "bytes"
	uint64_t errors = 0;
	std::string first_error;
	double seconds = 0;        // wall time from the start barrier to the last thread done
	std::vector<uint64_t> lat_ns; // one per operation, all threads
};

// Directory that holds the small files, relative to root: "d" or "a/b/c".
std::string file_dir(int depth);
// Path of small file i.
std::string file_path(const Options& o, uint64_t i);

// Runs o.workload and fills the result; returns false for an unknown workload.
bool run_workload(const Options& o, Result& r);

} // namespace bench
