// SPDX-License-Identifier: MIT
//
// The atomfs command line, in libfuse's manner:
//   atomfs SOURCE MOUNTPOINT [-f] [-d] [-s] [-o opt[,opt...]] [--long-options]
// Options may come before or after the two positional arguments.
#pragma once

#include "passthrough.h"

#include <atomfs/fuse/session.h>

#include <string>
#include <vector>

namespace atomfs::fs {

struct Options {
	Config cfg;
	fuse::MountOptions mount;
	fuse::SessionOptions session;
	std::string mountpoint;
	bool foreground = false;
	bool help = false;
	bool version = false;
	bool allow_other_implied_dp = false; // default_permissions added for allow_other
	bool strictatime = false;            // -o strictatime (clears noatime)
};

// Parses argv; on error returns false with a one-line message in `error`.
bool parse_options(const std::vector<std::string> &args, Options &out, std::string &error);

// Checks SOURCE and MOUNTPOINT (exist, are directories, neither inside the
// other) and makes them absolute. One-line message on failure.
bool check_paths(Options &opts, std::string &error);

// "100us", "1ms", "2s", "500ns", "0" -> nanoseconds; false if malformed.
bool parse_duration(const std::string &s, std::chrono::nanoseconds &out);

const char *usage_text();

} // namespace atomfs::fs
