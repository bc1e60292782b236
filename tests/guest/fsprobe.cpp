// fsprobe: the guest tests' probe for open(2) semantics. Each subcommand prints one
// line that depends only on what the kernel reported, so a test can run it on the
// native source directory and on the atomfs mount and compare the two lines.
//
//   fsprobe open PATH FLAGS [MODE]   FLAGS like O_RDWR|O_CREAT|O_EXCL; prints
//       "open=<ok|ERRNO> type=<file|dir|fifo|chr|blk|sock|link> size=<n> created=<0|1>"
//       created = inotify saw IN_CREATE for PATH's name in its parent during the open
//   fsprobe fifo PATH                a writer child and a reader parent on PATH; prints
//       "fifo read=<data>"
//   fsprobe stress DIR SECONDS THREADS
//       threads open/create/truncate/unlink/rename/mkdir/rmdir names in DIR; prints op
//       counts and fails on any errno other than the expected ENOENT/EEXIST/EISDIR/ENOTDIR
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string errno_name(int e)
{
	// strerrorname_np is glibc >= 2.32 (Debian 12 has 2.36)
	const char *n = strerrorname_np(e);
	return n ? n : "E" + std::to_string(e);
}

int parse_flags(const std::string &spec)
{
	static const std::map<std::string, int> names = {
		{"O_RDONLY", O_RDONLY}, {"O_WRONLY", O_WRONLY},	  {"O_RDWR", O_RDWR},
		{"O_CREAT", O_CREAT},	{"O_EXCL", O_EXCL},	  {"O_TRUNC", O_TRUNC},
		{"O_APPEND", O_APPEND}, {"O_NOFOLLOW", O_NOFOLLOW}, {"O_DIRECTORY", O_DIRECTORY},
		{"O_NONBLOCK", O_NONBLOCK}, {"O_PATH", O_PATH},	  {"O_NOCTTY", O_NOCTTY},
		{"O_DIRECT", O_DIRECT}, {"O_NOATIME", O_NOATIME},
	};
	int flags = 0;
	size_t pos = 0;
	while (pos <= spec.size()) {
		size_t bar = spec.find('|', pos);
		std::string word = spec.substr(pos, bar == std::string::npos ? std::string::npos : bar - pos);
		auto it = names.find(word);
		if (it == names.end()) {
			std::fprintf(stderr, "fsprobe: unknown flag '%s'\n", word.c_str());
			std::exit(2);
		}
		flags |= it->second;
		if (bar == std::string::npos)
			break;
		pos = bar + 1;
	}
	return flags;
}

const char *type_name(mode_t m)
{
	if (S_ISREG(m)) return "file";
	if (S_ISDIR(m)) return "dir";
	if (S_ISFIFO(m)) return "fifo";
	if (S_ISCHR(m)) return "chr";
	if (S_ISBLK(m)) return "blk";
	if (S_ISSOCK(m)) return "sock";
	if (S_ISLNK(m)) return "link";
	return "other";
}

int cmd_open(const std::string &path, int flags, mode_t mode)
{
	// The watched parent and the name in it; a trailing slash ("f/") is part
	// of the open, not of the name.
	std::string base = path;
	while (base.size() > 1 && base.back() == '/')
		base.pop_back();
	std::string dir = ".", name = base;
	if (auto slash = base.rfind('/'); slash != std::string::npos) {
		dir = slash == 0 ? "/" : base.substr(0, slash);
		name = base.substr(slash + 1);
	}
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in < 0 || inotify_add_watch(in, dir.c_str(), IN_CREATE) < 0) {
		std::perror("fsprobe: inotify");
		return 2;
	}
	int fd = open(path.c_str(), flags, mode);
	int err = errno;
	std::string result = fd >= 0 ? "ok" : errno_name(err);
	std::string type = "-", size = "-";
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) == 0) {
			type = type_name(st.st_mode);
			size = std::to_string(st.st_size);
		}
		close(fd);
	}
	// fsnotify events are queued synchronously inside open(), so they are readable now.
	int created = 0;
	alignas(struct inotify_event) char buf[4096];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			auto *ev = reinterpret_cast<struct inotify_event *>(p);
			if ((ev->mask & IN_CREATE) && ev->len && name == ev->name)
				created++;
			p += sizeof(*ev) + ev->len;
		}
	}
	close(in);
	std::printf("open=%s type=%s size=%s created=%d\n", result.c_str(), type.c_str(), size.c_str(), created);
	return 0;
}

int cmd_fifo(const std::string &path)
{
	pid_t child = fork();
	if (child == 0) {
		int fd = open(path.c_str(), O_WRONLY);
		if (fd < 0 || write(fd, "hello", 5) != 5)
			_exit(1);
		close(fd);
		_exit(0);
	}
	int fd = open(path.c_str(), O_RDONLY);
	if (fd < 0) {
		std::printf("fifo open=%s\n", errno_name(errno).c_str());
		kill(child, SIGKILL);
		waitpid(child, nullptr, 0);
		return 0;
	}
	std::string data;
	char buf[64];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		data.append(buf, n);
	close(fd);
	int status = 0;
	waitpid(child, &status, 0);
	std::printf("fifo read=%s writer=%d\n", data.c_str(), WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

int cmd_stress(const std::string &dir, int seconds, int threads)
{
	constexpr int kNames = 16;
	std::atomic<bool> stop{false};
	std::mutex mu;
	std::map<std::string, long> ops, unexpected;
	auto worker = [&](unsigned seed) {
		std::mt19937 rng(seed);
		std::map<std::string, long> my_ops, my_bad;
		auto name = [&] { return dir + "/n" + std::to_string(rng() % kNames); };
		auto check = [&](const char *op, int rc) {
			my_ops[op]++;
			// names are files, directories (always empty) or absent: these are the
			// errnos that races between the threads legitimately produce
			if (rc < 0 && errno != ENOENT && errno != EEXIST && errno != EISDIR && errno != ENOTDIR)
				my_bad[std::string(op) + ":" + errno_name(errno)]++;
		};
		while (!stop.load(std::memory_order_relaxed)) {
			int fd = -1;
			switch (rng() % 10) {
			case 0: fd = open(name().c_str(), O_RDONLY); check("open", fd); break;
			case 1: fd = open(name().c_str(), O_RDWR | O_CREAT, 0644); check("create", fd); break;
			case 2: fd = open(name().c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644); check("create_excl", fd); break;
			case 3: fd = open(name().c_str(), O_WRONLY | O_TRUNC); check("truncate", fd); break;
			case 4: check("unlink", unlink(name().c_str())); break;
			case 5: check("rename", rename(name().c_str(), name().c_str())); break;
			case 6: {
				struct stat st;
				check("stat", stat(name().c_str(), &st));
				break;
			}
			case 7: check("mkdir", mkdir(name().c_str(), 0755)); break;
			case 8: check("rmdir", rmdir(name().c_str())); break;
			case 9: {
				int dfd = open(name().c_str(), O_RDONLY | O_DIRECTORY);
				check("opendir", dfd);
				if (dfd >= 0)
					close(dfd);
				break;
			}
			}
			if (fd >= 0) {
				if (write(fd, "x", 1) < 0 && errno != EBADF)
					my_bad["write:" + errno_name(errno)]++;
				close(fd);
			}
		}
		std::lock_guard<std::mutex> lock(mu);
		for (auto &[k, v] : my_ops) ops[k] += v;
		for (auto &[k, v] : my_bad) unexpected[k] += v;
	};
	std::vector<std::thread> pool;
	for (int i = 0; i < threads; i++)
		pool.emplace_back(worker, 1234u + i);
	std::this_thread::sleep_for(std::chrono::seconds(seconds));
	stop = true;
	for (auto &t : pool)
		t.join();
	long total = 0;
	for (auto &[k, v] : ops) {
		std::printf("%s=%ld ", k.c_str(), v);
		total += v;
	}
	std::printf("total=%ld\n", total);
	for (auto &[k, v] : unexpected)
		std::printf("UNEXPECTED %s x%ld\n", k.c_str(), v);
	return unexpected.empty() && total > 0 ? 0 : 1;
}

} // namespace

int main(int argc, char **argv)
{
	std::vector<std::string> a(argv + 1, argv + argc);
	if (a.size() >= 3 && a[0] == "open")
		return cmd_open(a[1], parse_flags(a[2]), a.size() > 3 ? std::strtoul(a[3].c_str(), nullptr, 8) : 0644);
	if (a.size() == 2 && a[0] == "fifo")
		return cmd_fifo(a[1]);
	if (a.size() == 4 && a[0] == "stress")
		return cmd_stress(a[1], std::atoi(a[2].c_str()), std::atoi(a[3].c_str()));
	std::fprintf(stderr, "usage: fsprobe open PATH FLAGS [MODE] | fifo PATH | stress DIR SECONDS THREADS\n");
	return 2;
}
