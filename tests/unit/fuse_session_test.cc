// SPDX-License-Identifier: MIT
//
// The session around the handlers: exact stats, notifications, the end of
// a session (hang-up, DESTROY), and request extensions (supplementary group).
#include "fuse_test_fs.h"
#include "session/waits.h"

#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

namespace atomfs::fuse::test
{
namespace
{

using namespace abi;
using Counts = std::map<std::string, std::uint64_t>;

FakeKernel::Reply lookup(FakeKernel &k, NodeId parent, std::string_view name)
{
	auto n = FakeKernel::name(name);
	return k.call(FUSE_LOOKUP, parent, {FakeKernel::arg(n)});
}

FakeKernel::Reply open_atomic(FakeKernel &k, NodeId parent, std::string_view name,
			      std::uint32_t flags)
{
	fuse_create_in in{flags, S_IFREG | 0644, 022, 0};
	auto n = FakeKernel::name(name);
	return k.call(FUSE_OPEN_ATOMIC, parent, {FakeKernel::arg(in), FakeKernel::arg(n)});
}

// --- stats -----------------------------------------------------------------

TEST(FuseStats, ExactRequestAndErrorCounts)
{
	TestFs fs;
	fs.set_stats_fields("\"inodes\":8,\"name\":\"test\"");
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	const int n_lookups = 7, n_missing = 3, n_atomic = 5, n_atomic_missing = 2;
	for (int i = 0; i < n_lookups; i++)
		ASSERT_EQ(lookup(k, 1, "file").error, 0);
	for (int i = 0; i < n_missing; i++)
		ASSERT_EQ(lookup(k, 1, "nope").error, -ENOENT);
	for (int i = 0; i < n_atomic; i++)
		ASSERT_EQ(open_atomic(k, 1, "file", O_RDONLY).error, 0);
	for (int i = 0; i < n_atomic_missing; i++)
		ASSERT_EQ(open_atomic(k, 1, "nope", O_RDONLY).error, -ENOENT);
	ASSERT_EQ(k.call(200, 1).error, -ENOSYS);
	ASSERT_EQ(k.call(FUSE_LOOKUP, 1, {FakeKernel::arg(std::string("x"))}).error, -EINVAL);
	// A last successful request: with one worker, every earlier request
	// has been finished (errors are counted after the reply is sent).
	fuse_getattr_in g{};
	ASSERT_EQ(k.call(FUSE_GETATTR, 1, {FakeKernel::arg(g)}).error, 0);

	const std::string json = k.session().stats_json();
	SCOPED_TRACE(json);
	EXPECT_EQ(flat_object(json, "requests"),
		  (Counts{{"INIT", 1},
			  {"LOOKUP", n_lookups + n_missing + 1},
			  {"OPEN_ATOMIC", n_atomic + n_atomic_missing},
			  {"GETATTR", 1},
			  {"UNKNOWN", 1}}));
	EXPECT_EQ(
	    flat_object(json, "errors"),
	    (Counts{{"LOOKUP", n_missing + 1}, {"OPEN_ATOMIC", n_atomic_missing}, {"UNKNOWN", 1}}));
	EXPECT_EQ(json_number(json, "malformed"), 1);
	EXPECT_NE(json.find("\"fs\":{\"inodes\":8,\"name\":\"test\"}"), std::string::npos);
	// Each opcode with requests has a latency entry counting them all.
	EXPECT_NE(json.find("\"LOOKUP\":{\"count\":11,"), std::string::npos);
	EXPECT_NE(json.find("\"OPEN_ATOMIC\":{\"count\":7,"), std::string::npos);
	// The backend saw one lookup per LOOKUP and per OPEN_ATOMIC.
	EXPECT_EQ(fs.calls("lookup"), n_lookups + n_missing + n_atomic + n_atomic_missing);
	EXPECT_EQ(fs.calls("open"), n_atomic);
}

TEST(FuseStats, NoFsObjectWithoutFields)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	const std::string json = k.session().stats_json();
	EXPECT_EQ(json.find("\"fs\""), std::string::npos);
	EXPECT_EQ(flat_object(json, "requests"), (Counts{{"INIT", 1}}));
	EXPECT_EQ(flat_object(json, "errors"), Counts{});
	EXPECT_EQ(json_number(json, "malformed"), 0);
}

// An embedding program keeps SIGUSR1 unless it asks for the stats dump.
void (*sigusr1_handler())(int)
{
	struct sigaction sa {};
	::sigaction(SIGUSR1, nullptr, &sa);
	return sa.sa_handler;
}

TEST(FuseStats, NoSigusr1HandlerUnlessAsked)
{
	::signal(SIGUSR1, SIG_DFL);
	TestFs fs;
	{
		FakeKernel k(fs, one_thread());
		ASSERT_EQ(k.init().error, 0); // run() is serving
		EXPECT_EQ(sigusr1_handler(), SIG_DFL);
	}
	SessionOptions asked = one_thread();
	asked.stats_signal = true;
	FakeKernel k(fs, asked);
	ASSERT_EQ(k.init().error, 0);
	EXPECT_NE(sigusr1_handler(), SIG_DFL);
	k.hang_up();
	::signal(SIGUSR1, SIG_DFL);
}

// No handler for the wake-up signal either while serving: the session only
// installs it when it must interrupt one of its own threads.
TEST(FuseStats, NoWakeSignalHandlerWhileServing)
{
	::signal(SIGRTMIN + 4, SIG_DFL);
	TestFs fs;
	SessionOptions opts;
	opts.threads = 3;
	FakeKernel k(fs, opts);
	ASSERT_EQ(k.init().error, 0);
	ASSERT_EQ(lookup(k, 1, "file").error, 0);
	struct sigaction sa {};
	::sigaction(SIGRTMIN + 4, nullptr, &sa);
	EXPECT_EQ(sa.sa_handler, SIG_DFL);
}

// The counters as data: the same numbers as the JSON, which is written
// from them.
TEST(FuseStats, StatsAsData)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(lookup(k, 1, "file").error, 0);
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(lookup(k, 1, "nope").error, -ENOENT);
	ASSERT_EQ(k.call(FUSE_LOOKUP, 1, {FakeKernel::arg(std::string("x"))}).error, -EINVAL);
	ASSERT_EQ(k.call(200, 1).error, -ENOSYS);
	fuse_getattr_in g{};
	ASSERT_EQ(k.call(FUSE_GETATTR, 1, {FakeKernel::arg(g)}).error, 0);

	const SessionStats st = k.session().stats();
	ASSERT_EQ(st.requests.size(), 4u); // UNKNOWN, LOOKUP, GETATTR, INIT by opcode
	EXPECT_EQ(st.requests[0].name, "UNKNOWN");
	EXPECT_EQ(st.requests[0].opcode, 0u);
	EXPECT_EQ(st.requests[1].opcode, FUSE_LOOKUP);
	EXPECT_EQ(st.requests[2].opcode, FUSE_GETATTR);
	EXPECT_EQ(st.requests[3].opcode, FUSE_INIT);
	EXPECT_EQ(st.count("LOOKUP"), 7u);
	EXPECT_EQ(st.find("LOOKUP")->errors, 3u); // two ENOENT, one malformed
	EXPECT_EQ(st.count("GETATTR"), 1u);
	EXPECT_EQ(st.count("OPEN"), 0u);
	EXPECT_EQ(st.find("OPEN"), nullptr);
	EXPECT_EQ(st.malformed, 1u);
	const RequestStats &l = *st.find("LOOKUP");
	EXPECT_EQ(l.timed(), 7u); // every LOOKUP was answered
	EXPECT_GE(l.total_ns, l.max_ns);
	EXPECT_GT(l.max_ns, 0u);
	EXPECT_LE(l.percentile_us(0.5), l.percentile_us(0.99));
	EXPECT_LE(l.percentile_us(0.99), static_cast<double>(l.max_ns) / 1000.0);

	const std::string json = st.json();
	EXPECT_EQ(flat_object(json, "requests"),
		  (Counts{{"INIT", 1}, {"LOOKUP", 7}, {"GETATTR", 1}, {"UNKNOWN", 1}}));
	EXPECT_EQ(flat_object(json, "errors"), (Counts{{"LOOKUP", 3}, {"UNKNOWN", 1}}));
	EXPECT_EQ(json_number(json, "malformed"), 1);
	// No request since: the session's JSON is the same text.
	EXPECT_EQ(k.session().stats_json(), json);
}

// A histogram's percentiles are the upper edges of its buckets, capped at
// the maximum seen.
TEST(FuseStats, PercentilesFromTheHistogram)
{
	RequestStats r;
	EXPECT_EQ(r.percentile_us(0.5), 0.0);
	r.latency_buckets[10] = 99; // [1024, 2048) ns
	r.latency_buckets[20] = 1;  // [~1 ms, ~2 ms)
	r.max_ns = 1'500'000;
	EXPECT_EQ(r.timed(), 100u);
	EXPECT_DOUBLE_EQ(r.percentile_us(0.50), 2.048);
	EXPECT_DOUBLE_EQ(r.percentile_us(0.99), 2.048);
	EXPECT_DOUBLE_EQ(r.percentile_us(1.0), 1500.0); // 2097.152 capped at max
}

TEST(FuseStats, CountsAreExactAcrossWorkers)
{
	TestFs fs;
	SessionOptions opts;
	opts.threads = 4;
	FakeKernel k(fs, opts);
	ASSERT_EQ(k.init().error, 0);
	for (int i = 0; i < 40; i++)
		ASSERT_EQ(lookup(k, 1, i % 2 ? "file" : "dir").error, 0);
	auto req = flat_object(k.session().stats_json(), "requests");
	EXPECT_EQ(req, (Counts{{"INIT", 1}, {"LOOKUP", 40}}));
	EXPECT_EQ(fs.nlookup(kFile), 20);
	EXPECT_EQ(fs.nlookup(kDir), 20);
}

// --- notifications ------------------------------------------------------------

TEST(FuseNotify, InvalEntry)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	EXPECT_EQ(k.session().notify_inval_entry(kDir, "inner"), 0);
	auto m = k.receive(5000);
	ASSERT_TRUE(m);
	EXPECT_EQ(m->unique, 0u);
	EXPECT_EQ(m->error, FUSE_NOTIFY_INVAL_ENTRY);
	Bytes want = bytes_of(fuse_notify_inval_entry_out{kDir, 5, 0});
	append(want, std::string_view("inner\0", 6));
	EXPECT_EQ(m->body, want);
}

TEST(FuseNotify, InvalInode)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	EXPECT_EQ(k.session().notify_inval_inode(kFile, 4096, -1), 0);
	auto m = k.receive(5000);
	ASSERT_TRUE(m);
	EXPECT_EQ(m->unique, 0u);
	EXPECT_EQ(m->error, FUSE_NOTIFY_INVAL_INODE);
	EXPECT_EQ(m->body, bytes_of(fuse_notify_inval_inode_out{kFile, 4096, -1}));
	// The session still answers requests after a notification.
	EXPECT_EQ(lookup(k, 1, "file").error, 0);
}

TEST(FuseNotify, FromInsideAHandlerComesAfterTheReply)
{
	// The real kernel cannot take a notification while it serves the
	// request that caused it (it holds that request's locks: the parent's
	// inode lock for UNLINK), so a notification written from the handler
	// would never return. The handler's call returns at once; the reply
	// comes first, then the notifications in the order they were made,
	// and the one worker goes on serving.
	struct NotifyingFs : TestFs {
		Errno unlink(const Request &req, NodeId parent, std::string_view name) override
		{
			results[0] = req.session->notify_inval_entry(parent, name);
			results[1] = req.session->notify_inval_inode(kFile, 0, -1);
			return 0;
		}
		Errno results[2] = {-1, -1};
	} fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	const std::uint64_t u = 7001;
	k.send_raw(frame(FUSE_UNLINK, u, 1, bytes_of(std::string_view("gone\0", 5))));
	auto reply = k.receive(5000);
	auto entry = k.receive(5000);
	auto inode = k.receive(5000);
	ASSERT_TRUE(reply && entry && inode);
	EXPECT_EQ(reply->unique, u);
	EXPECT_EQ(reply->error, 0);
	EXPECT_EQ(entry->unique, 0u);
	EXPECT_EQ(entry->error, FUSE_NOTIFY_INVAL_ENTRY);
	Bytes want = bytes_of(fuse_notify_inval_entry_out{1, 4, 0});
	append(want, std::string_view("gone\0", 5));
	EXPECT_EQ(entry->body, want);
	EXPECT_EQ(inode->unique, 0u);
	EXPECT_EQ(inode->error, FUSE_NOTIFY_INVAL_INODE);
	EXPECT_EQ(inode->body, bytes_of(fuse_notify_inval_inode_out{kFile, 0, -1}));
	EXPECT_EQ(fs.results[0], 0);
	EXPECT_EQ(fs.results[1], 0);
	EXPECT_EQ(lookup(k, 1, "file").error, 0);
}

// --- end of session ---------------------------------------------------------------

// A session on a socketpair of our own, to see run()'s result.
struct OwnKernel {
	explicit OwnKernel(Filesystem &fs, unsigned threads = 1)
	{
		int sv[2];
		if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
			throw std::runtime_error("socketpair");
		fd = sv[0];
		SessionOptions o;
		o.threads = threads;
		session = Session::attach(fs, make_socket_transport(sv[1]), o);
		thread = std::thread([this] { rc = session->run(); });
	}
	~OwnKernel()
	{
		hang_up();
		join();
	}
	void hang_up()
	{
		if (fd >= 0) {
			::shutdown(fd, SHUT_RDWR);
			::close(fd);
			fd = -1;
		}
	}
	void join()
	{
		if (thread.joinable())
			thread.join();
	}
	std::optional<FakeKernel::Reply> request(const Bytes &msg)
	{
		if (::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) < 0)
			return std::nullopt;
		std::vector<std::byte> buf(1 << 16);
		ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
		if (n < static_cast<ssize_t>(sizeof(fuse_out_header)))
			return std::nullopt;
		fuse_out_header h;
		std::memcpy(&h, buf.data(), sizeof(h));
		EXPECT_EQ(h.len, static_cast<std::uint32_t>(n));
		FakeKernel::Reply r{h.error, h.unique, {}};
		r.body.assign(buf.begin() + sizeof(h), buf.begin() + n);
		return r;
	}
	bool init()
	{
		fuse_init_in in{};
		in.major = 7;
		in.minor = 41;
		in.max_readahead = 65536;
		in.flags = ~0u;
		in.flags2 = ~0u;
		auto r = request(frame(FUSE_INIT, 2, 0, bytes_of(in)));
		return r && r->error == 0 && r->unique == 2;
	}

	int fd = -1;
	std::unique_ptr<Session> session;
	std::thread thread;
	int rc = -1;
};

TEST(FuseEnd, HangUpAfterInitEndsRunAndDestroysOnce)
{
	TestFs fs;
	OwnKernel k(fs, 2);
	ASSERT_TRUE(k.init());
	k.hang_up();
	k.join();
	EXPECT_EQ(k.rc, 0);
	EXPECT_EQ(fs.calls("destroy"), 1);
	EXPECT_EQ(fs.calls("init"), 1);
}

TEST(FuseEnd, HangUpBeforeInitDoesNotDestroy)
{
	TestFs fs;
	OwnKernel k(fs);
	k.hang_up();
	k.join();
	EXPECT_EQ(k.rc, 0);
	EXPECT_EQ(fs.calls("destroy"), 0);
	EXPECT_EQ(fs.calls("init"), 0);
}

TEST(FuseEnd, DestroyRequestRepliesDestroysOnceAndEnds)
{
	TestFs fs;
	OwnKernel k(fs, 2);
	ASSERT_TRUE(k.init());
	auto r = k.request(frame(FUSE_DESTROY, 4, 0, {}));
	ASSERT_TRUE(r);
	EXPECT_EQ(r->unique, 4u);
	EXPECT_EQ(r->error, 0);
	EXPECT_TRUE(r->body.empty());
	// run() returns on its own, without a hang-up.
	k.join();
	EXPECT_EQ(k.rc, 0);
	EXPECT_EQ(fs.calls("destroy"), 1);
}

TEST(FuseEnd, FakeKernelHangUp)
{
	TestFs fs;
	auto k = std::make_unique<FakeKernel>(fs, one_thread());
	ASSERT_EQ(k->init().error, 0);
	EXPECT_EQ(fs.calls("destroy"), 0);
	k->hang_up();
	EXPECT_TRUE(fs.wait_destroyed());
	k.reset(); // joins run()
	EXPECT_EQ(fs.calls("destroy"), 1);
}

// --- replies the kernel never gets ---------------------------------------------------
//
// The filesystem is held inside a handler while the kernel hangs up; the
// reply then cannot be sent and what it carried (lookups, open handles) must
// be given back.

TEST(FuseLostReply, LookupIsForgotten)
{
	TestFs fs;
	auto k = std::make_unique<FakeKernel>(fs, one_thread());
	ASSERT_EQ(k->init().error, 0);
	fs.close_gate("file");
	k->send_raw(frame(FUSE_LOOKUP, 8001, 1, bytes_of(std::string_view("file\0", 5))));
	ASSERT_TRUE(fs.wait_in_gate());
	k->hang_up();
	fs.open_gate();
	ASSERT_TRUE(fs.wait_destroyed());
	k.reset();
	EXPECT_EQ(fs.calls("lookup"), 1);
	EXPECT_EQ(fs.nlookup(kFile), 0);
	auto rec = fs.recorded();
	ASSERT_EQ(rec.forgets.size(), 1u);
	EXPECT_EQ(rec.forgets[0], (std::pair<NodeId, std::uint64_t>{kFile, 1}));
}

TEST(FuseLostReply, OpenAtomicReleasesAndForgets)
{
	TestFs fs;
	auto k = std::make_unique<FakeKernel>(fs, one_thread());
	ASSERT_EQ(k->init().error, 0);
	fs.close_gate("file");
	fuse_create_in in{O_RDWR, 0, 0, 0};
	Bytes args = bytes_of(in);
	append(args, std::string_view("file\0", 5));
	k->send_raw(frame(FUSE_OPEN_ATOMIC, 8003, 1, args));
	ASSERT_TRUE(fs.wait_in_gate());
	k->hang_up();
	fs.open_gate();
	ASSERT_TRUE(fs.wait_destroyed());
	k.reset();
	EXPECT_EQ(fs.calls("open"), 1);
	EXPECT_EQ(fs.calls("release"), 1);
	EXPECT_EQ(fs.nlookup(kFile), 0);
}

TEST(FuseLostReply, ReaddirplusForgetsEveryEntry)
{
	TestFs fs;
	auto k = std::make_unique<FakeKernel>(fs, one_thread());
	ASSERT_EQ(k->init().error, 0);
	fs.close_gate(""); // readdir
	fuse_read_in in{};
	in.size = 4096;
	k->send_raw(frame(FUSE_READDIRPLUS, 8005, kDir, bytes_of(in)));
	ASSERT_TRUE(fs.wait_in_gate());
	k->hang_up();
	fs.open_gate();
	ASSERT_TRUE(fs.wait_destroyed());
	k.reset();
	EXPECT_EQ(fs.calls("readdirplus"), 1);
	EXPECT_EQ(fs.calls("forget"), 2);
	EXPECT_EQ(fs.nlookup(kLong), 0);
	EXPECT_EQ(fs.nlookup(kInner), 0);
}

TEST(FuseLostReply, ReaddirplusErrorAfterEntriesForgetsThem)
{
	// The filesystem adds entries, then fails: the error is replied and
	// the lookups of the entries never sent are given back.
	struct FailingFs : TestFs {
		Errno readdir(const Request &req, NodeId node, std::uint64_t fh, std::uint64_t off,
			      DirBuffer &out) override
		{
			TestFs::readdir(req, node, fh, off, out);
			return EIO;
		}
	} fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	fuse_read_in in{};
	in.size = 4096;
	auto r = k.call(FUSE_READDIRPLUS, kDir, {FakeKernel::arg(in)});
	EXPECT_EQ(r.error, -EIO);
	EXPECT_TRUE(r.body.empty());
	EXPECT_EQ(fs.calls("forget"), 2);
	EXPECT_EQ(fs.total_nlookup(), 0);
}

TEST(FuseNotify, AfterHangUpIsAnError)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	k.hang_up();
	EXPECT_GT(k.session().notify_inval_entry(1, "file"), 0);
	EXPECT_GT(k.session().notify_inval_inode(kFile, 0, 0), 0);
}

// --- lock waits (SETLKW) ----------------------------------------------------------

// A flock that must wait: LOCK_NB says EWOULDBLOCK, the blocking call waits
// until a signal interrupts it (as flock(2) on a lock held elsewhere).
struct WaitingFlockFs : TestFs {
	Errno flock(const Request &, NodeId, std::uint64_t, std::uint64_t, int op) override
	{
		ops.push_back(op);
		if (op & LOCK_NB)
			return EWOULDBLOCK;
		waiting = true;
		int r = ::poll(nullptr, 0, 60000);
		waiting = false;
		return r < 0 ? errno : ETIMEDOUT;
	}
	std::vector<int> ops; // written by one thread at a time
	std::atomic<bool> waiting{false};
};

Bytes flock_args(std::uint32_t type)
{
	fuse_lk_in in{};
	in.fh = 5;
	in.owner = 77;
	in.lk.type = type;
	in.lk_flags = FUSE_LK_FLOCK;
	return bytes_of(in);
}

TEST(FuseLockWaits, BlockingFlockWaitsOffTheWorkerAndEndsOnInterrupt)
{
	WaitingFlockFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	const std::uint64_t u = 9001;
	k.send_raw(frame(FUSE_SETLKW, u, kFile, flock_args(F_WRLCK)));
	for (int i = 0; i < 5000 && !fs.waiting; i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	ASSERT_TRUE(fs.waiting.load());
	// The one worker is free while the lock is waited for.
	EXPECT_EQ(lookup(k, 1, "file").error, 0);
	fuse_interrupt_in intr{u};
	k.send_raw(frame(FUSE_INTERRUPT, u | 1, 0, bytes_of(intr)));
	auto r = k.receive(5000);
	ASSERT_TRUE(r);
	EXPECT_EQ(r->unique, u);
	EXPECT_EQ(r->error, -EINTR);
	EXPECT_EQ(fs.ops, (std::vector<int>{LOCK_EX | LOCK_NB, LOCK_EX}));
	auto errors = flat_object(k.session().stats_json(), "errors");
	EXPECT_EQ(errors["SETLKW"], 1u);
}

// An INTERRUPT read before its SETLKW (another worker read it first) still
// ends the wait, after a thousand INTERRUPTs of requests answered long ago:
// a 64-entry FIFO of early INTERRUPTs lost it, and the caller, SIGKILLed,
// stayed in D state until the lock was free.
TEST(FuseLockWaits, EarlyInterruptSurvivesManyOthers)
{
	WaitingFlockFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	const std::uint64_t u = 9001;
	fuse_interrupt_in intr{u};
	k.send_raw(frame(FUSE_INTERRUPT, u | 1, 0, bytes_of(intr)));
	for (std::uint64_t i = 0; i < 1000; i++) {
		fuse_interrupt_in other{20000 + 2 * i};
		k.send_raw(frame(FUSE_INTERRUPT, other.unique | 1, 0, bytes_of(other)));
	}
	k.send_raw(frame(FUSE_SETLKW, u, kFile, flock_args(F_WRLCK)));
	auto r = k.receive(20000);
	ASSERT_TRUE(r);
	EXPECT_EQ(r->unique, u);
	EXPECT_EQ(r->error, -EINTR);
	// Answered without waiting for the lock at all.
	EXPECT_EQ(fs.ops, (std::vector<int>{LOCK_EX | LOCK_NB}));
}

// One user's waits cannot use up the others' share: past
// Waits::kMaxWaitsPerUid waits of one uid only that uid gets ENOLCK.
TEST(FuseLockWaits, QuotaIsPerUid)
{
	struct BlockingFs : TestFs {
		Errno flock(const Request &, NodeId, std::uint64_t, std::uint64_t, int op) override
		{
			if (op & LOCK_NB)
				return EWOULDBLOCK;
			waiting++;
			int r = ::poll(nullptr, 0, 60000); // until interrupted
			waiting--;
			return r < 0 ? errno : ETIMEDOUT;
		}
		std::atomic<int> waiting{0};
	} fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	auto setlkw = [&](std::uint64_t unique, std::uint32_t uid) {
		Bytes b = frame(FUSE_SETLKW, unique, kFile, flock_args(F_WRLCK));
		std::memcpy(b.data() + offsetof(fuse_in_header, uid), &uid, sizeof uid);
		k.send_raw(b);
	};
	const int quota = static_cast<int>(Waits::kMaxWaitsPerUid);
	for (int i = 0; i < quota; i++)
		setlkw(20000 + i, 1000);
	for (int i = 0; i < 10000 && fs.waiting < quota; i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	ASSERT_EQ(fs.waiting.load(), quota);
	setlkw(29999, 1000); // over its quota
	auto r = reply_to(k, 29999);
	ASSERT_TRUE(r);
	EXPECT_EQ(r->error, -ENOLCK);
	setlkw(30000, 2000); // another user still waits
	for (int i = 0; i < 10000 && fs.waiting <= quota; i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	EXPECT_EQ(fs.waiting.load(), quota + 1);
	EXPECT_FALSE(k.receive(50)); // nobody else was answered
	// The end of the session interrupts every wait.
}

// A lock that is free is taken at once, on the worker.
TEST(FuseLockWaits, FreeLockIsTakenWithoutWaiting)
{
	struct FreeFs : TestFs {
		Errno flock(const Request &, NodeId, std::uint64_t, std::uint64_t, int op) override
		{
			ops.push_back(op);
			return 0;
		}
		std::vector<int> ops;
	} fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	k.send_raw(frame(FUSE_SETLKW, 9011, kFile, flock_args(F_RDLCK)));
	auto r = k.receive(5000);
	ASSERT_TRUE(r);
	EXPECT_EQ(r->error, 0);
	EXPECT_EQ(fs.ops, (std::vector<int>{LOCK_SH | LOCK_NB}));
}

// --- request extensions (FUSE_CREATE_SUPP_GROUP) --------------------------------

class FuseExtensions : public ::testing::Test
{
protected:
	void SetUp() override { ASSERT_EQ(k.init().error, 0); }

	// CREATE "name" with `ext` after the arguments and total_extlen = ext/8
	// (unless given).
	FakeKernel::Reply create(std::string_view name, const Bytes &ext,
				 std::optional<std::uint16_t> extlen = std::nullopt)
	{
		fuse_create_in in{O_RDWR | O_CREAT, S_IFREG | 0644, 022, 0};
		Bytes args = bytes_of(in);
		append(args, name);
		args.push_back(std::byte{0});
		args.insert(args.end(), ext.begin(), ext.end());
		const std::uint64_t u = ++unique_ * 2 + 10001;
		k.send_raw(frame(FUSE_CREATE, u, 1, args,
				 extlen.value_or(static_cast<std::uint16_t>(ext.size() / 8))));
		auto r = k.receive(5000);
		if (!r)
			return {-ETIMEDOUT, 0, {}};
		EXPECT_EQ(r->unique, u);
		return *r;
	}

	static Bytes groups(std::initializer_list<std::uint32_t> gids,
			    std::optional<std::uint32_t> nr = std::nullopt)
	{
		Bytes b;
		std::uint32_t size = static_cast<std::uint32_t>(
		    (sizeof(fuse_ext_header) + 4 + 4 * gids.size() + 7) & ~std::size_t{7});
		append(b, fuse_ext_header{size, FUSE_EXT_GROUPS});
		append(b, fuse_supp_groups{nr.value_or(static_cast<std::uint32_t>(gids.size()))});
		for (auto g : gids)
			append(b, g);
		b.resize(size);
		return b;
	}

	TestFs fs;
	FakeKernel k{fs, one_thread()};
	std::uint64_t unique_ = 0;
};

TEST_F(FuseExtensions, OneGroup)
{
	Bytes ext = groups({5555});
	ASSERT_EQ(ext.size(), 16u);
	auto r = create("g1", ext);
	ASSERT_EQ(r.error, 0);
	EXPECT_EQ(r.body.size(), sizeof(fuse_entry_out) + sizeof(fuse_open_out));
	EXPECT_EQ(fs.recorded().create_caller.supp_gid, 5555u);
	EXPECT_EQ(fs.child(1, "g1"), std::optional<NodeId>(100)); // the name excludes the extension
}

TEST_F(FuseExtensions, FirstOfSeveralGroups)
{
	Bytes ext = groups({700, 800, 900});
	ASSERT_EQ(ext.size(), 24u);
	ASSERT_EQ(create("g3", ext).error, 0);
	EXPECT_EQ(fs.recorded().create_caller.supp_gid, 700u);
}

TEST_F(FuseExtensions, NoGroupsOrNoExtension)
{
	ASSERT_EQ(create("g0", groups({}, 0)).error, 0);
	EXPECT_EQ(fs.recorded().create_caller.supp_gid, static_cast<gid_t>(-1));
	ASSERT_EQ(create("none", {}).error, 0);
	EXPECT_EQ(fs.recorded().create_caller.supp_gid, static_cast<gid_t>(-1));
}

TEST_F(FuseExtensions, UnknownTypeSkipped)
{
	// A security context record (type 1) before the groups.
	Bytes ext;
	append(ext, fuse_ext_header{16, 1});
	append(ext, std::string_view("secctx\0\0", 8));
	Bytes g = groups({1234});
	ext.insert(ext.end(), g.begin(), g.end());
	ASSERT_EQ(create("sec", ext).error, 0);
	EXPECT_EQ(fs.recorded().create_caller.supp_gid, 1234u);
}

TEST_F(FuseExtensions, BrokenChainsAreEio)
{
	const auto malformed = [&] { return json_number(k.session().stats_json(), "malformed"); };
	struct Case {
		const char *what;
		Bytes ext;
	};
	Bytes not_multiple_of_8 = groups({1});
	std::uint32_t twelve = 12;
	std::memcpy(not_multiple_of_8.data(), &twelve, 4);
	Bytes past_end = groups({1});
	std::uint32_t big = 32;
	std::memcpy(past_end.data(), &big, 4);
	Bytes too_small_header = groups({1});
	std::uint32_t four = 0;
	std::memcpy(too_small_header.data(), &four, 4);
	Bytes groups_without_gid;
	append(groups_without_gid, fuse_ext_header{8, FUSE_EXT_GROUPS});
	Bytes trailing = groups({1});
	append(trailing, fuse_ext_header{16, 1}); // a second header, no body
	const Case cases[] = {
	    {"size not a multiple of 8", not_multiple_of_8},
	    {"size past the end", past_end},
	    {"size 0", too_small_header},
	    {"groups record without room for a gid", groups_without_gid},
	    {"second record cut short", trailing},
	};
	std::int64_t n = 0;
	for (const Case &c : cases) {
		SCOPED_TRACE(c.what);
		auto r = create(c.what[0] == 's' ? "bad-s" : "bad", c.ext);
		EXPECT_EQ(r.error, -EIO);
		EXPECT_TRUE(r.body.empty());
		EXPECT_EQ(malformed(), ++n);
	}
	EXPECT_EQ(fs.calls("create"), 0);
	// Still serving.
	ASSERT_EQ(create("after", groups({42})).error, 0);
	EXPECT_EQ(fs.recorded().create_caller.supp_gid, 42u);
}

} // namespace
} // namespace atomfs::fuse::test
