// SPDX-License-Identifier: MIT
//
// Requests that may wait without bound (SETLKW: a lock held by someone else,
// through the mount or directly on the backing files), each served on a
// thread of its own. Served by a worker, a wait would take the worker for as
// long as the lock is held: a few of them and no worker is left to serve the
// unlock itself, and the kernel keeps the waiting caller in D state (a request
// the server has read is waited for even after SIGKILL) until the reply.
//
// FUSE_INTERRUPT for such a request (the caller got a signal) signals its
// thread until the filesystem's call returns (EINTR from the blocking system
// call), and that is replied: the kernel restarts the system call or lets the
// caller die. The repeated signals come from a thread of the Waits, so the
// worker that read the INTERRUPT goes back to serving at once.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace atomfs::fuse {

// Makes `sig` interrupt a blocking system call of the thread it is sent to
// (pthread_kill) instead of ending the process: installs a no-op handler,
// without SA_RESTART, unless it is installed already. Called just before
// the session first has to interrupt one of its own threads, so a session
// that never must leaves the process's signal handlers as they were.
void arm_interrupt_signal(int sig);

class Waits {
public:
	explicit Waits(int signal) : signal_(signal) {}
	~Waits() { stop(); }
	Waits(const Waits &) = delete;
	Waits &operator=(const Waits &) = delete;

	// Runs serve(interrupted) on a new thread for the request `unique` of
	// caller `uid` (interrupted: its INTERRUPT came first, the caller knows
	// it). false when the session is ending, when the caller already has
	// kMaxWaitsPerUid waits (one user's waits must not use up the others'
	// share), or when kMaxWaits are running in all.
	bool start(std::uint64_t unique, std::uint32_t uid, bool interrupted,
		   std::function<void(bool interrupted)> serve);
	// The kernel's FUSE_INTERRUPT for `unique`: false when no such wait
	// was started.
	bool interrupt(std::uint64_t unique);
	// Interrupts every wait and joins the threads.
	void stop();

	static constexpr std::size_t kMaxWaits = 1024;
	static constexpr std::size_t kMaxWaitsPerUid = 64;

private:
	struct Wait {
		std::uint64_t unique = 0;
		std::uint32_t uid = 0;
		std::thread thread;
		bool interrupted = false;
		int signals = 0; // sent since the INTERRUPT
		bool finished = false;
	};
	void reap_locked();
	void resignal_loop();

	const int signal_;
	std::mutex mu_;
	std::condition_variable wake_; // an interrupted wait to signal, or stop
	std::list<std::unique_ptr<Wait>> waits_;
	std::thread resignal_; // started at the first INTERRUPT
	bool stopping_ = false;
};

} // namespace atomfs::fuse
