// SPDX-License-Identifier: MIT
//
// The session's life: mount, worker threads, the request path (read ->
// check -> dispatch -> reply), signals, and the end (unmount, DESTROY, the
// last stats).
#include "session/session_impl.h"

#include "transport/dev_fuse.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace atomfs::fuse {
namespace {

// Why run() was woken (bits of SessionImpl::pending_).
constexpr std::uint64_t kWakeExit = 1, kWakeEnded = 2, kWakeStats = 4;

// The session whose run() receives SIGUSR1 (the last one started).
std::atomic<SessionImpl *> g_signal_session{nullptr};

// The worker whose thread is serving a request, if this thread is one.
thread_local Worker *t_serving = nullptr;
// The request whose handler runs on this thread (for defer()).
thread_local Context *t_context = nullptr;

// Sets what this thread serves for one handler call; nests (a handler
// may answer another deferred request).
class Serving {
public:
	Serving(Worker &w, Context &c) : w_(t_serving), c_(t_context)
	{
		t_serving = &w;
		t_context = &c;
	}
	~Serving()
	{
		t_serving = w_;
		t_context = c_;
	}

private:
	Worker *w_;
	Context *c_;
};

void on_stats_signal(int)
{
	int saved = errno;
	if (SessionImpl *s = g_signal_session.load())
		s->request_stats_dump();
	errno = saved;
}

void install_handler(int sig, void (*fn)(int))
{
	struct sigaction sa {};
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; // no SA_RESTART: a blocked read must return EINTR
	::sigaction(sig, &sa, nullptr);
}

std::uint64_t now_ns()
{
	return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
						  std::chrono::steady_clock::now().time_since_epoch())
						  .count());
}

// Request extensions: a chain of fuse_ext_header-framed records. Only the
// supplementary group is used; unknown types are skipped, a broken chain
// makes the request malformed.
bool parse_extensions(const std::byte *p, std::size_t len, Caller &caller)
{
	while (len) {
		abi::fuse_ext_header eh;
		if (len < sizeof(eh))
			return false;
		std::memcpy(&eh, p, sizeof(eh));
		if (eh.size < sizeof(eh) || eh.size % 8 || eh.size > len)
			return false;
		if (eh.type == abi::FUSE_EXT_GROUPS) {
			abi::fuse_supp_groups g;
			if (eh.size < sizeof(eh) + sizeof(g) + 4)
				return false;
			std::memcpy(&g, p + sizeof(eh), sizeof(g));
			if (g.nr_groups >= 1) {
				std::uint32_t gid;
				std::memcpy(&gid, p + sizeof(eh) + sizeof(g), sizeof(gid));
				caller.supp_gid = gid;
			}
		}
		p += eh.size;
		len -= eh.size;
	}
	return true;
}

bool opcode_has_no_reply(std::uint32_t op)
{
	const OpcodeInfo *e = opcode_info(op);
	return e && e->no_reply;
}

} // namespace

int wake_signal() { return SIGRTMIN + 4; }

Context *serving_context() { return t_context; }

std::unique_ptr<Session> Session::mount(Filesystem &fs, const MountOptions &mount,
					const SessionOptions &opts, std::string &error)
{
	MountHandle m;
	if (!mount_fuse(mount, m, error))
		return nullptr;
	auto s = std::make_unique<SessionImpl>(fs, make_dev_fuse_transport(m.fd), opts);
	s->set_mount(m);
	return s;
}

std::unique_ptr<Session> Session::attach(Filesystem &fs, std::unique_ptr<Transport> t,
					 const SessionOptions &opts)
{
	return std::make_unique<SessionImpl>(fs, std::move(t), opts);
}

SessionImpl::SessionImpl(Filesystem &fs, std::unique_ptr<Transport> t, const SessionOptions &opts)
	: fs_(fs), transport_(std::move(t)), opts_(opts)
{
	if (opts_.threads == 0)
		opts_.threads = 1;
	opts_.max_pages = std::clamp(opts_.max_pages, 1u, 1024u);
	opts_.max_write = std::clamp<std::uint32_t>(opts_.max_write, 4096, opts_.max_pages * 4096u);
	// Requests: a WRITE of max_write, or a SETXATTR of the largest value
	// (64 KiB), plus headers and a name. Reply bodies (the header has an
	// iovec of its own): a READ or READDIR of max_pages pages, or the
	// largest xattr value or list (64 KiB).
	in_size_ = std::max<std::size_t>(abi::kMinReadBuffer,
					 std::max<std::size_t>(opts_.max_write, 65536) + 8192);
	out_size_ = std::max<std::size_t>(opts_.max_pages * 4096u, 65536);
	event_fd_ = ::eventfd(0, EFD_CLOEXEC);
}

SessionImpl::~SessionImpl()
{
	SessionImpl *self = this;
	g_signal_session.compare_exchange_strong(self, nullptr);
	end_deferrals();
	if (!workers_.empty())
		stop_workers();
	if (event_fd_ >= 0)
		::close(event_fd_);
}

void SessionImpl::wake_main(std::uint64_t why)
{
	pending_.fetch_or(why);
	std::uint64_t one = 1;
	(void)!::write(event_fd_, &one, sizeof(one));
}

void SessionImpl::exit() { wake_main(kWakeExit); }

void SessionImpl::log(LogLevel level, const char *fmt, ...) const
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	std::vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (opts_.log)
		opts_.log(level, buf);
	else
		std::fprintf(stderr, "atomfs::fuse: %s\n", buf);
}

void SessionImpl::request_stats_dump() { wake_main(kWakeStats); }

int SessionImpl::run()
{
	// Workers must not take the process's signals (SIGINT, SIGUSR1, ...):
	// a handler would interrupt their system calls. They inherit this mask.
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, wake_signal());
	for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP})
		sigdelset(&all, s);
	// No handler for the wake-up signal yet: stop_workers() and the waits
	// install one (arm_interrupt_signal) only when they must interrupt.
	if (opts_.stats_signal) {
		install_handler(SIGUSR1, on_stats_signal);
		g_signal_session.store(this);
	}

	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = 0;
	for (unsigned i = 0; i < opts_.threads; i++) {
		std::string error;
		auto w = std::make_unique<Worker>();
		w->session = this;
		w->channel = transport_->open_channel(error);
		if (!w->channel) {
			log(LogLevel::error, "worker %u: %s", i, error.c_str());
			if (i == 0)
				rc = 1;
			break;
		}
		w->stats = &stats_.new_shard();
		w->in.resize(in_size_);
		w->out.resize(out_size_);
		w->counted.reserve(out_size_ / abi::direntplus_size(1));
		Worker *wp = w.get();
		w->thread = std::thread([this, wp] { worker_loop(*wp); });
		workers_.push_back(std::move(w));
	}
	pthread_sigmask(SIG_SETMASK, &old, nullptr);

	bool exit_requested = false;
	while (rc == 0) {
		std::uint64_t v;
		ssize_t n = ::read(event_fd_, &v, sizeof(v));
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			break;
		std::uint64_t why = pending_.exchange(0);
		if (why & kWakeStats)
			write_stats(false);
		if (why & kWakeExit) {
			exit_requested = true;
			break;
		}
		if (why & kWakeEnded)
			break;
	}
	// Asked to stop (SIGINT, SIGTERM, exit()): detach the mount first, so
	// nothing new reaches a server that is going away. Unmounted from
	// outside: the kernel already ended the connection.
	if (exit_requested && mounted_) {
		unmount_fuse(mount_);
		mounted_ = false;
	}
	// While the workers still serve: a queued notification may wait for
	// a request in flight to be answered, also a deferred one.
	end_deferrals();
	notifier_.stop();
	waits_.stop();
	stop_workers();
	if (initialized() && !destroyed_.exchange(true))
		fs_.destroy();
	write_stats(true);
	SessionImpl *self = this;
	g_signal_session.compare_exchange_strong(self, nullptr);
	return rc;
}

void SessionImpl::stop_workers()
{
	stopping_.store(true);
	// A worker blocked in read(2) only returns when the connection ends or
	// a signal interrupts it; signal until each has seen stopping_.
	for (;;) {
		bool all_done = true;
		for (auto &w : workers_) {
			if (!w->done.load()) {
				all_done = false;
				arm_interrupt_signal(wake_signal());
				pthread_kill(w->thread.native_handle(), wake_signal());
			}
		}
		if (all_done)
			break;
		::usleep(2000);
	}
	for (auto &w : workers_)
		if (w->thread.joinable())
			w->thread.join();
	workers_.clear();
}

void SessionImpl::worker_loop(Worker &w)
{
	t_serving = &w;
	while (!stopping_.load(std::memory_order_relaxed)) {
		ssize_t n = w.channel->receive(w.in);
		if (n > 0) {
			process(w, static_cast<std::size_t>(n));
			continue;
		}
		if (n == -EMSGSIZE) { // larger than any request we accept
			process(w, w.in.size() + 1);
			continue;
		}
		if (n == -EINTR || n == -EAGAIN || n == -ENOENT)
			continue;
		if (n < 0 && !stopping_.load())
			log(LogLevel::error, "reading requests: %s",
			    std::strerror(static_cast<int>(-n)));
		wake_main(kWakeEnded); // unmounted, aborted, or the fake kernel hung up
		break;
	}
	w.done.store(true);
}

// One request: check its framing, count it, dispatch it, make sure it is
// answered exactly once (or never, for the opcodes without replies).
void SessionImpl::process(Worker &w, std::size_t n)
{
	const std::uint64_t t0 = now_ns();
	abi::fuse_in_header h{};
	const bool oversized = n > w.in.size();
	const std::size_t have = oversized ? std::min(w.in.size(), sizeof(h)) : n;
	std::memcpy(&h, w.in.data(), std::min(have, sizeof(h)));

	Context c{*this, w, fs_, h, {}, {}, false, 0, t0};
	c.req.opcode = h.opcode;
	c.req.unique = h.unique;
	c.req.nodeid = h.nodeid;
	c.req.caller = Caller{h.uid, h.gid, static_cast<pid_t>(h.pid), static_cast<gid_t>(-1)};
	c.req.session = this;

	if (have < sizeof(h)) {
		// Too short to be a request: answer only if its unique is there.
		w.stats->malformed();
		if (have >= 16 && h.unique && !opcode_has_no_reply(h.opcode)) {
			c.reply_error(EIO);
		}
		return;
	}
	w.stats->dispatched(h.opcode);
	const OpcodeInfo *op = opcode_info(h.opcode);
	const bool no_reply = op && op->no_reply;
	const std::size_t ext = static_cast<std::size_t>(h.total_extlen) * 8;
	if (debug())
		std::fprintf(stderr, "fuse: <- %llu %s (%u) node %llu len %u\n",
			     (unsigned long long)h.unique,
			     opcode_name(h.opcode).empty()
				     ? "?"
				     : opcode_name(h.opcode).data(),
			     h.opcode, (unsigned long long)h.nodeid, h.len);

	if (h.unique == 0) {
		// A reply with unique 0 would read as a notification: the kernel
		// never sends such a request, so it cannot be answered at all.
		w.stats->malformed();
	} else if (oversized || h.len != n || ext > n - sizeof(h)) {
		w.stats->malformed();
		if (!no_reply)
			c.reply_error(EIO);
	} else if (!initialized() && h.opcode != abi::FUSE_INIT) {
		if (!no_reply)
			c.reply_error(EIO);
	} else if (!op || !op->handler) {
		if (!no_reply)
			c.reply_error(ENOSYS);
	} else if (ext && !parse_extensions(w.in.data() + n - ext, ext, c.req.caller)) {
		w.stats->malformed();
		if (!no_reply)
			c.reply_error(EIO);
	} else {
		// Extensions (security context, supplementary groups) sit after
		// the arguments; handlers see only the arguments.
		c.args = protocol::ArgReader(std::span<const std::byte>(
			w.in.data() + sizeof(h), n - sizeof(h) - ext));
		Serving serving(w, c);
		op->handler(c);
		if (!c.replied && !no_reply)
			c.reply_error(EIO); // a handler bug must not hang the caller
	}
	if (!c.handed_off)
		w.stats->finished(h.opcode, now_ns() - t0);
	if (!w.notes.empty())
		notifier_.queue(w.notes); // after the reply: see notifier.h
}

bool SessionImpl::wait_elsewhere(Context &c, std::function<Errno(const Request &)> call)
{
	auto serve = [this, channel = c.worker.channel, h = c.in, req = c.req, t0 = c.t0,
		      call = std::move(call)](bool interrupted) {
		Worker w;
		w.session = this;
		w.channel = channel;
		{
			std::lock_guard<std::mutex> lock(wait_shards_mu_);
			if (wait_shards_.empty()) {
				w.stats = &stats_.new_shard();
			} else {
				w.stats = wait_shards_.back();
				wait_shards_.pop_back();
			}
		}
		Context wc{*this, w, fs_, h, {}, req, false, 0, t0};
		wc.can_defer = false; // the request's bytes stayed with the worker
		{
			Serving serving(w, wc);
			wc.reply_error_or_ok(interrupted ? EINTR : call(wc.req));
		}
		w.stats->finished(h.opcode, now_ns() - t0);
		if (!w.notes.empty())
			notifier_.queue(w.notes);
		std::lock_guard<std::mutex> lock(wait_shards_mu_);
		wait_shards_.push_back(w.stats);
	};
	{
		// Under the registry's lock: an INTERRUPT read meanwhile by
		// another worker finds either the wait or its early entry.
		std::lock_guard<std::mutex> l(deferrals_->mu);
		const bool interrupted = deferrals_->early.take(c.in.unique);
		if (!waits_.start(c.in.unique, c.in.uid, interrupted, std::move(serve)))
			return false;
	}
	c.replied = true;
	c.handed_off = true;
	return true;
}

bool Context::reply(std::span<const std::byte> a, std::span<const std::byte> b,
		    std::span<const std::byte> c)
{
	if (deferred) // the handler deferred the request: the answer comes later
		return true;
	abi::fuse_out_header oh{};
	oh.len = static_cast<std::uint32_t>(sizeof(oh) + a.size() + b.size() + c.size());
	oh.error = error;
	oh.unique = in.unique;
	struct iovec iov[4] = {
		{&oh, sizeof(oh)},
		{const_cast<std::byte *>(a.data()), a.size()},
		{const_cast<std::byte *>(b.data()), b.size()},
		{const_cast<std::byte *>(c.data()), c.size()},
	};
	int count = 1;
	for (int i = 1; i < 4; i++)
		if (iov[i].iov_len)
			iov[count++] = iov[i];
	replied = true;
	if (error)
		worker.stats->errored(in.opcode); // before the caller can see the reply
	int rc = worker.channel->send(iov, count);
	if (session.debug())
		std::fprintf(stderr, "fuse: -> %llu error %d len %u%s\n",
			     (unsigned long long)in.unique, error, oh.len, rc ? " (lost)" : "");
	return rc == 0;
}

// --- asynchronous replies (deferred.h) ------------------------------------

PendingReply SessionImpl::defer(Context &c)
{
	if (c.deferred || c.resumed || !c.can_defer || c.replied)
		return {};
	DeferralCore &core = *deferrals_;
	std::lock_guard<std::mutex> l(core.mu);
	if (core.ending)
		return {};
	Deferred *d;
	if (core.free.empty()) {
		core.all.push_back(std::make_unique<Deferred>());
		d = core.all.back().get();
	} else {
		d = core.free.back();
		core.free.pop_back();
	}
	d->in.assign(c.worker.in.data(), c.worker.in.data() + c.in.len);
	d->channel = c.worker.channel;
	d->req = c.req;
	d->t0 = c.t0;
	d->interrupted.store(core.early.take(c.in.unique));
	d->core = deferrals_;
	d->live_index = core.live.size();
	core.live.push_back(d);
	core.deferred_total++;
	core.max_in_flight = std::max(core.max_in_flight, core.live.size());
	c.deferred = d;
	c.replied = true;
	c.handed_off = true;
	return Deferred::handle(d);
}

std::unique_ptr<Worker> SessionImpl::new_answering_worker()
{
	auto w = std::make_unique<Worker>();
	w->session = this;
	{
		std::lock_guard<std::mutex> lock(wait_shards_mu_);
		w->stats = &stats_.new_shard();
	}
	w->out.resize(out_size_);
	w->counted.reserve(out_size_ / abi::direntplus_size(1));
	return w;
}

void SessionImpl::answer_deferred(Deferred &d, Worker &w, std::shared_ptr<void> state, int error)
{
	abi::fuse_in_header h;
	std::memcpy(&h, d.in.data(), sizeof(h));
	w.channel = d.channel;
	Context c{*this, w, fs_, h, {}, d.req, false, 0, d.t0};
	c.resumed = true;
	c.req.resumed = true;
	c.req.resume_state = std::move(state);
	{
		Serving serving(w, c);
		if (error) {
			c.reply_error(error);
		} else {
			const std::size_t ext = static_cast<std::size_t>(h.total_extlen) * 8;
			c.args = protocol::ArgReader(std::span<const std::byte>(
				d.in.data() + sizeof(h), h.len - sizeof(h) - ext));
			opcode_info(h.opcode)->handler(c);
			if (!c.replied)
				c.reply_error(EIO);
		}
	}
	w.stats->finished(h.opcode, now_ns() - d.t0);
	if (!w.notes.empty())
		notifier_.queue(w.notes);
	w.channel.reset();
}

void SessionImpl::interrupt(std::uint64_t unique)
{
	std::function<void()> fn;
	{
		std::lock_guard<std::mutex> l(deferrals_->mu);
		auto &live = deferrals_->live;
		auto it = std::find_if(live.begin(), live.end(),
				       [&](Deferred *d) { return d->req.unique == unique; });
		if (it != live.end()) {
			(*it)->interrupted.store(true);
			fn = std::move((*it)->on_interrupt);
			(*it)->on_interrupt = nullptr;
		} else if (!waits_.interrupt(unique)) {
			deferrals_->early.add(unique, now_ns());
		}
	}
	if (fn)
		fn(); // outside the lock: it may answer the request at once
}

void SessionImpl::end_deferrals()
{
	DeferralCore &core = *deferrals_;
	std::unique_lock<std::mutex> l(core.mu);
	if (!core.session)
		return;
	core.ending = true;
	core.idle.wait(l, [&] { return core.running == 0; });
	if (!core.live.empty()) {
		std::unique_ptr<Worker> w = new_answering_worker();
		for (Deferred *d : core.live) {
			abi::fuse_in_header h;
			std::memcpy(&h, d->in.data(), sizeof(h));
			w->channel = d->channel;
			Context c{*this, *w, fs_, h, {}, d->req, false, 0, d->t0};
			c.reply_error(EIO); // lost, most likely: the connection is ending
			w->stats->finished(h.opcode, now_ns() - d->t0);
			d->answered = true;
		}
		core.live.clear();
	}
	core.session = nullptr;
}

bool Context::reply_error(Errno e)
{
	if (e <= 0 || e > 4095)
		e = EIO; // never a success or an out-of-range errno by mistake
	error = -e;
	return reply({});
}

bool Context::bad_request()
{
	worker.stats->malformed();
	return reply_error(EINVAL);
}

Errno SessionImpl::notify_inval_entry(NodeId parent, std::string_view name)
{
	abi::fuse_out_header oh{};
	abi::fuse_notify_inval_entry_out arg{};
	arg.parent = parent;
	arg.namelen = static_cast<std::uint32_t>(name.size());
	oh.len = static_cast<std::uint32_t>(sizeof(oh) + sizeof(arg) + name.size() + 1);
	oh.error = abi::FUSE_NOTIFY_INVAL_ENTRY;
	char nul = 0;
	struct iovec iov[4] = {{&oh, sizeof(oh)},
			       {&arg, sizeof(arg)},
			       {const_cast<char *>(name.data()), name.size()},
			       {&nul, 1}};
	return notify(iov, 4);
}

Errno SessionImpl::notify_inval_inode(NodeId node, std::int64_t off, std::int64_t len)
{
	abi::fuse_out_header oh{};
	abi::fuse_notify_inval_inode_out arg{};
	arg.ino = node;
	arg.off = off;
	arg.len = len;
	oh.len = sizeof(oh) + sizeof(arg);
	oh.error = abi::FUSE_NOTIFY_INVAL_INODE;
	struct iovec iov[2] = {{&oh, sizeof(oh)}, {&arg, sizeof(arg)}};
	return notify(iov, 2);
}

// From a thread serving a request the notification waits for the reply
// and the notifier thread (notifier.h); from any other thread it is written
// now and the kernel's answer returned.
Errno SessionImpl::notify(const struct iovec *iov, int count)
{
	if (t_serving && t_serving->session == this) {
		t_serving->notes.push_back(flatten(iov, count));
		return 0;
	}
	if (t_serving) { // a handler of another session: never block it
		std::vector<Message> one{flatten(iov, count)};
		notifier_.queue(one);
		return 0;
	}
	return -transport_->notify(iov, count);
}

int SessionImpl::open_backing(int fd) { return transport_->backing_open(fd); }

void SessionImpl::close_backing(int backing_id) { transport_->backing_close(backing_id); }

SessionStats SessionImpl::stats() const
{
	SessionStats s = stats_.snapshot();
	std::lock_guard<std::mutex> l(deferrals_->mu);
	s.deferred = deferrals_->deferred_total;
	s.deferred_max_in_flight = deferrals_->max_in_flight;
	return s;
}

std::string SessionImpl::stats_json() const { return stats().json(fs_.stats_json_fields()); }

// The stats file is replaced atomically (write + rename), so a reader never
// sees half of it. Without a path, SIGUSR1 prints the JSON to stderr (and
// so does the end of a --debug session).
void SessionImpl::write_stats(bool at_exit)
{
	std::string json = stats_json();
	if (opts_.stats_path.empty()) {
		if (!at_exit || opts_.debug)
			std::fputs(json.c_str(), stderr);
		return;
	}
	std::string tmp = opts_.stats_path + ".tmp";
	int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		log(LogLevel::warning, "stats file %s: %s", tmp.c_str(), std::strerror(errno));
		return;
	}
	bool ok = ::write(fd, json.data(), json.size()) == static_cast<ssize_t>(json.size());
	::close(fd);
	if (!ok || ::rename(tmp.c_str(), opts_.stats_path.c_str()) != 0)
		log(LogLevel::warning, "stats file %s: %s", opts_.stats_path.c_str(),
		    std::strerror(errno));
}

} // namespace atomfs::fuse
