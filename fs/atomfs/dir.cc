// SPDX-License-Identifier: MIT
//
// Directories: opendir, readdir(plus), releasedir, fsyncdir.
//
// A DirHandle reads the backing directory with getdents64 into a buffer it
// keeps across READDIR requests; d_off of each record is the offset the
// kernel sends back to continue, so a READDIR that starts where the last
// one stopped needs no lseek, and one that does not (rewinddir, telldir)
// seeks the backing directory there.
#include "passthrough.h"

#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace atomfs::fs {

namespace {
constexpr std::size_t kDirBuf = 32 * 1024;

struct Dirent64 {
	ino64_t d_ino;
	off64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};
} // namespace

fuse::Errno AtomFs::opendir(const Request &req, NodeId node, int, fuse::OpenFile &out)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	std::shared_ptr<Inode> in;
	FdRef fd;
	if (Errno e = node_fd(node, in, fd))
		return e;
	if (!in->is_dir())
		return ENOTDIR;
	return open_dir(req, fd.get(), out);
}

fuse::Errno AtomFs::readdir(const Request &req, NodeId node, std::uint64_t fh, std::uint64_t off,
			    fuse::DirBuffer &out)
{
	if (charge_latency(req))
		return 0; // resumed when the latency has passed
	auto h = dirs_.get(fh);
	if (!h)
		return EBADF;
	std::lock_guard lk(h->mu);
	if (!h->buf)
		h->buf.reset(new char[kDirBuf]);
	if (off != h->next_off) {
		if (::lseek(h->fd, off, SEEK_SET) < 0)
			return errno;
		h->len = h->pos = 0;
		h->next_off = off;
	}
	const bool plus = out.plus();
	bool added = false;
	for (;;) {
		if (h->pos >= h->len) {
			long n = ::getdents64(h->fd, h->buf.get(), kDirBuf);
			if (n < 0)
				return added ? 0 : errno;
			if (n == 0)
				break;
			h->len = n;
			h->pos = 0;
		}
		auto *d = reinterpret_cast<Dirent64 *>(h->buf.get() + h->pos);
		std::string_view name(d->d_name);
		mode_t type = (mode_t)DTTOIF(d->d_type);
		bool fits;
		if (!plus) {
			fits = out.add(name, d->d_ino, type, d->d_off);
		} else if (name == "." || name == "..") {
			// The kernel links no dentry for these: no lookup counted.
			Entry e;
			e.attr.st_ino = d->d_ino;
			e.attr.st_mode = type;
			fits = out.add_plus(name, e, d->d_off);
		} else if (!out.fits_plus(name)) {
			fits = false;
		} else {
			Entry e;
			Errno err = lookup_at(h->fd, d->d_name, e);
			if (err == ENOENT) {
				// Removed since getdents: skip it.
				h->pos += d->d_reclen;
				h->next_off = d->d_off;
				continue;
			}
			if (err)
				return added ? 0 : err;
			fits = out.add_plus(name, e, d->d_off);
			if (!fits)
				forget(e.nodeid, 1);
		}
		if (!fits)
			break;
		added = true;
		h->pos += d->d_reclen;
		h->next_off = d->d_off;
	}
	(void)node;
	return 0;
}

fuse::Errno AtomFs::releasedir(const Request &, NodeId, std::uint64_t fh)
{
	return dirs_.take(fh) ? 0 : EBADF;
}

fuse::Errno AtomFs::fsyncdir(const Request &, NodeId, std::uint64_t fh, bool datasync)
{
	auto h = dirs_.get(fh);
	if (!h)
		return EBADF;
	if ((datasync ? ::fdatasync(h->fd) : ::fsync(h->fd)) != 0)
		return errno;
	return 0;
}

} // namespace atomfs::fs
