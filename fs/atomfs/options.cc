// SPDX-License-Identifier: MIT
#include "options.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace atomfs::fs {

const char *usage_text()
{
	return "usage: atomfs SOURCE MOUNTPOINT [options]\n"
	       "\n"
	       "Serves the directory SOURCE at MOUNTPOINT through FUSE, opening files in one\n"
	       "request (FUSE_OPEN_ATOMIC) when the kernel supports it.\n"
	       "\n"
	       "  -f                     stay in the foreground (default: daemonize once mounted)\n"
	       "  -d                     debug: log every request (implies -f)\n"
	       "  -s                     single worker thread (same as --threads=1)\n"
	       "  -o opt[,opt...]        mount options:\n"
	       "       allow_other         let other users in (turns on default_permissions)\n"
	       "       default_permissions let the kernel check permissions from the modes\n"
	       "       ro                  read-only mount\n"
	       "       fsname=NAME         source shown in /proc/mounts (default: SOURCE)\n"
	       "       subtype=NAME        type fuse.NAME (default: atomfs; empty: type fuse)\n"
	       "       nocache, writeback, no_passthrough, no_atomic_open, timeout=S,\n"
	       "       negative_timeout=S, threads=N, meta_latency=D, stats=PATH\n"
	       "                           same as the long options\n"
	       "       others (noatime, nosuid, nodev, ...) are passed to the kernel\n"
	       "  --nocache              entry/attr timeouts 0, no writeback, no kept page cache\n"
	       "  --timeout=SECONDS      entry and attribute timeout (default 1)\n"
	       "  --negative-timeout=SECONDS\n"
	       "                         cache the absence of a missing name this long (default 0:\n"
	       "                         a name created in SOURCE directly shows up at once)\n"
	       "  --threads=N            worker threads (default 4)\n"
	       "  --writeback            writeback caching (not with --nocache; disables passthrough)\n"
	       "  --no-passthrough       no kernel read/write passthrough (default: on when root)\n"
	       "  --meta-latency=D       answer every metadata request D (e.g. 100us, 1ms) late,\n"
	       "                         from a timer: the workers serve others meanwhile\n"
	       "  --sync-latency         --meta-latency sleeps on the worker instead\n"
	       "  --no-atomic-open       answer FUSE_OPEN_ATOMIC with ENOSYS\n"
	       "  --stats=PATH           JSON counters, rewritten on SIGUSR1 and at exit\n"
	       "  --fd-cache=N           cached inode fds (default: half the fd limit)\n"
	       "  -h, --help             this text\n"
	       "  -V, --version          version\n";
}

bool parse_duration(const std::string &s, std::chrono::nanoseconds &out)
{
	if (s.empty())
		return false;
	char *end = nullptr;
	errno = 0;
	double v = std::strtod(s.c_str(), &end);
	if (errno || end == s.c_str() || v < 0 || v > 3600e9)
		return false;
	std::string unit(end);
	double ns;
	if (unit == "ns")
		ns = v;
	else if (unit == "us")
		ns = v * 1e3;
	else if (unit == "ms")
		ns = v * 1e6;
	else if (unit == "s")
		ns = v * 1e9;
	else if (unit.empty() && v == 0)
		ns = 0;
	else
		return false;
	if (ns > 3600e9)
		return false;
	out = std::chrono::nanoseconds((long long)ns);
	return true;
}

static bool parse_uint(const std::string &s, unsigned long max, unsigned long &out)
{
	if (s.empty() || s[0] == '-')
		return false;
	char *end = nullptr;
	errno = 0;
	unsigned long v = std::strtoul(s.c_str(), &end, 10);
	if (errno || *end || v > max)
		return false;
	out = v;
	return true;
}

static bool parse_seconds(const std::string &s, double &out)
{
	if (s.empty())
		return false;
	char *end = nullptr;
	errno = 0;
	double v = std::strtod(s.c_str(), &end);
	if (errno || *end || !(v >= 0) || v > 1e9)
		return false;
	out = v;
	return true;
}

// An atomfs option given as "name" or "name=value", from --name[=value] or
// -o name[=value] (underscores and dashes alike). Returns false with error
// set if it is ours but malformed; `handled` says whether it was ours.
static bool apply_own_option(std::string name, const std::string &value, bool has_value,
			     Options &o, bool &handled, std::string &error)
{
	for (auto &c : name)
		if (c == '_')
			c = '-';
	handled = true;
	auto need_value = [&](const char *what) {
		if (!has_value) {
			error = "option " + name + " needs a value (" + what + ")";
			return false;
		}
		return true;
	};
	auto no_value = [&]() {
		if (has_value) {
			error = "option " + name + " takes no value";
			return false;
		}
		return true;
	};
	if (name == "nocache") {
		o.cfg.cache = false;
		return no_value();
	}
	if (name == "writeback") {
		o.cfg.writeback = true;
		return no_value();
	}
	if (name == "no-passthrough") {
		o.cfg.passthrough = false;
		return no_value();
	}
	if (name == "sync-latency") {
		o.cfg.sync_latency = true;
		return no_value();
	}
	if (name == "no-atomic-open") {
		o.cfg.atomic_open = false;
		return no_value();
	}
	// Not in the usage: lets the guest suite check that the kernel ignores
	// FOPEN_FILE_CREATED outside FUSE_OPEN_ATOMIC replies, as a server that
	// shares its create handler with open_atomic may send it there.
	if (name == "test-created-flag") {
		o.cfg.test_created_flag = true;
		return no_value();
	}
	// Also for the guest suite: log ("strict:") a FORGET that drops a node
	// with open files or drops more lookups than counted, and reply to an
	// open_atomic of a name starting with "bad-attr" with a size the kernel
	// refuses after the file was opened (its release-and-forget path).
	if (name == "test-strict-forget") {
		o.cfg.test_strict_forget = true;
		return no_value();
	}
	if (name == "test-bad-attr") {
		o.cfg.test_bad_attr = true;
		return no_value();
	}
	// Entries (LOOKUP, OPEN_ATOMIC) of names starting with "newgen" carry
	// a new generation for the same nodeid each time.
	if (name == "test-new-generation") {
		o.cfg.test_new_generation = true;
		return no_value();
	}
	if (name == "negative-timeout") {
		if (!need_value("seconds"))
			return false;
		if (!parse_seconds(value, o.cfg.negative_timeout)) {
			error = "bad --negative-timeout value '" + value + "' (want seconds, e.g. 1 or 0.5)";
			return false;
		}
		return true;
	}
	if (name == "timeout") {
		if (!need_value("seconds"))
			return false;
		if (!parse_seconds(value, o.cfg.timeout)) {
			error = "bad --timeout value '" + value + "' (want seconds, e.g. 1 or 0.5)";
			return false;
		}
		return true;
	}
	if (name == "threads") {
		unsigned long n;
		if (!need_value("a number"))
			return false;
		if (!parse_uint(value, 1024, n) || n == 0) {
			error = "bad --threads value '" + value + "' (want 1..1024)";
			return false;
		}
		o.session.threads = n;
		return true;
	}
	if (name == "fd-cache") {
		unsigned long n;
		if (!need_value("a number"))
			return false;
		if (!parse_uint(value, 1ul << 30, n) || n == 0) {
			error = "bad --fd-cache value '" + value + "'";
			return false;
		}
		o.cfg.fd_budget = n;
		return true;
	}
	if (name == "meta-latency") {
		if (!need_value("a duration"))
			return false;
		if (!parse_duration(value, o.cfg.meta_latency)) {
			error = "bad --meta-latency value '" + value +
				"' (want a duration like 100us, 1ms, 0)";
			return false;
		}
		return true;
	}
	if (name == "stats") {
		if (!need_value("a path"))
			return false;
		if (value.empty()) {
			error = "--stats needs a path";
			return false;
		}
		o.session.stats_path = value;
		return true;
	}
	handled = false;
	return true;
}

static bool apply_mount_option(const std::string &opt, Options &o, std::string &error)
{
	if (opt.empty())
		return true;
	auto eq = opt.find('=');
	std::string name = opt.substr(0, eq);
	std::string value = eq == std::string::npos ? "" : opt.substr(eq + 1);
	bool has_value = eq != std::string::npos;
	if (name == "allow_other") {
		o.mount.allow_other = true;
	} else if (name == "default_permissions") {
		o.mount.default_permissions = true;
	} else if (name == "ro") {
		o.mount.read_only = true;
		o.cfg.read_only = true;
	} else if (name == "rw") {
		o.mount.read_only = false;
		o.cfg.read_only = false;
	} else if (name == "fsname") {
		if (value.empty() || value.find_first_of(", \t\n") != std::string::npos) {
			error = "bad fsname '" + value + "'";
			return false;
		}
		o.mount.fsname = value;
	} else if (name == "subtype") {
		// An empty subtype= drops it: type "fuse", what xfstests' FSTYP=fuse expects.
		if (value.find_first_of(",. \t\n/") != std::string::npos) {
			error = "bad subtype '" + value + "'";
			return false;
		}
		o.mount.subtype = value;
	} else {
		bool handled;
		if (!apply_own_option(name, value, has_value, o, handled, error))
			return false;
		if (!handled) {
			if (opt.find_first_of(" \t\n") != std::string::npos) {
				error = "bad mount option '" + opt + "'";
				return false;
			}
			o.mount.extra.push_back(opt); // for the kernel
			// and for our own reads: the last of noatime/atime counts
			if (opt == "noatime" || opt == "atime")
				o.cfg.noatime = opt == "noatime";
			else if (opt == "strictatime")
				o.strictatime = true;
		}
	}
	return true;
}

static bool apply_mount_options(const std::string &list, Options &o, std::string &error)
{
	std::size_t start = 0;
	while (start <= list.size()) {
		auto comma = list.find(',', start);
		if (comma == std::string::npos)
			comma = list.size();
		if (!apply_mount_option(list.substr(start, comma - start), o, error))
			return false;
		start = comma + 1;
	}
	return true;
}

bool parse_options(const std::vector<std::string> &args, Options &o, std::string &error)
{
	std::vector<std::string> positional;
	o.mount.subtype = "atomfs";
	o.session.stats_signal = true; // --stats files are rewritten on SIGUSR1
	for (std::size_t i = 0; i < args.size(); i++) {
		const std::string &a = args[i];
		if (a == "-h" || a == "--help") {
			o.help = true;
		} else if (a == "-V" || a == "--version") {
			o.version = true;
		} else if (a == "-f") {
			o.foreground = true;
		} else if (a == "-d" || a == "--debug") {
			o.foreground = true;
			o.session.debug = true;
		} else if (a == "-s") {
			o.session.threads = 1;
		} else if (a == "-o") {
			if (i + 1 >= args.size()) {
				error = "-o needs an argument";
				return false;
			}
			if (!apply_mount_options(args[++i], o, error))
				return false;
		} else if (a.rfind("-o", 0) == 0 && a.size() > 2) {
			if (!apply_mount_options(a.substr(2), o, error))
				return false;
		} else if (a.rfind("--", 0) == 0 && a.size() > 2) {
			auto eq = a.find('=');
			std::string name = a.substr(2, eq == std::string::npos ? eq : eq - 2);
			std::string value = eq == std::string::npos ? "" : a.substr(eq + 1);
			bool handled = false;
			if (name.find('_') != std::string::npos) {
				error = "unknown option '" + a + "' (try --help)";
				return false;
			}
			if (!apply_own_option(name, value, eq != std::string::npos, o, handled,
					      error))
				return false;
			if (!handled) {
				error = "unknown option '" + a + "' (try --help)";
				return false;
			}
		} else if (a.size() > 1 && a[0] == '-') {
			error = "unknown option '" + a + "' (try --help)";
			return false;
		} else {
			positional.push_back(a);
		}
	}
	if (o.help || o.version)
		return true;
	if (positional.size() != 2) {
		error = positional.size() < 2 ? "missing SOURCE or MOUNTPOINT (try --help)"
					       : "too many arguments: '" + positional[2] +
							 "' (try --help)";
		return false;
	}
	if (o.cfg.writeback && !o.cfg.cache) {
		error = "--writeback needs caching; it cannot be used with --nocache";
		return false;
	}
	o.cfg.source = positional[0];
	o.mountpoint = positional[1];
	// As the kernel's mount does: strictatime clears noatime, in any order.
	if (o.strictatime)
		o.cfg.noatime = false;
	// With allow_other the server (root) would otherwise grant every user
	// whatever root may do in the source: let the kernel check the modes.
	if (o.mount.allow_other && !o.mount.default_permissions) {
		o.mount.default_permissions = true;
		o.allow_other_implied_dp = true;
	}
	return true;
}

static bool is_within(const std::string &inner, const std::string &outer)
{
	if (outer == "/")
		return true;
	return inner == outer ||
	       (inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
		inner[outer.size()] == '/');
}

bool check_paths(Options &o, std::string &error)
{
	struct stat st;
	if (::stat(o.cfg.source.c_str(), &st) != 0) {
		error = "source " + o.cfg.source + ": " + std::strerror(errno);
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		error = "source " + o.cfg.source + " is not a directory";
		return false;
	}
	if (::stat(o.mountpoint.c_str(), &st) != 0) {
		if (errno == ENOTCONN)
			error = "mountpoint " + o.mountpoint +
				" is a stale FUSE mount (its server died); run: umount -l " +
				o.mountpoint;
		else
			error = "mountpoint " + o.mountpoint + ": " + std::strerror(errno);
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		error = "mountpoint " + o.mountpoint + " is not a directory";
		return false;
	}
	char src[PATH_MAX], mnt[PATH_MAX];
	if (!::realpath(o.cfg.source.c_str(), src) || !::realpath(o.mountpoint.c_str(), mnt)) {
		error = "cannot resolve " + o.cfg.source + " or " + o.mountpoint + ": " +
			std::strerror(errno);
		return false;
	}
	if (is_within(mnt, src)) {
		error = std::string("mountpoint ") + mnt + " is inside the source " + src +
			" (the mount would contain itself)";
		return false;
	}
	if (is_within(src, mnt)) {
		error = std::string("source ") + src + " is inside the mountpoint " + mnt +
			" (it would be hidden by the mount)";
		return false;
	}
	if (o.mount.fsname.empty())
		o.mount.fsname = src;
	o.cfg.source = src;
	o.mountpoint = mnt;
	o.mount.mountpoint = mnt;
	return true;
}

} // namespace atomfs::fs
