# A server without FUSE_OPEN_ATOMIC (libfuse 3.14's passthrough_ll) mounted with
# cache=never, two threads opening, reading and closing cached names under a/b/c/
# (every open revalidates a, b, c and the file). The names are cached with stat(2)
# only, so the threads' first opens both take the atomic revalidate, both get
# ENOSYS and both fall back (LOOKUP + OPEN) at the same time. No open, read or
# close may fail: a FLUSH on a handle the server does not have would fail close(2)
# with EBADF, a leaked handle would end in EMFILE.
#
# Few files on purpose: passthrough_ll keeps an O_PATH descriptor per inode the
# kernel knows, so with about RLIMIT_NOFILE (1024 in the guest) cached names its
# own dup() in FLUSH and open() in OPEN fail (EBADF from close(2), EMFILE from
# open(2)) on any kernel. The test checks that headroom before it starts.
# Bounded: opens for ATOMFS_T53_SECONDS (8) after the warm-up.
. "$(dirname "$0")/lib.sh"

pll=${ATOMFS_PASSTHROUGH_LL:-$BUILD/tests/guest/passthrough_ll}
[ -x "$pll" ] || fail "passthrough_ll not built at $pll (libfuse3-dev examples, scripts/build.sh)"
py=/usr/bin/python3
[ -x "$py" ] || skip "no $py"

files=${ATOMFS_T53_FILES:-100}
seconds=${ATOMFS_T53_SECONDS:-8}
[ $((files + 64)) -lt "$(ulimit -Sn)" ] || fail "$files files need more than RLIMIT_NOFILE $(ulimit -Sn) descriptors in passthrough_ll"
src=$(fresh_source)
mnt=$WORK/mnt
mkdir -p "$mnt" "$src/a/b/c"
for i in $(seq 0 $((files - 1))); do echo x >"$src/a/b/c/f$i"; done
log=$WORK/pll.log
"$pll" -f -d -o source="$src",cache=never "$mnt" >"$log" 2>&1 &
pid=$!
for _ in $(seq 200); do
	awk -v m="$mnt" '$2 == m { f = 1 } END { exit !f }' /proc/self/mounts && break
	sleep 0.05
done
awk -v m="$mnt" '$2 == m { f = 1 } END { exit !f }' /proc/self/mounts || fail "passthrough_ll did not mount: $(tail -3 "$log")"

rc=0
out=$("$py" - "$mnt/a/b/c" "$files" "$seconds" <<'EOF'
import errno, os, sys, threading, time
d, n, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
errs = {}
lock = threading.Lock()
def bad(what, e):
    with lock:
        k = "%s:%s" % (what, errno.errorcode.get(e.errno, e.errno))
        errs[k] = errs.get(k, 0) + 1
def one(i):
    try:
        fd = os.open("%s/f%d" % (d, i), os.O_RDONLY)
    except OSError as e:
        return bad("open", e)
    try:
        if os.read(fd, 1) != b"x":
            with lock:
                errs["read:short"] = errs.get("read:short", 0) + 1
    except OSError as e:
        bad("read", e)
    try:
        os.close(fd)
    except OSError as e:
        bad("close", e)
for i in range(n):  # cache the names only: the first opens revalidate atomically
    os.stat("%s/f%d" % (d, i))
deadline = time.monotonic() + secs
opens = [0, 0]
def worker(t):
    lo, hi = t * n // 2, (t + 1) * n // 2
    while time.monotonic() < deadline:
        for i in range(lo, hi):
            one(i)
            opens[t] += 1
ts = [threading.Thread(target=worker, args=(t,)) for t in range(2)]
for t in ts: t.start()
for t in ts: t.join()
print("opens=%d errors=%s" % (sum(opens), " ".join("%s=%d" % kv for kv in sorted(errs.items())) or "none"))
sys.exit(1 if errs else 0)
EOF
) || rc=$?
note "$out"
note "passthrough_ll descriptors at the end: $(ls /proc/$pid/fd | wc -l) (RLIMIT_NOFILE $(ulimit -Sn))"
alive=1
kill -0 "$pid" 2>/dev/null || alive=0
umount "$mnt" 2>/dev/null || umount -l "$mnt"
prc=0
wait "$pid" || prc=$?
[ "$alive" = 1 ] || fail "passthrough_ll died during the run (status $prc): $(tail -5 "$log")"
[ "$rc" = 0 ] || fail "open/read/close errors with cache=never and 2 threads: $out"
n_of() { grep -c "opcode: $1 " "$log" || true; }
atomic=$(n_of '???')
open=$(n_of OPEN) flush=$(n_of FLUSH) release=$(n_of RELEASE)
note "requests: OPEN_ATOMIC (ENOSYS)=$atomic OPEN=$open FLUSH=$flush RELEASE=$release"
[ "$atomic" -ge 1 ] || fail "passthrough_ll never saw OPEN_ATOMIC"
expect_eq "FLUSH per OPEN" "$open" "$flush"
expect_eq "RELEASE per OPEN" "$open" "$release"
