# A server that predates FUSE_OPEN_ATOMIC (libfuse 3.14's passthrough_ll, built
# from Debian's examples) on the patched kernel: its first open is answered
# ENOSYS, the kernel falls back for good, and every open and create succeeds
# with the old requests. Counted from passthrough_ll's own -d log, one line per
# request as it arrives (written before the reply, so complete once the call
# returns).
. "$(dirname "$0")/lib.sh"

pll=${ATOMFS_PASSTHROUGH_LL:-$BUILD/tests/guest/passthrough_ll}
[ -x "$pll" ] || fail "passthrough_ll not built at $pll (libfuse3-dev examples, scripts/build.sh)"

src=$(fresh_source)
mnt=$WORK/mnt
mkdir -p "$mnt"
for i in 1 2; do echo "legacy $i" >"$src/f$i"; done
log=$WORK/pll.log
"$pll" -f -d -o source="$src" "$mnt" >"$log" 2>&1 &
pid=$!
for _ in $(seq 200); do
	awk -v m="$mnt" '$2 == m { f = 1 } END { exit !f }' /proc/self/mounts && break
	sleep 0.05
done
awk -v m="$mnt" '$2 == m { f = 1 } END { exit !f }' /proc/self/mounts || fail "passthrough_ll did not mount: $(tail -3 "$log")"
stop() { umount "$mnt" 2>/dev/null || umount -l "$mnt"; wait "$pid" || true; }

seen=0
# Requests logged since the last call, by opcode name ("???" for unknown
# ones), as "NAME(N)=count" words in $got. Not in a subshell: $seen advances.
new_requests() {
	local total
	total=$(wc -l <"$log")
	got=$(sed -n "$((seen + 1)),${total}p" "$log" |
		sed -n 's/.*opcode: \([A-Z_?]*\) (\([0-9]*\)).*/\1(\2)/p' | sort | uniq -c |
		awk '{ printf "%s=%s ", $2, $1 }')
	seen=$total
}
expect_requests() { # WHAT "OP(N)=count ..." (each listed one exact; others ignored)
	local what=$1 want=$2 w
	new_requests
	for w in $want; do
		local name=${w%%=*} n=${w#*=} have
		have=$(printf '%s\n' $got | awk -F= -v k="$name" '$1 == k { print $2 }')
		expect_eq "$what: $name" "$n" "${have:-0}"
	done
	note "$what: $got"
}

new_requests
expect_eq "open existing" "open=ok type=file size=9 created=0" "$(probe open "$mnt/f1" O_RDONLY)"
expect_requests "first open (ENOSYS, then the old path)" "???(60)=1 LOOKUP(1)=1 OPEN(14)=1"
expect_eq "open another" "open=ok type=file size=9 created=0" "$(probe open "$mnt/f2" O_RDONLY)"
expect_requests "second open (no OPEN_ATOMIC again)" "???(60)=0 LOOKUP(1)=1 OPEN(14)=1"
expect_eq "create new" "open=ok type=file size=0 created=1" "$(probe open "$mnt/new" O_RDWR\|O_CREAT)"
expect_requests "create" "???(60)=0 LOOKUP(1)=1 CREATE(35)=1"
expect_eq "read back through the mount" "legacy 1" "$(cat "$mnt/f1")"
stop
[ -f "$src/new" ] || fail "the created file is missing in the source"
grep -q "opcode: ??? (60)" "$log" || fail "passthrough_ll never saw OPEN_ATOMIC"
