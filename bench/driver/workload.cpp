// The workloads. Each times every operation (one whole system call sequence, e.g.
// open+read+close) with a monotonic clock; threads split the file set into contiguous ranges
// and start together behind a barrier, so the wall time covers the slowest thread.
#include "workload.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t ns_since(Clock::time_point t0)
{
	return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
}

struct Shared {
	std::mutex mu;
	Result* r;
	void fail(const std::string& what)
	{
		std::lock_guard<std::mutex> g(mu);
		if (r->errors++ == 0)
			r->first_error = what + ": " + std::strerror(errno);
	}
};

// Runs op(i) for i in [0, n) over o.threads threads; op returns false on error.
void run_ops(const Options& o, uint64_t n, Result& r,
	     const std::function<bool(uint64_t, Shared&)>& op)
{
	Shared sh{{}, &r};
	int nt = o.threads < 1 ? 1 : o.threads;
	std::vector<std::vector<uint64_t>> lats(nt);
	std::barrier start(nt + 1);
	std::vector<std::thread> ts;
	for (int t = 0; t < nt; t++) {
		ts.emplace_back([&, t] {
			uint64_t lo = n * t / nt, hi = n * (t + 1) / nt;
			lats[t].reserve(hi - lo);
			start.arrive_and_wait();
			for (uint64_t i = lo; i < hi; i++) {
				auto t0 = Clock::now();
				op(i, sh);
				lats[t].push_back(ns_since(t0));
			}
		});
	}
	// The clock starts before the main thread's arrival: the workers cannot start earlier,
	// and a worker may finish a short run before the main thread is scheduled again.
	auto t0 = Clock::now();
	start.arrive_and_wait();
	for (auto& t : ts)
		t.join();
	r.seconds = ns_since(t0) / 1e9;
	r.ops = n;
	r.units = n;
	for (auto& l : lats)
		r.lat_ns.insert(r.lat_ns.end(), l.begin(), l.end());
}

bool mkdirs(const Options& o, Result& r)
{
	std::string p = o.root;
	std::string rel = file_dir(o.depth);
	size_t pos = 0;
	while (pos <= rel.size()) {
		size_t slash = rel.find('/', pos);
		if (slash == std::string::npos)
			slash = rel.size();
		p += "/" + rel.substr(pos, slash - pos);
		if (mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) {
			r.errors++;
			r.first_error = "mkdir " + p + ": " + std::strerror(errno);
			return true;
		}
		pos = slash + 1;
	}
	return true;
}

void create(const Options& o, Result& r)
{
	run_ops(o, o.files, r, [&](uint64_t i, Shared& sh) {
		std::string p = file_path(o, i);
		int fd = open(p.c_str(), O_CREAT | O_WRONLY, 0644);
		if (fd < 0)
			return sh.fail("open " + p), false;
		if (write(fd, "x", 1) != 1)
			sh.fail("write " + p);
		if (close(fd) != 0)
			sh.fail("close " + p);
		return true;
	});
}

void open_read_close(const Options& o, Result& r)
{
	run_ops(o, o.files, r, [&](uint64_t i, Shared& sh) {
		std::string p = file_path(o, i);
		int fd = open(p.c_str(), O_RDONLY);
		if (fd < 0)
			return sh.fail("open " + p), false;
		char c;
		if (read(fd, &c, 1) != 1)
			sh.fail("read " + p);
		if (close(fd) != 0)
			sh.fail("close " + p);
		return true;
	});
}

void stat_files(const Options& o, Result& r)
{
	run_ops(o, o.files, r, [&](uint64_t i, Shared& sh) {
		std::string p = file_path(o, i);
		struct stat st;
		if (stat(p.c_str(), &st) != 0)
			return sh.fail("stat " + p), false;
		return true;
	});
}

void unlink_files(const Options& o, Result& r)
{
	run_ops(o, o.files, r, [&](uint64_t i, Shared& sh) {
		std::string p = file_path(o, i);
		if (unlink(p.c_str()) != 0)
			return sh.fail("unlink " + p), false;
		return true;
	});
}

// Lists the whole tree under root with getdents64 (no stat): one timed operation per
// getdents64 call, the rate counts entries. Single-threaded: a tree walk is sequential.
void readdir_tree(const Options& o, Result& r)
{
	std::vector<std::string> todo{o.root};
	std::vector<char> buf(32 << 10);
	auto t0 = Clock::now();
	while (!todo.empty()) {
		std::string dir = todo.back();
		todo.pop_back();
		auto top = Clock::now();
		int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
		if (fd < 0) {
			r.errors++;
			r.first_error = "opendir " + dir + ": " + std::strerror(errno);
			continue;
		}
		for (;;) {
			long n = syscall(SYS_getdents64, fd, buf.data(), buf.size());
			r.lat_ns.push_back(ns_since(top));
			r.ops++;
			if (n <= 0) {
				if (n < 0) {
					r.errors++;
					r.first_error = "getdents64 " + dir + ": " + std::strerror(errno);
				}
				break;
			}
			for (long off = 0; off < n;) {
				auto* d = reinterpret_cast<struct dirent64*>(buf.data() + off);
				off += d->d_reclen;
				if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
					continue;
				r.units++;
				if (d->d_type == DT_DIR)
					todo.push_back(dir + "/" + d->d_name);
			}
			top = Clock::now();
		}
		close(fd);
	}
	r.seconds = ns_since(t0) / 1e9;
	r.unit = "entries";
}

std::string data_path(const Options& o) { return o.root + "/data"; }

// Drops this FUSE file's own page cache, so that reads go through the file system while
// the source file underneath stays cached. With kernel passthrough the FUSE inode caches
// nothing (reads go to the backing file), and a native run must not drop its source's cache:
// the caller passes --drop=0 there, so every variant reads the same cached source data.
void drop_file_cache(const Options& o, int fd)
{
	if (o.drop)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

void seqwrite(const Options& o, Result& r)
{
	std::vector<char> buf(o.block, 'w');
	auto t0 = Clock::now();
	int fd = open(data_path(o).c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0) {
		r.errors++;
		r.first_error = std::string("open data: ") + std::strerror(errno);
		return;
	}
	for (uint64_t off = 0; off < o.size; off += o.block) {
		auto top = Clock::now();
		if (write(fd, buf.data(), o.block) != (ssize_t)o.block) {
			r.errors++;
			r.first_error = std::string("write: ") + std::strerror(errno);
			break;
		}
		r.lat_ns.push_back(ns_since(top));
		r.ops++;
	}
	close(fd);
	r.seconds = ns_since(t0) / 1e9;
	r.units = r.ops * o.block;
	r.unit = "bytes";
}

void seqread(const Options& o, Result& r)
{
	std::vector<char> buf(o.block);
	int fd = open(data_path(o).c_str(), O_RDONLY);
	if (fd < 0) {
		r.errors++;
		r.first_error = std::string("open data: ") + std::strerror(errno);
		return;
	}
	drop_file_cache(o, fd);
	auto t0 = Clock::now();
	for (;;) {
		auto top = Clock::now();
		ssize_t n = read(fd, buf.data(), o.block);
		if (n <= 0) {
			if (n < 0) {
				r.errors++;
				r.first_error = std::string("read: ") + std::strerror(errno);
			}
			break;
		}
		r.lat_ns.push_back(ns_since(top));
		r.ops++;
		r.units += n;
	}
	r.seconds = ns_since(t0) / 1e9;
	close(fd);
	r.unit = "bytes";
}

void randread(const Options& o, Result& r)
{
	int fd = open(data_path(o).c_str(), O_RDONLY);
	if (fd < 0) {
		r.errors++;
		r.first_error = std::string("open data: ") + std::strerror(errno);
		return;
	}
	drop_file_cache(o, fd);
	uint64_t blocks = o.size / 4096;
	run_ops(o, o.ops, r, [&](uint64_t i, Shared& sh) {
		// Offsets from a hash of i: deterministic and independent of the thread split.
		uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ o.seed;
		x ^= x >> 31;
		x *= 0xbf58476d1ce4e5b9ull;
		x ^= x >> 29;
		char b[4096];
		if (pread(fd, b, sizeof b, (x % blocks) * 4096) != (ssize_t)sizeof b)
			return sh.fail("pread"), false;
		return true;
	});
	close(fd);
	r.units = r.ops * 4096;
	r.unit = "bytes";
}

} // namespace

std::string file_dir(int depth) { return depth >= 3 ? "a/b/c" : "d"; }

std::string file_path(const Options& o, uint64_t i)
{
	char name[32];
	std::snprintf(name, sizeof name, "f%07llu", (unsigned long long)i);
	return o.root + "/" + file_dir(o.depth) + "/" + name;
}

bool run_workload(const Options& o, Result& r)
{
	const std::string& w = o.workload;
	if (w == "mkdirs")
		return mkdirs(o, r);
	if (w == "create")
		create(o, r);
	else if (w == "open")
		open_read_close(o, r);
	else if (w == "stat")
		stat_files(o, r);
	else if (w == "readdir")
		readdir_tree(o, r);
	else if (w == "unlink")
		unlink_files(o, r);
	else if (w == "seqwrite")
		seqwrite(o, r);
	else if (w == "seqread")
		seqread(o, r);
	else if (w == "randread")
		randread(o, r);
	else
		return false;
	return true;
}

} // namespace bench
