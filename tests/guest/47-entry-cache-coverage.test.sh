# The entry-cache branches of the atomic open that the other tests do not reach
# (issue 11), with exact counts where every design of the series agrees (an
# uncached or negative name is one OPEN_ATOMIC) and bounds elsewhere:
#  - negative entries with a timeout (atomfs --negative-timeout): a missing name
#    is cached, so a second open or a stat costs nothing; after the timeout an
#    open finds a file created in the source meanwhile with one OPEN_ATOMIC;
#  - a hashed negative dentry + O_CREAT: one OPEN_ATOMIC creates (IN_CREATE seen);
#    with O_EXCL, a name that appeared in the source is EEXIST and the entry is
#    dropped, so the next open finds the file;
#  - the name went away: a cached file removed in the source opens as natively
#    (ENOENT, O_CREAT creates), and a file held open shows "(deleted)" as natively;
#  - the same nodeid with a new generation (atomfs --test-new-generation): the
#    open gets the new inode, the file held open on the old one fails with EIO,
#    exactly as on the LOOKUP + OPEN path (--no-atomic-open), which is the oracle;
#  - the writeback cache and O_TRUNC through a name the kernel has not looked
#    up (a hard link) while the other name has dirty pages: size 0 afterwards,
#    then bytes as natively;
#  - lookups balance: after each part, with atomfs --test-strict-forget (which
#    logs FORGETs of more lookups than it counted), dropping the kernel's caches
#    leaves the server knowing the root only.
. "$(dirname "$0")/lib.sh"

mnt=$WORK/mnt
balanced() {
	expect_all_forgotten
	if grep 'strict:' "$WORK/atomfs.log" >&2; then fail "atomfs saw FORGETs of more lookups than it counted (above)"; fi
}

note "== negative entries cached for 60 s"
src=$(fresh_source)
atomfs_start "$src" "$mnt" --negative-timeout=60 --test-strict-forget
expect_eq "missing name" "open=ENOENT type=- size=- created=0" "$(probe open "$mnt/neg" O_RDONLY)"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0"
expect_eq "missing name again" "open=ENOENT type=- size=- created=0" "$(probe open "$mnt/neg" O_RDONLY)"
stat "$mnt/neg" 2>/dev/null && fail "stat of a missing name succeeded"
expect_counts "OPEN_ATOMIC=0 LOOKUP=0"
echo behind >"$src/neg"
expect_eq "created in the source, still cached as missing" "open=ENOENT type=- size=- created=0" \
	"$(probe open "$mnt/neg" O_RDONLY)"
expect_counts "OPEN_ATOMIC=0 LOOKUP=0"
# O_CREAT on the hashed negative dentry: the server finds the file, opens it
expect_eq "O_CREAT of the cached missing name (exists in the source)" "open=ok type=file size=7 created=0" \
	"$(probe open "$mnt/neg" "O_RDWR|O_CREAT")"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 CREATE=0"
expect_eq "content kept" behind "$(cat "$src/neg")"

probe open "$mnt/neg2" O_RDONLY >/dev/null
counts_reset
expect_eq "O_CREAT of a cached missing name" "open=ok type=file size=0 created=1" "$(probe open "$mnt/neg2" "O_RDWR|O_CREAT")"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 CREATE=0"
[ -f "$src/neg2" ] || fail "neg2 not created in the source"
probe open "$mnt/neg3" O_RDONLY >/dev/null
counts_reset
expect_eq "O_CREAT|O_EXCL of a cached missing name" "open=ok type=file size=0 created=1" \
	"$(probe open "$mnt/neg3" "O_WRONLY|O_CREAT|O_EXCL")"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 CREATE=0"

probe open "$mnt/neg4" O_RDONLY >/dev/null
echo appeared >"$src/neg4"
counts_reset
expect_eq "O_CREAT|O_EXCL of a cached missing name that appeared" "$(probe open "$src/neg4" "O_WRONLY|O_CREAT|O_EXCL")" \
	"$(probe open "$mnt/neg4" "O_WRONLY|O_CREAT|O_EXCL")"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 CREATE=0"
# EEXIST dropped the negative entry: the file is found, with one OPEN_ATOMIC
expect_eq "open after EEXIST" "open=ok type=file size=9 created=0" "$(probe open "$mnt/neg4" O_RDONLY)"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0"
expect_eq "content kept" appeared "$(cat "$src/neg4")"
balanced
atomfs_stop

note "== negative entries expire (1 s)"
src=$(fresh_source)
atomfs_start "$src" "$mnt" --negative-timeout=1 --timeout=1
probe open "$mnt/exp" O_RDONLY >/dev/null
echo later >"$src/exp"
sleep 1.2
counts_reset
expect_eq "created in the source, after the negative timeout" "open=ok type=file size=6 created=0" \
	"$(probe open "$mnt/exp" O_RDONLY)"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPEN=0"
atomfs_stop

# an ENOENT reply, and a negative entry (nodeid 0) with a timeout
for neg in "" --negative-timeout=60; do
	note "== the name went away (revalidating, --nocache $neg)"
	src=$(fresh_source)
	native=$(fresh_source)
	atomfs_start "$src" "$mnt" --nocache --test-strict-forget $neg
	for d in "$src" "$native"; do echo data >"$d/gone"; done
	exec {fm}<"$mnt/gone" {fn}<"$native/gone"
	rm "$src/gone" "$native/gone"
	counts_reset
	expect_eq "open of a name removed in the source" "$(probe open "$native/gone" O_RDONLY)" "$(probe open "$mnt/gone" O_RDONLY)"
	# the open that finds the name gone, and maybe the retry that looks it up
	expect_at_most 2 "OPEN_ATOMIC LOOKUP OPEN"
	expect_eq "name of the file held open" "$(readlink "/proc/$$/fd/$fn" | sed "s|$native|ROOT|")" \
		"$(readlink "/proc/$$/fd/$fm" | sed "s|$mnt|ROOT|")"
	expect_eq "the file held open still reads" "$(cat <&"$fn")" "$(cat <&"$fm")"
	exec {fm}<&- {fn}<&-
	for d in "$src" "$native"; do echo data >"$d/gone2"; done
	cat "$mnt/gone2" >/dev/null
	rm "$src/gone2" "$native/gone2"
	expect_eq "O_CREAT of a name removed in the source" "$(probe open "$native/gone2" "O_RDWR|O_CREAT")" \
		"$(probe open "$mnt/gone2" "O_RDWR|O_CREAT")"
	balanced
	atomfs_stop
done

note "== same nodeid, new generation: the atomic path vs LOOKUP + OPEN"
# steps on one mount; prints what each step saw
newgen_steps() {
	local m=$1 fd out
	echo one >"$src/newgen-f"
	exec {fd}<"$m/newgen-f"
	echo "held: $(head -c 3 <&"$fd")"
	echo two >"$src/newgen-f" # same backing file, new contents
	echo "reopened: $(cat "$m/newgen-f" 2>&1 | sed "s|$m|ROOT|")"
	out=$(cat <&"$fd" 2>&1) && echo "held after: ok $out" || echo "held after: $(echo "$out" | sed 's/^.*: //' | sort -u)"
	{ exec {fd}<&-; } 2>/dev/null && echo "close: ok" || echo "close: error"
	echo "stat: $(stat -c %s "$m/newgen-f" 2>&1)"
	rm "$src/newgen-f"
}
want= got=
for mode in --no-atomic-open atomic; do
	src=$(fresh_source)
	opts=(--nocache --test-new-generation --test-strict-forget)
	[ "$mode" = atomic ] || opts+=("$mode")
	atomfs_start "$src" "$mnt" "${opts[@]}"
	out=$(newgen_steps "$mnt")
	note "$mode: $(echo "$out" | tr '\n' ';')"
	if [ "$mode" = atomic ]; then got=$out; else want=$out; fi
	balanced
	atomfs_stop
done
expect_eq "new generation: the atomic path vs LOOKUP + OPEN" "$want" "$got"
case $got in *"held after: Input/output error"*) ;; *) fail "the file held open on the old generation still worked: the kernel kept the old inode" ;; esac

note "== writeback cache: O_TRUNC through an uncached hard link while the other name has dirty pages"
src=$(fresh_source)
native=$(fresh_source)
atomfs_start "$src" "$mnt" --writeback --timeout=30 --test-strict-forget
for d in "$src" "$native"; do : >"$d/wb" && ln "$d/wb" "$d/wb-link"; done
exec {wm}>"$mnt/wb" {wn}>"$native/wb"
printf 'old-content' >&"$wm" # dirty in the page cache, not written back yet
printf 'old-content' >&"$wn"
counts_reset
expect_eq "O_TRUNC through the uncached link vs native" "$(probe open "$native/wb-link" "O_WRONLY|O_TRUNC")" \
	"$(probe open "$mnt/wb-link" "O_WRONLY|O_TRUNC")"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPEN=0"
expect_eq "size after O_TRUNC" 0 "$(stat -c %s "$mnt/wb")"
printf 'x' >&"$wm" # at offset 11, after the truncation: a hole, as natively
printf 'x' >&"$wn"
exec {wm}>&- {wn}>&-
expect_eq "bytes after O_TRUNC + write vs native" "$(od -An -c "$native/wb" | tr -s ' ')" "$(od -An -c "$mnt/wb" | tr -s ' ')"
balanced
atomfs_stop
expect_eq "source after unmount vs native" "$(md5sum <"$native/wb")" "$(md5sum <"$src/wb")"
