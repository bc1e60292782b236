// SPDX-License-Identifier: MIT
//
// atomfs-nsstress DIR [--seconds S] [--procs P] [--threads T] [--seed N]
//
// Namespace stress: P processes of T threads each run create, open
// (O_CREAT, O_TRUNC, O_EXCL, plain), write, read, rename (plain, NOREPLACE,
// EXCHANGE), link, unlink, mkdir, rmdir and symlink on a small shared set of
// names in DIR (a few files and directories, one level of nesting), so that
// nearly every operation races with another on the same name.
//
// Races make ENOENT, EEXIST, ENOTEMPTY, EISDIR, ENOTDIR, EINVAL (rename
// of a directory into itself) and ELOOP expected outcomes; anything else
// (EIO, ENOTCONN, ESTALE, EBADF, a short write, a read returning data that
// no writer ever wrote) is a failure. Each thread has its own seed derived
// from --seed, so the mix of operations is reproducible (their interleaving
// is not). The caller then compares the tree with the source directory.
// Exit status: 0 no unexpected error, 1 otherwise, 2 usage.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Rng {
	std::uint64_t s;
	std::uint64_t next()
	{
		std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		return z ^ (z >> 31);
	}
	std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
};

std::string g_dir;
std::chrono::steady_clock::time_point g_deadline;

// The shared names: 4 top-level files, 3 directories, each holding the
// same 4 file names. Files and directories may be renamed onto each other's
// names, so every name can be any type at any moment.
std::string pick(Rng &r)
{
	static const char *top[] = {"a", "b", "c", "d", "D1", "D2", "D3"};
	static const char *sub[] = {"a", "b", "x", "D1"};
	std::string p = top[r.below(7)];
	if (r.below(3) == 0)
		p += std::string("/") + sub[r.below(4)];
	return g_dir + "/" + p;
}

bool expected(int e)
{
	switch (e) {
	case ENOENT:
	case EEXIST:
	case ENOTEMPTY:
	case EISDIR:
	case ENOTDIR:
	case EINVAL: // rename of a directory below itself
	case ELOOP:  // open(O_NOFOLLOW|O_CREAT) of a symlink
	case EBUSY:
	case EXDEV:
		return true;
	default:
		return false;
	}
}

// Content written to a file: a 16-byte record repeated, so that a read of
// any prefix can be checked for having come from one of our writes.
constexpr char kRecord[] = "nsstress-record\n";

struct Counters {
	long ops = 0, ok = 0, unexpected = 0;
};

void report(const char *op, const std::string &path, int e, Counters &c)
{
	c.unexpected++;
	if (c.unexpected <= 5)
		std::printf("nsstress[%d]: unexpected %s %s: %s\n", ::getpid(), op, path.c_str(),
			    std::strerror(e));
}

void step(Rng &r, Counters &c)
{
	std::string p = pick(r), q = pick(r);
	int rc = 0;
	const char *op = "";
	switch (r.below(12)) {
	case 0:
	case 1: {
		op = "create+write";
		int fl = O_WRONLY | O_CREAT | O_NOFOLLOW | (r.below(2) ? O_TRUNC : 0) |
			 (r.below(4) == 0 ? O_EXCL : 0);
		int fd = ::open(p.c_str(), fl, 0644);
		if (fd < 0) {
			rc = -1;
			break;
		}
		std::string data;
		for (int i = 0, n = 1 + r.below(256); i < n; i++)
			data += kRecord;
		ssize_t w = ::pwrite(fd, data.data(), data.size(), 0);
		int e = errno;
		::close(fd);
		if (w != (ssize_t)data.size()) {
			report("short write", p, w < 0 ? e : EIO, c);
			return;
		}
		break;
	}
	case 2: {
		op = "open+read";
		int fd = ::open(p.c_str(), O_RDONLY | (r.below(2) ? O_NOFOLLOW : 0));
		if (fd < 0) {
			rc = -1;
			break;
		}
		char buf[8192];
		ssize_t n = ::read(fd, buf, sizeof buf);
		int e = errno;
		::close(fd);
		if (n < 0 && e != EISDIR) {
			errno = e;
			rc = -1;
			break;
		}
		// Any data must be whole records from some writer. Zeros are
		// possible: a read racing with a truncating writer can find the
		// server's file shorter than the size the kernel knew, and FUSE
		// zero-fills the rest of the page. Any other byte is foreign.
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != kRecord[i % 16] && buf[i] != 0) {
				std::printf("nsstress[%d]: %s: byte %zd of %zd is 0x%02x\n", ::getpid(),
					    p.c_str(), i, n, (unsigned char)buf[i]);
				report("read returned foreign data", p, EIO, c);
				return;
			}
		}
		break;
	}
	case 3:
	case 4: {
		unsigned fl = 0;
		switch (r.below(4)) {
		case 0:
			fl = RENAME_NOREPLACE;
			break;
		case 1:
			fl = RENAME_EXCHANGE;
			break;
		}
		op = fl == RENAME_EXCHANGE ? "rename-exchange" : "rename";
		rc = ::renameat2(AT_FDCWD, p.c_str(), AT_FDCWD, q.c_str(), fl);
		break;
	}
	case 5:
		op = "link";
		rc = ::link(p.c_str(), q.c_str());
		if (rc != 0 && errno == EPERM) // link of a directory (maybe renamed over a file since)
			rc = 0;
		break;
	case 6:
	case 7:
		op = "unlink";
		rc = ::unlink(p.c_str());
		if (rc != 0 && errno == EPERM) // unlink of a directory (EISDIR on Linux, EPERM per POSIX)
			rc = 0;
		break;
	case 8:
		op = "mkdir";
		rc = ::mkdir(p.c_str(), 0755);
		break;
	case 9:
		op = "rmdir";
		rc = ::rmdir(p.c_str());
		break;
	case 10:
		op = "symlink";
		rc = ::symlink("a", p.c_str());
		break;
	default: {
		op = "stat+readdir";
		struct stat st;
		rc = ::lstat(p.c_str(), &st);
		if (rc == 0 && S_ISDIR(st.st_mode)) {
			DIR *d = ::opendir(p.c_str());
			if (d) {
				errno = 0;
				while (::readdir(d))
					;
				int e = errno;
				::closedir(d);
				if (e) {
					errno = e;
					rc = -1;
				}
			} else {
				rc = -1;
			}
		}
		break;
	}
	}
	c.ops++;
	if (rc == 0)
		c.ok++;
	else if (!expected(errno))
		report(op, p, errno, c);
}

int child(std::uint64_t seed, unsigned threads)
{
	std::vector<Counters> counters(threads);
	std::vector<std::thread> ts;
	for (unsigned t = 0; t < threads; t++) {
		ts.emplace_back([&, t] {
			Rng r{seed * 1000003 + t};
			while (std::chrono::steady_clock::now() < g_deadline)
				for (int i = 0; i < 16; i++)
					step(r, counters[t]);
		});
	}
	Counters sum;
	for (unsigned t = 0; t < threads; t++) {
		ts[t].join();
		sum.ops += counters[t].ops;
		sum.ok += counters[t].ok;
		sum.unexpected += counters[t].unexpected;
	}
	std::printf("nsstress[%d]: seed %" PRIu64 ": %ld ops, %ld succeeded, %ld unexpected errors\n",
		    ::getpid(), seed, sum.ops, sum.ok, sum.unexpected);
	return sum.unexpected ? 1 : 0;
}

} // namespace

int main(int argc, char **argv)
{
	double seconds = 5;
	unsigned procs = 3, threads = 4;
	std::uint64_t seed = 1;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "--seconds" && i + 1 < argc)
			seconds = std::atof(argv[++i]);
		else if (a == "--procs" && i + 1 < argc)
			procs = std::atoi(argv[++i]);
		else if (a == "--threads" && i + 1 < argc)
			threads = std::atoi(argv[++i]);
		else if (a == "--seed" && i + 1 < argc)
			seed = std::strtoull(argv[++i], nullptr, 0);
		else if (a[0] != '-' && g_dir.empty())
			g_dir = a;
		else {
			std::fprintf(stderr, "usage: atomfs-nsstress DIR [--seconds S] [--procs P] "
					     "[--threads T] [--seed N]\n");
			return 2;
		}
	}
	if (g_dir.empty() || procs == 0 || threads == 0)
		return 2;
	std::printf("nsstress: dir=%s %u processes x %u threads, %.1f s, seed %" PRIu64 "\n",
		    g_dir.c_str(), procs, threads, seconds, seed);
	std::fflush(stdout);
	g_deadline = std::chrono::steady_clock::now() +
		     std::chrono::milliseconds((long)(seconds * 1000));
	std::vector<pid_t> kids;
	for (unsigned p = 0; p < procs; p++) {
		pid_t pid = ::fork();
		if (pid == 0) {
			int rc = child(seed + p, threads);
			std::fflush(stdout);
			::_exit(rc);
		}
		if (pid < 0) {
			std::perror("fork");
			return 1;
		}
		kids.push_back(pid);
	}
	int bad = 0;
	for (pid_t k : kids) {
		int st = 0;
		::waitpid(k, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	std::printf("nsstress: %s\n", bad ? "unexpected errors (see above)" : "ok");
	return bad ? 1 : 0;
}
