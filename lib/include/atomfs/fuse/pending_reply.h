// SPDX-License-Identifier: MIT
/// @file
/// Asynchronous replies. A handler that cannot answer now (its backend is a
/// server far away, or a timer has to run out first) takes ownership of its
/// request with defer(req) and returns; the worker goes on to the next
/// request. Later, from any thread, the PendingReply is either resumed (the
/// same Filesystem method runs again, on that thread, with
/// Request::resumed set, and what it returns is encoded and replied as for a
/// synchronous call) or answered with an error. The synchronous API stays
/// the simple case: a handler that never calls defer() is served as before.
///
/// @code
/// Errno lookup(const Request &req, NodeId parent, std::string_view name,
///              Entry &out) override
/// {
///         if (!req.resumed) {
///                 if (PendingReply p = defer(req)) {
///                         backend.ask(parent, name, std::move(p)); // resumes it later
///                         return 0; // ignored: the request is deferred
///                 }
///         }
///         ... // answer now (second run, or defer() refused)
/// }
/// @endcode
///
/// defer() refuses (an empty PendingReply) when the request is already
/// answered or deferred, when it is served on a lock wait's thread, and while
/// the session is ending; the handler then answers synchronously.
///
/// FUSE_INTERRUPT of a deferred request sets interrupted() and calls the
/// on_interrupt() callback; the filesystem may then answer EINTR at once or
/// carry on (the kernel waits for the reply either way). At the end of the
/// session every request still deferred is answered EIO; resume() and
/// reply_error() on it afterwards do nothing, also when the session object
/// is gone. A PendingReply destroyed unanswered answers EIO.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

namespace atomfs::fuse {

struct Request;
struct Deferred;

/// A deferred request, answered once from any thread (see the file's text).
class PendingReply {
public:
	/// An empty handle.
	PendingReply() = default;
	/// Takes the request over from `o`, which becomes empty.
	PendingReply(PendingReply &&o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
	/// Answers EIO to the request this handle held, if any, then takes
	/// `o`'s over.
	PendingReply &operator=(PendingReply &&o) noexcept;
	PendingReply(const PendingReply &) = delete;
	PendingReply &operator=(const PendingReply &) = delete;
	/// Answers EIO if the request was not answered.
	~PendingReply();

	/// false: empty (defer() refused, or already resumed / answered).
	explicit operator bool() const { return d_ != nullptr; }
	/// The request's fuse_in_header.unique; 0 when empty.
	std::uint64_t unique() const;
	/// Whether the kernel sent FUSE_INTERRUPT for the request.
	bool interrupted() const;
	/// `fn` runs once when the INTERRUPT arrives, on the thread that read
	/// it (it must not block), or at once if it already did.
	void on_interrupt(std::function<void()> fn);
	/// Runs the filesystem's method again on this thread with
	/// Request::resumed true and Request::resume_state = `state`, and
	/// replies what it returns. Empties the handle.
	void resume(std::shared_ptr<void> state = {});
	/// Answers `error` (a positive errno) without calling the filesystem.
	/// Empties the handle.
	void reply_error(int error);

private:
	friend PendingReply defer(const Request &req);
	friend struct Deferred;
	explicit PendingReply(Deferred *d) : d_(d) {}
	Deferred *d_ = nullptr;
};

/// Takes ownership of the request being served (see the file's text).
/// Only from the thread running the handler, with the Request the handler
/// was given; once per request (a resumed run answers synchronously).
PendingReply defer(const Request &req);
/// Whether `req`, being served on this thread, has been deferred: a method
/// built from other methods (the default open_atomic()) stops there.
bool is_deferred(const Request &req);

} // namespace atomfs::fuse
