// SPDX-License-Identifier: MIT
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace atomfs::mounttest {

using namespace std::chrono_literals;

const char *atomfs_bin()
{
	const char *env = std::getenv("ATOMFS_BIN");
	return env && *env ? env : ATOMFS_BIN_PATH;
}

bool is_fuse_mounted(const std::string &path)
{
	struct statfs sf;
	return ::statfs(path.c_str(), &sf) == 0 && sf.f_type == 0x65735546;
}

bool as_user()
{
	return ::geteuid() != 0;
}

int unmount(const std::string &mnt, bool lazy)
{
	if (!as_user())
		return ::umount2(mnt.c_str(), lazy ? MNT_DETACH : 0) == 0 ? 0 : errno;
	std::string out;
	if (run({"/usr/bin/fusermount3", lazy ? "-uz" : "-u", mnt}, &out) == 0)
		return 0;
	return out.find("busy") != std::string::npos ? EBUSY : EPERM;
}

std::string make_tempdir(const std::string &tag)
{
	const char *tmp = std::getenv("TMPDIR");
	std::string t = std::string(tmp && *tmp ? tmp : "/tmp") + "/atomfs-" + tag + "-XXXXXX";
	std::vector<char> buf(t.begin(), t.end());
	buf.push_back(0);
	if (!::mkdtemp(buf.data()))
		return {};
	return buf.data();
}

void remove_tree(const std::string &path)
{
	::nftw(
		path.c_str(),
		[](const char *p, const struct stat *, int, struct FTW *) { return ::remove(p); },
		64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

std::string read_file(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

void write_file(const std::string &path, const std::string &data, mode_t mode)
{
	int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
	ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
	ASSERT_EQ(::write(fd, data.data(), data.size()), (ssize_t)data.size());
	ASSERT_EQ(::close(fd), 0);
}

std::vector<std::string> list_dir(const std::string &path)
{
	std::vector<std::string> names;
	DIR *d = ::opendir(path.c_str());
	if (!d)
		return names;
	while (struct dirent *e = ::readdir(d)) {
		if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
			names.push_back(e->d_name);
	}
	::closedir(d);
	std::sort(names.begin(), names.end());
	return names;
}

int wait_child(pid_t pid, int limit_seconds)
{
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(limit_seconds);
	int status = 0;
	for (;;) {
		pid_t r = ::waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (r < 0 || std::chrono::steady_clock::now() > deadline)
			return -1;
		std::this_thread::sleep_for(10ms);
	}
}

bool abort_fuse_mount(const std::string &mnt)
{
	// mountinfo: "id parent major:minor root mountpoint ..."; a FUSE
	// connection is named by its device number (major 0).
	std::istringstream info(read_file("/proc/self/mountinfo"));
	std::string line, dev;
	while (std::getline(info, line)) {
		std::istringstream f(line);
		std::string id, parent, mm, root, point;
		f >> id >> parent >> mm >> root >> point;
		if (point == mnt)
			dev = mm;
	}
	if (dev.empty())
		return false;
	const std::string conns = "/sys/fs/fuse/connections";
	const std::string abort = conns + "/" + dev.substr(dev.find(':') + 1) + "/abort";
	if (::access(abort.c_str(), F_OK) != 0)
		::mount("fusectl", conns.c_str(), "fusectl", 0, nullptr);
	int fd = ::open(abort.c_str(), O_WRONLY);
	if (fd >= 0) {
		(void)!::write(fd, "1", 1);
		::close(fd);
	}
	::umount2(mnt.c_str(), MNT_DETACH);
	return fd >= 0;
}

int run(const std::vector<std::string> &argv, std::string *out)
{
	int pipefd[2];
	if (::pipe(pipefd) != 0)
		return -1;
	pid_t pid = ::fork();
	if (pid == 0) {
		::dup2(pipefd[1], 1);
		::dup2(pipefd[1], 2);
		::close(pipefd[0]);
		::close(pipefd[1]);
		std::vector<char *> a;
		for (auto &s : argv)
			a.push_back(const_cast<char *>(s.c_str()));
		a.push_back(nullptr);
		::execv(a[0], a.data());
		::_exit(127);
	}
	::close(pipefd[1]);
	std::string text;
	char buf[4096];
	ssize_t n;
	while ((n = ::read(pipefd[0], buf, sizeof(buf))) > 0)
		text.append(buf, n);
	::close(pipefd[0]);
	int status = 0;
	::waitpid(pid, &status, 0);
	if (out)
		*out = text;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Server::Server(std::string src, std::string mnt, std::string workdir, Options opts)
    : src_(std::move(src)), mnt_(std::move(mnt)), work_(std::move(workdir)),
      opts_(std::move(opts))
{
	stats_path_ = work_ + "/stats.json";
	log_path_ = work_ + "/atomfs.log";
}

Server::~Server()
{
	if (pid_ > 0) {
		if (is_fuse_mounted(mnt_))
			unmount(mnt_, true);
		::kill(pid_, SIGKILL);
		::waitpid(pid_, nullptr, 0);
	}
}

std::string Server::log() const
{
	return read_file(log_path_);
}

bool Server::start()
{
	std::vector<std::string> argv = {atomfs_bin(), src_, mnt_, "-f", "--stats=" + stats_path_};
	argv.insert(argv.end(), opts_.args.begin(), opts_.args.end());
	pid_ = ::fork();
	if (pid_ == 0) {
		int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (log >= 0) {
			::dup2(log, 1);
			::dup2(log, 2);
		}
		if (opts_.nofile) {
			struct rlimit rl = {opts_.nofile, opts_.nofile};
			::setrlimit(RLIMIT_NOFILE, &rl);
		}
		std::vector<char *> a;
		for (auto &s : argv)
			a.push_back(const_cast<char *>(s.c_str()));
		a.push_back(nullptr);
		::execv(a[0], a.data());
		::_exit(127);
	}
	auto deadline = std::chrono::steady_clock::now() + 10s;
	while (std::chrono::steady_clock::now() < deadline) {
		if (is_fuse_mounted(mnt_))
			return true;
		int status;
		if (::waitpid(pid_, &status, WNOHANG) == pid_) {
			pid_ = -1;
			return false;
		}
		std::this_thread::sleep_for(10ms);
	}
	return false;
}

int Server::stop()
{
	if (pid_ <= 0)
		return -1;
	for (int i = 0; i < 100 && is_fuse_mounted(mnt_); i++) {
		if (unmount(mnt_, false) == 0)
			break;
		std::this_thread::sleep_for(20ms);
	}
	if (is_fuse_mounted(mnt_))
		unmount(mnt_, true);
	int status = 0;
	auto deadline = std::chrono::steady_clock::now() + 10s;
	while (::waitpid(pid_, &status, WNOHANG) == 0) {
		if (std::chrono::steady_clock::now() > deadline) {
			::kill(pid_, SIGKILL);
			::waitpid(pid_, &status, 0);
			pid_ = -1;
			return -1;
		}
		std::this_thread::sleep_for(10ms);
	}
	pid_ = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void Server::kill9()
{
	if (pid_ <= 0)
		return;
	::kill(pid_, SIGKILL);
	::waitpid(pid_, nullptr, 0);
	pid_ = -1;
}

std::string Server::stats()
{
	::unlink(stats_path_.c_str());
	if (pid_ <= 0 || ::kill(pid_, SIGUSR1) != 0)
		return {};
	auto deadline = std::chrono::steady_clock::now() + 5s;
	while (std::chrono::steady_clock::now() < deadline) {
		std::string s = read_file(stats_path_);
		auto last = s.find_last_not_of(" \n\t");
		if (last != std::string::npos && s[last] == '}')
			return s;
		std::this_thread::sleep_for(10ms);
	}
	return {};
}

static std::string squeeze(const std::string &json)
{
	std::string s;
	for (char c : json)
		if (c != ' ' && c != '\n' && c != '\t')
			s += c;
	return s;
}

long Server::requests(const std::string &json, const std::string &opcode)
{
	std::string s = squeeze(json);
	auto r = s.find("\"requests\":{");
	if (r == std::string::npos)
		return -1;
	auto end = s.find('}', r);
	auto k = s.find("\"" + opcode + "\":", r);
	if (k == std::string::npos || k > end)
		return 0;
	return std::strtol(s.c_str() + k + opcode.size() + 3, nullptr, 10);
}

long Server::number(const std::string &json, const std::string &field)
{
	std::string s = squeeze(json);
	auto k = s.find("\"" + field + "\":");
	if (k == std::string::npos)
		return -1;
	return std::strtol(s.c_str() + k + field.size() + 3, nullptr, 10);
}

Server::Options MountTest::server_options()
{
	Server::Options o;
	if (nocache)
		o.args.push_back("--nocache");
	return o;
}

void MountTest::SetUp()
{
	if (::access("/dev/fuse", R_OK | W_OK) != 0)
		GTEST_SKIP() << "no /dev/fuse";
	if (as_user() && ::access("/usr/bin/fusermount3", X_OK) != 0)
		GTEST_SKIP() << "not root and no fusermount3";
	nocache = GetParam();
	base = make_tempdir("mount");
	ASSERT_FALSE(base.empty());
	// Other users (allow_other tests) must be able to reach src and mnt.
	ASSERT_EQ(::chmod(base.c_str(), 0755), 0);
	src = base + "/src";
	mnt = base + "/mnt";
	native = base + "/native";
	ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
	ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
	ASSERT_EQ(::mkdir(native.c_str(), 0755), 0);
	server = std::make_unique<Server>(src, mnt, base, server_options());
	ASSERT_TRUE(server->start()) << "atomfs did not mount: " << server->log();
}

void MountTest::TearDown()
{
	if (server) {
		int rc = server->stop();
		EXPECT_EQ(rc, 0) << "atomfs exit status; log:\n" << server->log();
		server.reset();
	}
	if (!base.empty()) {
		if (is_fuse_mounted(mnt))
			unmount(mnt, true);
		remove_tree(base);
	}
}

std::string mode_name(const ::testing::TestParamInfo<bool> &info)
{
	return info.param ? "nocache" : "cached";
}

} // namespace atomfs::mounttest
