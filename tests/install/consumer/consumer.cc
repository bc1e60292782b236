// SPDX-License-Identifier: MIT
//
// A filesystem outside the project, built against the installed library: it
// serves one file through the installed fake kernel and checks the reply
// bytes of INIT and LOOKUP (structs from the kernel's <linux/fuse.h>).
#include <atomfs/fuse/filesystem.h>
#include <atomfs/fuse/session.h>
#include <atomfs/fuse/testing/fake_kernel.h>
#include <atomfs/fuse/version.h>

#include <linux/fuse.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace {

class OneFile final : public atomfs::fuse::Filesystem {
public:
	atomfs::fuse::Errno lookup(const atomfs::fuse::Request &, atomfs::fuse::NodeId parent,
				   std::string_view name, atomfs::fuse::Entry &out) override
	{
		if (parent != atomfs::fuse::kRootNodeId || name != "hello")
			return ENOENT;
		out.nodeid = 2;
		out.attr.st_ino = 2;
		out.attr.st_mode = S_IFREG | 0444;
		out.attr.st_nlink = 1;
		out.attr.st_size = 13;
		out.entry_timeout = 1.5;
		return 0;
	}
};

int failures = 0;

void check(bool ok, const char *what)
{
	if (!ok) {
		std::fprintf(stderr, "consumer: FAILED: %s\n", what);
		++failures;
	}
}

} // namespace

int main()
{
	using atomfs::fuse::FakeKernel;
	OneFile fs;
	atomfs::fuse::SessionOptions opts;
	opts.threads = 1;
	FakeKernel k(fs, opts);

	auto init = k.init();
	check(init.error == 0, "INIT error 0");
	auto io = init.as<fuse_init_out>();
	check(io.major == 7 && io.minor == FakeKernel::kProtocolMinor, "INIT 7.41");

	std::string name = FakeKernel::name("hello");
	auto r = k.call(FUSE_LOOKUP, FUSE_ROOT_ID, {FakeKernel::arg(name)});
	check(r.error == 0, "LOOKUP hello: error 0");
	check(r.body.size() == sizeof(fuse_entry_out), "LOOKUP reply is one fuse_entry_out");
	auto e = r.as<fuse_entry_out>();
	check(e.nodeid == 2 && e.attr.ino == 2, "nodeid 2");
	check(e.attr.size == 13 && e.attr.mode == (S_IFREG | 0444), "size 13, mode 0444");
	check(e.entry_valid == 1 && e.entry_valid_nsec == 500000000, "entry timeout 1.5 s");

	std::string missing = FakeKernel::name("nothing");
	auto m = k.call(FUSE_LOOKUP, FUSE_ROOT_ID, {FakeKernel::arg(missing)});
	check(m.error == -ENOENT && m.body.empty(), "LOOKUP nothing: -ENOENT");

	if (failures)
		return 1;
	std::printf("consumer: atomfs_fuse %s: INIT and LOOKUP replies as expected\n",
		    ATOMFS_FUSE_VERSION_STRING);
	return 0;
}
