// SPDX-License-Identifier: MIT
//
// atomfs-crashwriter write DIR LOG [--threads T] [--fsync] [--seconds S]
// atomfs-crashwriter verify DIR LOG
//
// write: T threads append 4 KiB records to files DIR/w<T>-<k> (a new file
// every 64 records), each record's bytes a function of (file, index). After
// each record is acknowledged (pwrite returned, and with --fsync also
// fsync) one line "FILE INDEX" is appended to LOG, which must live outside
// the filesystem under test. It runs until S seconds pass or the
// filesystem fails: then it prints the errno each thread got (the crash
// test expects ENOTCONN after kill -9 of the server, never a hang) and exits
// 0 if every thread stopped on ENOTCONN / ECONNABORTED or ran to the end.
//
// verify: every record named in LOG must be intact in DIR (typically the
// source directory after the server died). Prints how many were checked.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t kRecord = 4096;
constexpr int kPerFile = 64;

void fill_record(const std::string &file, long index, unsigned char *buf)
{
	std::uint64_t h = 1469598103934665603ull;
	for (char c : file)
		h = (h ^ (unsigned char)c) * 1099511628211ull;
	h ^= (std::uint64_t)index * 0x9e3779b97f4a7c15ull;
	for (std::size_t i = 0; i < kRecord; i += 8) {
		h ^= h << 13;
		h ^= h >> 7;
		h ^= h << 17;
		std::memcpy(buf + i, &h, 8);
	}
	std::snprintf(reinterpret_cast<char *>(buf), 48, "%s#%ld|", file.c_str(), index);
}

int do_write(const std::string &dir, const std::string &log, unsigned threads, bool sync,
	     double seconds)
{
	int logfd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		std::printf("crashwriter: %s: %s\n", log.c_str(), std::strerror(errno));
		return 1;
	}
	// Names are opened relative to a directory fd taken once: once the
	// filesystem is unmounted (lazily, by SIGTERM) a path would resolve to
	// the bare mountpoint below and writes would silently go there.
	int dirfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		std::printf("crashwriter: %s: %s\n", dir.c_str(), std::strerror(errno));
		return 1;
	}
	auto deadline = std::chrono::steady_clock::now() +
			std::chrono::milliseconds((long)(seconds * 1000));
	std::vector<int> last_errno(threads, 0);
	std::vector<long> acked(threads, 0);
	std::vector<std::thread> ts;
	for (unsigned t = 0; t < threads; t++) {
		ts.emplace_back([&, t] {
			unsigned char buf[kRecord];
			int fd = -1;
			std::string name;
			for (long i = 0; std::chrono::steady_clock::now() < deadline; i++) {
				if (i % kPerFile == 0) {
					if (fd >= 0 && ::close(fd) != 0) {
						last_errno[t] = errno;
						return;
					}
					name = "w" + std::to_string(t) + "-" + std::to_string(i / kPerFile);
					fd = ::openat(dirfd, name.c_str(),
						    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
					if (fd < 0) {
						last_errno[t] = errno;
						return;
					}
				}
				long idx = i % kPerFile;
				fill_record(name, idx, buf);
				if (::pwrite(fd, buf, kRecord, idx * kRecord) != (ssize_t)kRecord ||
				    (sync && ::fsync(fd) != 0)) {
					last_errno[t] = errno;
					::close(fd);
					return;
				}
				std::string line = name + " " + std::to_string(idx) + "\n";
				if (::write(logfd, line.data(), line.size()) != (ssize_t)line.size()) {
					last_errno[t] = errno ? errno : EIO;
					return;
				}
				acked[t]++;
			}
			if (fd >= 0)
				::close(fd);
		});
	}
	int bad = 0;
	for (unsigned t = 0; t < threads; t++) {
		ts[t].join();
		int e = last_errno[t];
		std::printf("crashwriter: thread %u: %ld records acknowledged, stopped: %s\n", t,
			    acked[t], e ? std::strerror(e) : "time is up");
		if (e && e != ENOTCONN && e != ECONNABORTED)
			bad++;
	}
	::close(logfd);
	::close(dirfd);
	return bad ? 1 : 0;
}

int do_verify(const std::string &dir, const std::string &log)
{
	std::ifstream in(log);
	std::string file;
	long idx;
	long checked = 0, bad = 0;
	unsigned char want[kRecord], got[kRecord];
	while (in >> file >> idx) {
		fill_record(file, idx, want);
		int fd = ::open((dir + "/" + file).c_str(), O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : ::pread(fd, got, kRecord, idx * kRecord);
		if (fd >= 0)
			::close(fd);
		checked++;
		if (n != (ssize_t)kRecord || std::memcmp(want, got, kRecord) != 0) {
			if (++bad <= 5)
				std::printf("crashwriter: record %s #%ld lost or damaged (read %zd)\n",
					    file.c_str(), idx, n);
		}
	}
	std::printf("crashwriter: verified %ld acknowledged records in %s, %ld bad\n", checked,
		    dir.c_str(), bad);
	return bad ? 1 : 0;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 4) {
		std::fprintf(stderr, "usage: atomfs-crashwriter write DIR LOG [--threads T] [--fsync] "
				     "[--seconds S] | verify DIR LOG\n");
		return 2;
	}
	std::string mode = argv[1];
	if (mode == "verify")
		return do_verify(argv[2], argv[3]);
	unsigned threads = 2;
	bool sync = false;
	double seconds = 30;
	for (int i = 4; i < argc; i++) {
		std::string a = argv[i];
		if (a == "--threads" && i + 1 < argc)
			threads = std::atoi(argv[++i]);
		else if (a == "--seconds" && i + 1 < argc)
			seconds = std::atof(argv[++i]);
		else if (a == "--fsync")
			sync = true;
		else
			return 2;
	}
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	return do_write(argv[2], argv[3], threads, sync, seconds);
}
