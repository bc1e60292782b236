// SPDX-License-Identifier: MIT
//
// Asynchronous replies (<atomfs/fuse/pending_reply.h>) on the fake kernel:
// a deferred request is answered from another thread with the bytes the
// synchronous path would have sent; the worker serves other requests
// meanwhile; INTERRUPT reaches a deferred request, also one read before the
// request itself; requests never answered are answered at the end of the
// session, and handles that outlive the session do nothing.
#include "fuse_test_fs.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <thread>

namespace atomfs::fuse::test
{
namespace
{

using namespace abi;

// TestFs whose GETATTR and LOOKUP are deferred on their first run (the
// resumed run answers as TestFs does); the handles wait in a queue for the
// test to take.
class AsyncFs : public TestFs
{
public:
	Errno getattr(const Request &req, NodeId node, std::optional<std::uint64_t> fh,
		      Attr &out) override
	{
		if (park(req))
			return 0;
		return TestFs::getattr(req, node, fh, out);
	}
	Errno lookup(const Request &req, NodeId parent, std::string_view name, Entry &out) override
	{
		if (park(req))
			return 0;
		return TestFs::lookup(req, parent, name, out);
	}

	// The next deferred request (waits up to 5 s); empty on timeout.
	PendingReply take()
	{
		std::unique_lock<std::mutex> l(mu_);
		if (!cv_.wait_for(l, std::chrono::seconds(5), [&] { return !parked_.empty(); }))
			return {};
		PendingReply p = std::move(parked_.front());
		parked_.pop_front();
		return p;
	}
	std::size_t parked() const
	{
		std::lock_guard<std::mutex> l(mu_);
		return parked_.size();
	}
	std::atomic<bool> defer_getattr{true}, defer_lookup{false};
	std::atomic<int> refused{0}; // defer() returned an empty handle

private:
	bool park(const Request &req)
	{
		const bool want = req.opcode == FUSE_GETATTR ? defer_getattr.load()
							      : defer_lookup.load();
		if (!want || req.resumed)
			return false;
		PendingReply p = defer(req);
		if (!p) {
			refused++;
			return false;
		}
		EXPECT_TRUE(is_deferred(req));
		EXPECT_FALSE(defer(req)) << "a second defer() of one request";
		std::lock_guard<std::mutex> l(mu_);
		parked_.push_back(std::move(p));
		cv_.notify_all();
		return true;
	}
	mutable std::mutex mu_;
	std::condition_variable cv_;
	std::deque<PendingReply> parked_;
};

// A request framed by hand, sent without waiting: its unique.
std::uint64_t send(FakeKernel &k, std::uint32_t opcode, NodeId node,
		   std::span<const std::byte> arg = {})
{
	std::vector<std::byte> msg(sizeof(fuse_in_header));
	msg.insert(msg.end(), arg.begin(), arg.end());
	fuse_in_header h{};
	h.len = static_cast<std::uint32_t>(msg.size());
	h.opcode = opcode;
	h.unique = k.next_unique();
	h.nodeid = node;
	std::memcpy(msg.data(), &h, sizeof(h));
	k.send_raw(msg);
	return h.unique;
}

std::uint64_t send_getattr(FakeKernel &k, NodeId node)
{
	fuse_getattr_in in{};
	return send(k, FUSE_GETATTR, node, FakeKernel::arg(in));
}

void send_interrupt(FakeKernel &k, std::uint64_t unique)
{
	fuse_interrupt_in in{};
	in.unique = unique;
	send(k, FUSE_INTERRUPT, 0, FakeKernel::arg(in));
}

// GETATTR of `node` answered synchronously: the bytes to expect.
std::vector<std::byte> sync_getattr_body(NodeId node)
{
	TestFs fs;
	FakeKernel k(fs, one_thread());
	EXPECT_EQ(k.init().error, 0);
	fuse_getattr_in in{};
	auto r = k.call(FUSE_GETATTR, node, {FakeKernel::arg(in)});
	EXPECT_EQ(r.error, 0);
	return r.body;
}

TEST(FuseAsync, ReplyFromAnotherThreadWhileTheWorkerServesOthers)
{
	AsyncFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	const std::uint64_t u = send_getattr(k, kFile);
	PendingReply p = fs.take();
	ASSERT_TRUE(p);
	EXPECT_EQ(p.unique(), u);
	EXPECT_FALSE(p.interrupted());
	// The only worker is free: a LOOKUP is answered while GETATTR waits.
	auto n = FakeKernel::name("dir");
	auto l = k.call(FUSE_LOOKUP, 1, {FakeKernel::arg(n)});
	EXPECT_EQ(l.error, 0);
	EXPECT_FALSE(k.receive(50)) << "the deferred GETATTR was answered early";

	std::thread([p = std::move(p)]() mutable { p.resume(); }).join();
	auto r = k.receive(5000);
	ASSERT_TRUE(r);
	EXPECT_EQ(r->unique, u);
	EXPECT_EQ(r->error, 0);
	EXPECT_EQ(r->body, sync_getattr_body(kFile));
	EXPECT_EQ(fs.calls("getattr"), 1); // TestFs's, on the resumed run
	const std::string s = k.session().stats_json();
	EXPECT_EQ(json_number(s, "GETATTR"), 1) << s; // one request, counted once
	EXPECT_EQ(json_number(s, "deferred"), 1) << s;
}

TEST(FuseAsync, ManyInFlightOnOneWorkerAnsweredInAnyOrder)
{
	AsyncFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	constexpr int kN = 64;
	std::vector<std::uint64_t> uniques;
	for (int i = 0; i < kN; i++)
		uniques.push_back(send_getattr(k, i % 2 ? kFile : kDir));
	std::vector<PendingReply> ps;
	for (int i = 0; i < kN; i++) {
		ps.push_back(fs.take());
		ASSERT_TRUE(ps.back());
	}
	EXPECT_EQ(json_number(k.session().stats_json(), "deferred_max_in_flight"), kN);
	// Answered from two threads, last first.
	std::vector<PendingReply> odd, even;
	for (int i = kN - 1; i >= 0; i--)
		(i % 2 ? odd : even).push_back(std::move(ps[i]));
	std::thread a([&] { for (auto &p : odd) p.resume(); });
	std::thread b([&] { for (auto &p : even) p.resume(); });
	a.join();
	b.join();
	const auto file = sync_getattr_body(kFile), dir = sync_getattr_body(kDir);
	std::map<std::uint64_t, int> seen;
	for (int i = 0; i < kN; i++) {
		auto r = k.receive(5000);
		ASSERT_TRUE(r);
		auto it = std::find(uniques.begin(), uniques.end(), r->unique);
		ASSERT_NE(it, uniques.end());
		EXPECT_EQ(r->body, (it - uniques.begin()) % 2 ? file : dir);
		seen[r->unique]++;
	}
	EXPECT_EQ(seen.size(), static_cast<std::size_t>(kN));
	EXPECT_FALSE(k.receive(50));
}

TEST(FuseAsync, DeferredLookupThroughTheDefaultOpenAtomicCountsOneLookup)
{
	AsyncFs fs;
	fs.defer_getattr = false;
	fs.defer_lookup = true;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	fuse_create_in in{O_RDONLY, 0, 0, 0};
	auto n = FakeKernel::name("file");
	std::vector<std::byte> arg(sizeof(in));
	std::memcpy(arg.data(), &in, sizeof(in));
	auto nb = std::as_bytes(std::span(n.data(), n.size()));
	arg.insert(arg.end(), nb.begin(), nb.end());
	const std::uint64_t u = send(k, FUSE_OPEN_ATOMIC, 1, arg);
	PendingReply p = fs.take();
	ASSERT_TRUE(p);
	EXPECT_EQ(fs.calls("open"), 0); // stopped at the deferred lookup
	p.resume();
	auto r = k.receive(5000);
	ASSERT_TRUE(r);
	EXPECT_EQ(r->unique, u);
	EXPECT_EQ(r->error, 0);
	EXPECT_EQ(r->body.size(), sizeof(fuse_entry_out) + sizeof(fuse_open_out));
	EXPECT_EQ(fs.calls("open"), 1);
	EXPECT_EQ(fs.nlookup(kFile), 1);
}

TEST(FuseAsync, InterruptReachesTheDeferredRequestAndALateReplyIsSent)
{
	AsyncFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	const std::uint64_t u1 = send_getattr(k, kFile), u2 = send_getattr(k, kFile);
	PendingReply p1 = fs.take(), p2 = fs.take();
	ASSERT_TRUE(p1 && p2);
	std::atomic<int> called{0};
	p1.on_interrupt([&] { called++; });
	send_interrupt(k, u1);
	send_interrupt(k, u2);
	// INTERRUPT has no reply; a synchronous request after it orders the
	// test after its handling (one worker).
	auto n = FakeKernel::name("dir");
	ASSERT_EQ(k.call(FUSE_LOOKUP, 1, {FakeKernel::arg(n)}).error, 0);
	EXPECT_EQ(called.load(), 1);
	EXPECT_TRUE(p1.interrupted());
	EXPECT_TRUE(p2.interrupted());
	int late = 0;
	p2.on_interrupt([&] { late++; }); // already interrupted: runs at once
	EXPECT_EQ(late, 1);
	// One answered EINTR at once, the other late with its data.
	std::thread([&] { p1.reply_error(EINTR); }).join();
	auto r1 = k.receive(5000);
	ASSERT_TRUE(r1);
	EXPECT_EQ(r1->unique, u1);
	EXPECT_EQ(r1->error, -EINTR);
	std::thread([&] { p2.resume(); }).join();
	auto r2 = k.receive(5000);
	ASSERT_TRUE(r2);
	EXPECT_EQ(r2->unique, u2);
	EXPECT_EQ(r2->error, 0);
	EXPECT_EQ(r2->body, sync_getattr_body(kFile));
	EXPECT_EQ(called.load(), 1);
}

// The INTERRUPT read before its request (another worker read it first) is
// kept for the request, however many INTERRUPTs of other requests come
// meanwhile (a bounded FIFO of 64 lost it, and a SIGKILLed caller of a
// waiting request stayed in D state).
TEST(FuseAsync, EarlyInterruptIsNotPushedOutByOthers)
{
	AsyncFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	const std::uint64_t u = k.next_unique() + 2 * 1002; // the GETATTR's, below
	send_interrupt(k, u);
	for (int i = 0; i < 1000; i++) // for requests answered long ago
		send_interrupt(k, 1'000'000 + 2 * static_cast<std::uint64_t>(i));
	ASSERT_EQ(send_getattr(k, kFile), u);
	PendingReply p = fs.take();
	ASSERT_TRUE(p);
	EXPECT_TRUE(p.interrupted());
	bool called = false;
	p.on_interrupt([&] { called = true; });
	EXPECT_TRUE(called);
	p.reply_error(EINTR);
	auto r = k.receive(5000);
	ASSERT_TRUE(r);
	EXPECT_EQ(r->unique, u);
	EXPECT_EQ(r->error, -EINTR);
}

TEST(FuseAsync, HandleDroppedUnansweredRepliesEio)
{
	AsyncFs fs;
	FakeKernel k(fs, one_thread());
	ASSERT_EQ(k.init().error, 0);
	const std::uint64_t u = send_getattr(k, kFile);
	{
		PendingReply p = fs.take();
		ASSERT_TRUE(p);
		PendingReply moved = std::move(p);
		EXPECT_FALSE(p);
		EXPECT_TRUE(moved);
	}
	auto r = k.receive(5000);
	ASSERT_TRUE(r);
	EXPECT_EQ(r->unique, u);
	EXPECT_EQ(r->error, -EIO);
	EXPECT_EQ(fs.calls("getattr"), 0); // never resumed
}

// Requests still deferred when the session ends are answered EIO by it;
// the handles, used after the session is gone, do nothing (ASan checks).
TEST(FuseAsync, NeverAnsweredAtSessionEnd)
{
	AsyncFs fs;
	std::vector<PendingReply> ps;
	{
		FakeKernel k(fs, one_thread());
		ASSERT_EQ(k.init().error, 0);
		for (int i = 0; i < 3; i++)
			send_getattr(k, kFile);
		for (int i = 0; i < 3; i++)
			ps.push_back(fs.take());
		ASSERT_TRUE(ps[0] && ps[1] && ps[2]);
		// The fake kernel keeps reading: its end answers them EIO.
		k.session().exit();
		for (int i = 0; i < 3; i++) {
			auto r = k.receive(5000);
			ASSERT_TRUE(r);
			EXPECT_EQ(r->error, -EIO);
		}
	}
	EXPECT_FALSE(ps[0].interrupted());
	ps[0].resume();
	ps[1].reply_error(EINTR);
	EXPECT_EQ(fs.calls("getattr"), 0); // nothing was resumed
	// ps[2] goes with the vector.
}

TEST(FuseAsync, DeferRefusedOutsideAHandlerAndWhileEnding)
{
	Request r;
	EXPECT_FALSE(defer(r)); // no request being served on this thread
	EXPECT_FALSE(is_deferred(r));
	PendingReply empty;
	EXPECT_EQ(empty.unique(), 0u);
	empty.resume(); // nothing
	empty.reply_error(EIO);
}

} // namespace
} // namespace atomfs::fuse::test
