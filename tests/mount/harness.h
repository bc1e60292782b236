// SPDX-License-Identifier: MIT
//
// Mounted tests: start the real atomfs binary (-f, in the background) on a
// temporary source and mountpoint on the host kernel, and compare what the
// mount does with what the same operation does on a native scratch directory.
#pragma once

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace atomfs::mounttest {

// A running atomfs server.
class Server {
public:
	struct Options {
		std::vector<std::string> args; // besides SOURCE MOUNTPOINT -f --stats
		rlim_t nofile = 0;             // RLIMIT_NOFILE for the server, 0 = inherit
	};
	Server(std::string src, std::string mnt, std::string workdir, Options opts);
	~Server();

	// Forks and execs atomfs; returns once the mount is up (or false).
	bool start();
	// Unmounts and waits; returns the server's exit status (or -1).
	int stop();
	void kill9();
	pid_t pid() const { return pid_; }
	std::string log() const;

	// The stats file after SIGUSR1 (empty string on timeout).
	std::string stats();
	// Counter of one opcode in a stats JSON ("requests":{"LOOKUP":n}).
	static long requests(const std::string &json, const std::string &opcode);
	// A top-level number field ("inodes": n), -1 if absent.
	static long number(const std::string &json, const std::string &field);

	const std::string &mnt() const { return mnt_; }

private:
	std::string src_, mnt_, work_, stats_path_, log_path_;
	Options opts_;
	pid_t pid_ = -1;
};

bool is_fuse_mounted(const std::string &path);
// True when the tests run as an ordinary user (the mount.user.* variant,
// see main.cc): mounts go through fusermount3 and the server has no file
// handles (no CAP_DAC_READ_SEARCH).
bool as_user();
// umount(2) as root, fusermount3 -u [-z] as a user: 0, or the errno
// (EBUSY when the mount is in use).
int unmount(const std::string &mnt, bool lazy);
std::string make_tempdir(const std::string &tag);
void remove_tree(const std::string &path);
std::string read_file(const std::string &path);
void write_file(const std::string &path, const std::string &data, mode_t mode = 0644);
std::vector<std::string> list_dir(const std::string &path); // sorted, without . and ..
// Runs argv, returns exit status; stdout+stderr into *out when given.
int run(const std::vector<std::string> &argv, std::string *out = nullptr);
const char *atomfs_bin();

// Waits up to `limit` for a child; its exit status (128 + signal when
// killed), or -1 when it is still running then (it is left running).
int wait_child(pid_t pid, int limit_seconds);
// Ends a FUSE connection from outside (/sys/fs/fuse/connections/N/abort,
// mounting fusectl when needed), then detaches the mount: what frees
// processes stuck on a hung server. false when the mount was not found.
bool abort_fuse_mount(const std::string &mnt);

// A source, a mountpoint served by atomfs, and a native scratch directory.
// Parameter: true = --nocache.
class MountTest : public ::testing::TestWithParam<bool> {
protected:
	void SetUp() override;
	void TearDown() override;
	virtual Server::Options server_options();

	std::string base, src, mnt, native;
	std::unique_ptr<Server> server;
	bool nocache = false;
};

std::string mode_name(const ::testing::TestParamInfo<bool> &info);

} // namespace atomfs::mounttest
