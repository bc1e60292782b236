// SPDX-License-Identifier: MIT
//
// atomfs-integrity DIR [--seed N] [--ops N] [--max-size BYTES] [--source SRCDIR]
//                      [--lenient] [--verbose]
//
// Randomized data-integrity check: a seeded generator applies writes at
// random offsets, truncates, extends, mmap reads and writes, fsync,
// close/reopen, copy_file_range and fallocate (hole punching, zeroing,
// preallocation) to a file in DIR and, at the same time, to an in-memory
// model. Every read (pread and mmap) is compared byte for byte with the
// model, and so is st_size after every size-changing step. With --source,
// the same file seen in the backing directory (for a passthrough mount)
// must equal the model after each fsync and at the end.
//
// It runs on any directory (native, FUSE, inside the VM), so a mismatch
// on a mount that does not happen natively is a bug in the filesystem.
// --lenient skips a kind of step the filesystem does not support (mmap on a
// direct_io file, fallocate modes, copy_file_range) instead of failing; it
// is meant for reference filesystems, never for atomfs.
// Exit status: 0 all equal, 1 a mismatch or unexpected error, 2 usage.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace {

// splitmix64: the same sequence on every platform and library version.
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

struct Config {
	std::string dir;
	std::string source;
	std::uint64_t seed = 1;
	long ops = 2000;
	std::uint64_t max_size = 4u << 20;
	bool lenient = false;
	bool verbose = false;
};

const long kPage = ::sysconf(_SC_PAGESIZE);

// One modeled file: its path and expected contents.
struct Modeled {
	std::string name;
	std::string path;
	int fd = -1;
	std::vector<unsigned char> data;
};

class Run {
public:
	explicit Run(const Config &c) : cfg_(c), rng_{c.seed} {}
	int main();

private:
	bool fail(const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	void note(const std::string &s)
	{
		history_.push_back(s);
		if (history_.size() > 25)
			history_.pop_front();
		if (cfg_.verbose)
			std::printf("  op %ld: %s\n", op_, s.c_str());
	}
	bool open_file(Modeled &f, int extra_flags);
	bool compare(const Modeled &f, std::uint64_t off, const unsigned char *got,
		     std::size_t n, const char *how);
	bool check_size(const Modeled &f);
	bool check_whole(Modeled &f, const char *why);
	bool check_source(const Modeled &f);
	std::uint64_t rand_off(const Modeled &f);
	std::uint64_t rand_len();
	void fill(std::vector<unsigned char> &buf);

	bool op_write(Modeled &f);
	bool op_read(Modeled &f);
	bool op_truncate(Modeled &f);
	bool op_mmap_read(Modeled &f);
	bool op_mmap_write(Modeled &f);
	bool op_fsync(Modeled &f);
	bool op_reopen(Modeled &f);
	bool op_copy_range(Modeled &dst, Modeled &src);
	bool op_fallocate(Modeled &f);

	Config cfg_;
	Rng rng_;
	long op_ = 0;
	std::deque<std::string> history_;
	std::map<std::string, long> counts_;
	bool mmap_ok_ = true;
	bool punch_ok_ = true;
	bool zero_ok_ = true;
	bool alloc_ok_ = true;
	bool cfr_ok_ = true;
};

bool Run::fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	std::printf("integrity: FAIL at op %ld (seed %" PRIu64 "): ", op_, cfg_.seed);
	std::vprintf(fmt, ap);
	std::printf("\n");
	va_end(ap);
	std::printf("integrity: last operations:\n");
	for (auto &h : history_)
		std::printf("  %s\n", h.c_str());
	return false;
}

bool Run::open_file(Modeled &f, int extra_flags)
{
	f.fd = ::open(f.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | extra_flags, 0644);
	if (f.fd < 0)
		return fail("open %s: %s", f.path.c_str(), std::strerror(errno));
	if (extra_flags & O_TRUNC)
		f.data.clear();
	return true;
}

bool Run::compare(const Modeled &f, std::uint64_t off, const unsigned char *got, std::size_t n,
		  const char *how)
{
	if (n == 0)
		return true;
	if (off + n > f.data.size())
		return fail("%s of %s returned %zu bytes at %" PRIu64 ", beyond model size %zu",
			    how, f.name.c_str(), n, off, f.data.size());
	if (std::memcmp(got, f.data.data() + off, n) == 0)
		return true;
	std::size_t i = 0;
	while (got[i] == f.data[off + i])
		i++;
	return fail("%s of %s: byte %" PRIu64 " is 0x%02x, model says 0x%02x (read %zu at %" PRIu64
		    ")",
		    how, f.name.c_str(), off + i, got[i], f.data[off + i], n, off);
}

bool Run::check_size(const Modeled &f)
{
	struct stat st;
	if (::fstat(f.fd, &st) != 0)
		return fail("fstat %s: %s", f.name.c_str(), std::strerror(errno));
	if ((std::uint64_t)st.st_size != f.data.size())
		return fail("st_size of %s is %jd, model says %zu", f.name.c_str(),
			    (intmax_t)st.st_size, f.data.size());
	return true;
}

// Reads the whole file through a fresh descriptor and compares.
bool Run::check_whole(Modeled &f, const char *why)
{
	int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open %s for %s: %s", f.path.c_str(), why, std::strerror(errno));
	std::vector<unsigned char> buf(f.data.size() + 4096);
	std::size_t got = 0;
	for (;;) {
		ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, got);
		if (n < 0) {
			::close(fd);
			return fail("read %s (%s): %s", f.name.c_str(), why, std::strerror(errno));
		}
		if (n == 0 || got + n == buf.size()) {
			got += n;
			break;
		}
		got += n;
	}
	::close(fd);
	if (got != f.data.size())
		return fail("%s: %s has %zu bytes, model %zu", why, f.name.c_str(), got,
			    f.data.size());
	return compare(f, 0, buf.data(), got, why);
}

// The backing file of a passthrough mount must hold what was fsync'd.
bool Run::check_source(const Modeled &f)
{
	if (cfg_.source.empty())
		return true;
	Modeled s = f;
	s.path = cfg_.source + "/" + f.name;
	s.fd = -1;
	return check_whole(s, "source read after fsync");
}

std::uint64_t Run::rand_off(const Modeled &f)
{
	// Mostly inside or just past the current data, sometimes anywhere up to
	// max_size (sparse regions), often page-aligned (page-cache edges).
	std::uint64_t lim = std::max<std::uint64_t>(f.data.size() + 8192, 1);
	std::uint64_t off = rng_.below(4) == 0 ? rng_.below(cfg_.max_size) : rng_.below(lim);
	if (rng_.below(3) == 0)
		off -= off % kPage;
	return std::min<std::uint64_t>(off, cfg_.max_size - 1);
}

std::uint64_t Run::rand_len()
{
	switch (rng_.below(4)) {
	case 0:
		return 1 + rng_.below(16);
	case 1:
		return 1 + rng_.below(kPage * 2);
	case 2:
		return kPage * (1 + rng_.below(8));
	default:
		return 1 + rng_.below(256 * 1024);
	}
}

void Run::fill(std::vector<unsigned char> &buf)
{
	for (std::size_t i = 0; i < buf.size(); i += 8) {
		std::uint64_t v = rng_.next();
		std::memcpy(buf.data() + i, &v, std::min<std::size_t>(8, buf.size() - i));
	}
}

bool Run::op_write(Modeled &f)
{
	std::uint64_t off = rand_off(f);
	std::uint64_t len = std::min(rand_len(), cfg_.max_size - off);
	std::vector<unsigned char> buf(len);
	fill(buf);
	note("pwrite " + f.name + " off=" + std::to_string(off) + " len=" + std::to_string(len));
	std::size_t done = 0;
	while (done < len) {
		ssize_t n = ::pwrite(f.fd, buf.data() + done, len - done, off + done);
		if (n <= 0)
			return fail("pwrite: %s", n < 0 ? std::strerror(errno) : "wrote 0");
		done += n;
	}
	if (f.data.size() < off + len)
		f.data.resize(off + len, 0);
	std::memcpy(f.data.data() + off, buf.data(), len);
	return check_size(f);
}

bool Run::op_read(Modeled &f)
{
	std::uint64_t off = rand_off(f);
	std::uint64_t len = rand_len();
	note("pread " + f.name + " off=" + std::to_string(off) + " len=" + std::to_string(len));
	std::vector<unsigned char> buf(len);
	ssize_t n = ::pread(f.fd, buf.data(), len, off);
	if (n < 0)
		return fail("pread: %s", std::strerror(errno));
	std::uint64_t want = off >= f.data.size() ? 0 : std::min<std::uint64_t>(len, f.data.size() - off);
	if ((std::uint64_t)n != want)
		return fail("pread %s off=%" PRIu64 " len=%" PRIu64 " returned %zd, model %" PRIu64,
			    f.name.c_str(), off, len, n, want);
	return compare(f, off, buf.data(), n, "pread");
}

bool Run::op_truncate(Modeled &f)
{
	// Shrink, extend a little, or extend far (sparse tail).
	std::uint64_t size;
	switch (rng_.below(3)) {
	case 0:
		size = f.data.empty() ? 0 : rng_.below(f.data.size());
		break;
	case 1:
		size = f.data.size() + rng_.below(3 * kPage);
		break;
	default:
		size = rng_.below(cfg_.max_size);
		break;
	}
	note("ftruncate " + f.name + " size=" + std::to_string(size));
	if (::ftruncate(f.fd, size) != 0)
		return fail("ftruncate: %s", std::strerror(errno));
	f.data.resize(size, 0);
	return check_size(f);
}

bool Run::op_mmap_read(Modeled &f)
{
	if (f.data.empty() || !mmap_ok_)
		return true;
	std::uint64_t off = rng_.below(f.data.size());
	off -= off % kPage;
	std::uint64_t len = std::min<std::uint64_t>(rand_len(), f.data.size() - off);
	note("mmap read " + f.name + " off=" + std::to_string(off) + " len=" + std::to_string(len));
	void *p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, f.fd, off);
	if (p == MAP_FAILED) {
		if (cfg_.lenient && errno == ENODEV) {
			std::printf("integrity: mmap not supported here (ENODEV), mmap steps skipped\n");
			mmap_ok_ = false;
			return true;
		}
		return fail("mmap PROT_READ: %s", std::strerror(errno));
	}
	bool r = compare(f, off, static_cast<unsigned char *>(p), len, "mmap read");
	::munmap(p, len);
	return r;
}

bool Run::op_mmap_write(Modeled &f)
{
	if (f.data.empty() || !mmap_ok_)
		return true;
	std::uint64_t off = rng_.below(f.data.size());
	off -= off % kPage;
	std::uint64_t len = std::min<std::uint64_t>(rand_len(), f.data.size() - off);
	std::uint64_t inner = rng_.below(len);
	std::uint64_t n = 1 + rng_.below(len - inner);
	bool sync = rng_.below(2);
	note("mmap write " + f.name + " map off=" + std::to_string(off) + " len=" +
	     std::to_string(len) + " write +" + std::to_string(inner) + " n=" + std::to_string(n) +
	     (sync ? " msync" : ""));
	void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, f.fd, off);
	if (p == MAP_FAILED) {
		if (cfg_.lenient && errno == ENODEV) {
			std::printf("integrity: mmap not supported here (ENODEV), mmap steps skipped\n");
			mmap_ok_ = false;
			return true;
		}
		return fail("mmap PROT_WRITE: %s", std::strerror(errno));
	}
	std::vector<unsigned char> buf(n);
	fill(buf);
	std::memcpy(static_cast<unsigned char *>(p) + inner, buf.data(), n);
	std::memcpy(f.data.data() + off + inner, buf.data(), n);
	if (sync && ::msync(p, len, MS_SYNC) != 0) {
		::munmap(p, len);
		return fail("msync: %s", std::strerror(errno));
	}
	::munmap(p, len);
	return check_size(f);
}

bool Run::op_fsync(Modeled &f)
{
	bool data = rng_.below(2);
	note(std::string(data ? "fdatasync " : "fsync ") + f.name);
	if ((data ? ::fdatasync(f.fd) : ::fsync(f.fd)) != 0)
		return fail("fsync: %s", std::strerror(errno));
	return check_source(f);
}

bool Run::op_reopen(Modeled &f)
{
	bool trunc = rng_.below(8) == 0;
	note("close+reopen " + f.name + (trunc ? " O_TRUNC" : ""));
	if (::close(f.fd) != 0)
		return fail("close: %s", std::strerror(errno));
	if (!open_file(f, trunc ? O_TRUNC : 0))
		return false;
	return check_size(f);
}

bool Run::op_copy_range(Modeled &dst, Modeled &src)
{
	if (src.data.empty() || !cfr_ok_)
		return true;
	std::uint64_t in_off = rng_.below(src.data.size());
	std::uint64_t len = std::min<std::uint64_t>(rand_len(), src.data.size() - in_off);
	std::uint64_t out_off = rand_off(dst);
	len = std::min(len, cfg_.max_size - out_off);
	note("copy_file_range " + src.name + "@" + std::to_string(in_off) + " -> " + dst.name + "@" +
	     std::to_string(out_off) + " len=" + std::to_string(len));
	loff_t ioff = in_off, ooff = out_off;
	std::uint64_t done = 0;
	while (done < len) {
		ssize_t n = ::copy_file_range(src.fd, &ioff, dst.fd, &ooff, len - done, 0);
		if (n < 0 && done == 0 && cfg_.lenient && (errno == EOPNOTSUPP || errno == ENOSYS || errno == EXDEV)) {
			std::printf("integrity: copy_file_range: %s, steps skipped\n", std::strerror(errno));
			cfr_ok_ = false;
			return true;
		}
		if (n < 0)
			return fail("copy_file_range: %s", std::strerror(errno));
		if (n == 0)
			return fail("copy_file_range copied 0 of %" PRIu64 " bytes (short source?)",
				    len - done);
		done += n;
	}
	if (dst.data.size() < out_off + len)
		dst.data.resize(out_off + len, 0);
	std::memmove(dst.data.data() + out_off, src.data.data() + in_off, len);
	return check_size(dst);
}

bool Run::op_fallocate(Modeled &f)
{
	std::uint64_t off = rand_off(f);
	std::uint64_t len = std::min(rand_len(), cfg_.max_size - off);
	int kind = rng_.below(3);
	int mode = kind == 0   ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
		   : kind == 1 ? FALLOC_FL_ZERO_RANGE
			       : 0;
	bool &supported = kind == 0 ? punch_ok_ : kind == 1 ? zero_ok_ : alloc_ok_;
	if (!supported)
		return true;
	static const char *names[] = {"punch hole", "zero range", "allocate"};
	note(std::string("fallocate ") + names[kind] + " " + f.name + " off=" + std::to_string(off) +
	     " len=" + std::to_string(len));
	if (::fallocate(f.fd, mode, off, len) != 0) {
		if (cfg_.lenient && errno == EOPNOTSUPP) {
			std::printf("integrity: fallocate %s: EOPNOTSUPP here, steps skipped\n",
				    names[kind]);
			supported = false;
			return true;
		}
		return fail("fallocate %s: %s", names[kind], std::strerror(errno));
	}
	std::uint64_t end = off + len;
	if (kind == 0) {
		if (off < f.data.size())
			std::fill(f.data.begin() + off,
				  f.data.begin() + std::min<std::uint64_t>(end, f.data.size()), 0);
	} else {
		if (f.data.size() < end)
			f.data.resize(end, 0);
		if (kind == 1)
			std::fill(f.data.begin() + off, f.data.begin() + end, 0);
	}
	return check_size(f);
}

int Run::main()
{
	std::printf("integrity: dir=%s seed=%" PRIu64 " ops=%ld max-size=%" PRIu64 "%s\n",
		    cfg_.dir.c_str(), cfg_.seed, cfg_.ops, cfg_.max_size,
		    cfg_.source.empty() ? "" : (" source=" + cfg_.source).c_str());
	std::string tag = "integrity-" + std::to_string(cfg_.seed);
	Modeled files[2];
	files[0].name = tag + ".dat";
	files[1].name = tag + ".aux";
	for (auto &f : files) {
		f.path = cfg_.dir + "/" + f.name;
		if (!open_file(f, O_TRUNC))
			return 1;
	}
	for (op_ = 0; op_ < cfg_.ops; op_++) {
		// The main file gets most steps; the aux file is a copy source that
		// also changes now and then.
		Modeled &f = files[rng_.below(5) == 0 ? 1 : 0];
		Modeled &other = &f == &files[0] ? files[1] : files[0];
		std::uint64_t r = rng_.below(100);
		const char *kind;
		bool ok;
		if (r < 25)
			kind = "write", ok = op_write(f);
		else if (r < 45)
			kind = "read", ok = op_read(f);
		else if (r < 52)
			kind = "truncate", ok = op_truncate(f);
		else if (r < 60)
			kind = "mmap-read", ok = op_mmap_read(f);
		else if (r < 68)
			kind = "mmap-write", ok = op_mmap_write(f);
		else if (r < 74)
			kind = "fsync", ok = op_fsync(f);
		else if (r < 80)
			kind = "reopen", ok = op_reopen(f);
		else if (r < 90)
			kind = "copy_file_range", ok = op_copy_range(f, other);
		else
			kind = "fallocate", ok = op_fallocate(f);
		if (!ok)
			return 1;
		counts_[kind]++;
	}
	for (auto &f : files) {
		if (::fsync(f.fd) != 0) {
			fail("final fsync: %s", std::strerror(errno));
			return 1;
		}
		if (!check_whole(f, "final read through a new fd") || !check_source(f))
			return 1;
		::close(f.fd);
		if (!check_whole(f, "read after close")) // fresh open after the last release
			return 1;
	}
	std::printf("integrity: ok: %ld ops, final sizes %zu and %zu; steps drawn:", cfg_.ops, files[0].data.size(),
		    files[1].data.size());
	for (auto &[k, v] : counts_)
		std::printf(" %s=%ld", k.c_str(), v);
	std::printf("\n");
	for (auto &f : files)
		::unlink(f.path.c_str());
	return 0;
}

int usage()
{
	std::fprintf(stderr, "usage: atomfs-integrity DIR [--seed N] [--ops N] [--max-size BYTES] "
			     "[--source SRCDIR] [--lenient] [--verbose]\n");
	return 2;
}

} // namespace

int main(int argc, char **argv)
{
	Config cfg;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto value = [&](const char *name) -> const char * {
			if (a.rfind(std::string(name) + "=", 0) == 0)
				return argv[i] + std::strlen(name) + 1;
			if (a == name && i + 1 < argc)
				return argv[++i];
			return nullptr;
		};
		const char *v;
		if ((v = value("--seed")))
			cfg.seed = std::strtoull(v, nullptr, 0);
		else if ((v = value("--ops")))
			cfg.ops = std::strtol(v, nullptr, 0);
		else if ((v = value("--max-size")))
			cfg.max_size = std::strtoull(v, nullptr, 0);
		else if ((v = value("--source")))
			cfg.source = v;
		else if (a == "--lenient")
			cfg.lenient = true;
		else if (a == "--verbose" || a == "-v")
			cfg.verbose = true;
		else if (a[0] != '-' && cfg.dir.empty())
			cfg.dir = a;
		else
			return usage();
	}
	if (cfg.dir.empty() || cfg.ops < 0 || cfg.max_size < 2 * (std::uint64_t)kPage)
		return usage();
	return Run(cfg).main();
}
