// SPDX-License-Identifier: MIT
/// @file
/// A FUSE session: one mount, its INIT negotiation, the worker threads that
/// read requests from a transport and dispatch them to a Filesystem, and the
/// counters that say exactly which requests the kernel sent.
#pragma once

#include <atomfs/fuse/filesystem.h>
#include <atomfs/fuse/stats.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace atomfs::fuse {

class Transport;
class Stats;

/// Where and how Session::mount() mounts.
struct MountOptions {
	std::string mountpoint; ///< an existing directory
	std::string fsname;  ///< shown in /proc/mounts as the source
	std::string subtype; ///< "atomfs" -> type fuse.atomfs; empty: type fuse
	bool allow_other = false;         ///< other users may use the mount
	bool default_permissions = false; ///< the kernel checks permissions from the attributes
	bool read_only = false;           ///< mounted read-only
	/// Further comma-separated options passed to the kernel / fusermount3
	/// unchanged (e.g. "noatime", "nosuid").
	std::vector<std::string> extra;
};

/// Severity of a message given to SessionOptions::log.
enum class LogLevel {
	error,   ///< the session cannot do what was asked (a worker could not start, ...)
	warning, ///< it goes on without something (a stats file it could not write, ...)
	info     ///< for the record
};

/// How a session negotiates INIT and serves requests.
struct SessionOptions {
	unsigned threads = 4;                ///< worker threads, each with a cloned /dev/fuse fd
	std::uint32_t max_write = 1u << 20;  ///< bytes; bounded by max_pages
	std::uint32_t max_readahead = 1u << 20; ///< bytes; the kernel may offer less
	std::uint32_t max_pages = 256;          ///< pages per request (1..1024)
	bool writeback_cache = false;        ///< ask for FUSE_WRITEBACK_CACHE
	bool passthrough = false;            ///< ask for FUSE_PASSTHROUGH (backing fds)
	bool posix_acl = false;              ///< ask for FUSE_POSIX_ACL
	/// Ask for FUSE_HANDLE_KILLPRIV_V2: the filesystem then clears set-user-ID
	/// and set-group-ID bits itself (write_flags / FATTR_KILL_SUIDGID); off,
	/// the kernel clears them with a SETATTR as on any local filesystem.
	bool handle_killpriv_v2 = false;
	/// Ask for FUSE_EXPORT_SUPPORT (NFS export, open_by_handle_at through the
	/// mount): the filesystem must then answer LOOKUP of "." and ".." and
	/// resolve, with LOOKUP(nodeid, "."), any nodeid it ever gave, also one
	/// the kernel has forgotten. Off: FUSE_NO_EXPORT_SUPPORT, and
	/// name_to_handle_at through the mount fails with EOPNOTSUPP.
	bool export_support = false;
	/// Ask for FUSE_FLOCK_LOCKS: flock(2) on the mount becomes SETLK/SETLKW
	/// with FUSE_LK_FLOCK, served by Filesystem::flock(); off, the kernel
	/// keeps flock locks to itself (never seen by users of the backing
	/// files). A blocking one waits on a thread of its own, never a worker,
	/// and ends with EINTR when the caller is interrupted.
	bool flock_locks = false;
	bool debug = false;                  ///< decoded request/reply log on stderr
	std::string stats_path;              ///< if set: JSON counters rewritten at exit (and on SIGUSR1)
	/// Take SIGUSR1 for the whole process while run() runs: rewrite
	/// stats_path on it (stderr without a path). Off, a session installs
	/// no signal handler while it serves; its only one is a no-op handler
	/// for SIGRTMIN+4, installed when it first has to interrupt one of its
	/// own threads (workers blocked in read(2) at the end of a session
	/// whose mount is still in use, an interrupted blocking lock), and
	/// that signal is only ever sent to the session's own threads.
	bool stats_signal = false;
	/// Where the session's messages go (a kernel protocol it cannot speak,
	/// a worker that could not start, a stats file it could not write), one
	/// message per call without a newline; called from the session's
	/// threads, possibly at once. Empty: "atomfs::fuse: MESSAGE" on stderr.
	/// (The debug trace and a stats dump without stats_path stay on stderr.)
	std::function<void(LogLevel, std::string_view)> log;
};

/// One mount being served: create it with mount() (or attach() in tests),
/// call run(), stop it with exit() or an unmount.
class Session {
public:
	/// Mounts (mount(2) as root, fusermount3 otherwise) and returns a session
	/// ready to run(), or nullptr with a one-line reason in `error` (for
	/// example a stale mount left by a killed server on the mountpoint).
	static std::unique_ptr<Session> mount(Filesystem &fs, const MountOptions &mount,
					      const SessionOptions &opts, std::string &error);
	/// Serves an already open transport (the fake kernel in unit tests).
	static std::unique_ptr<Session> attach(Filesystem &fs, std::unique_ptr<Transport> t,
					       const SessionOptions &opts);

	virtual ~Session() = default;

	/// Serves requests until the filesystem is unmounted (umount, fusermount3
	/// -u, DESTROY) or exit() is called (SIGINT/SIGTERM handlers call it);
	/// then unmounts if still mounted. Returns 0 on a clean end.
	virtual int run() = 0;
	/// Stops the session: run() detaches the mount (lazily: open files stay
	/// usable until closed, new opens see the directory under it), lets the
	/// requests in flight be answered, calls Filesystem::destroy() and
	/// returns 0. Returns at once; safe from any thread, also while run()
	/// serves, and from a signal handler (async-signal-safe). Called before
	/// run(), run() returns as soon as it starts.
	virtual void exit() = 0;

	/// Notifications to the kernel; safe from any thread.
	///
	/// From a handler (any thread serving a request of this or another
	/// session) the notification is queued and 0 returned at once: it is
	/// written after that request's reply, by a thread of the session that
	/// serves no request. Written from the handler itself it would never
	/// return: the kernel holds locks of the request being served (the
	/// parent directory's inode lock during LOOKUP, CREATE, UNLINK, ...;
	/// the page-cache folios during READ) and the notification waits for
	/// them. The kernel's answer to a queued notification is dropped.
	///
	/// From any other thread it is written at once and the kernel's answer
	/// returned: 0 or a positive errno (ENOENT when the kernel no longer
	/// knows the node or name is normal). The call may wait until requests
	/// in flight are answered, so a handler must not wait for such a thread.
	virtual Errno notify_inval_entry(NodeId parent, std::string_view name) = 0;
	/// Drop the kernel's cached attributes of `node` and its page cache
	/// from `off` for `len` bytes (len <= 0: to the end; off < 0: the
	/// attributes only).
	virtual Errno notify_inval_inode(NodeId node, std::int64_t off, std::int64_t len) = 0;

	/// Kernel FUSE passthrough: register an open backing fd, get an id for
	/// OpenFile::backing_id (>0), or a negative errno when unsupported.
	virtual int open_backing(int fd) = 0;
	/// Unregister a backing id from open_backing() once no open uses it.
	virtual void close_backing(int backing_id) = 0;

	/// What INIT settled (valid once the first request other than INIT runs).
	virtual const ConnectionInfo &connection() const = 0;

	/// Per-opcode counters and latency histograms, exact (stats.h); safe
	/// from any thread at any time.
	virtual SessionStats stats() const = 0;
	/// The same as JSON (SessionStats::json() with the filesystem's
	/// Filesystem::stats_json_fields()): what --stats files hold.
	virtual std::string stats_json() const = 0;
};

} // namespace atomfs::fuse
