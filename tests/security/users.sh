# Temporary unprivileged users for the security tests (sourced after
# mountlib.sh). atfs-u1 and atfs-u2 share the group atfs-g, atfs-u3 is in no
# shared group. They are removed at exit (and before, if a killed run left
# them behind). One test at a time holds them (a lock, see create_users).
USERS=(atfs-u1 atfs-u2 atfs-u3)
SHARED_GROUP=atfs-g
remove_users() {
	local u
	for u in "${USERS[@]}"; do
		id "$u" >/dev/null 2>&1 && userdel "$u" 2>/dev/null
		getent group "$u" >/dev/null && groupdel "$u" 2>/dev/null
	done
	getent group $SHARED_GROUP >/dev/null && groupdel $SHARED_GROUP 2>/dev/null
	return 0
}
create_users() {
	command -v useradd >/dev/null || skip "useradd missing (package passwd)"
	# Two runs on one machine (two checkouts, two CI jobs) would delete each
	# other's users: the lock is held until this test's process exits.
	exec {users_lock}>/run/lock/atomfs-test-users.lock
	flock -w 600 "$users_lock" || { fail "another run has held the test users for 10 minutes"; return 1; }
	remove_users
	groupadd $SHARED_GROUP || { fail "groupadd"; return 1; }
	useradd -M -N -g users -G $SHARED_GROUP -s /usr/sbin/nologin atfs-u1 &&
		useradd -M -N -g users -G $SHARED_GROUP -s /usr/sbin/nologin atfs-u2 &&
		useradd -M -N -g users -s /usr/sbin/nologin atfs-u3 || { fail "useradd"; return 1; }
	CLEANUP_HOOK=remove_users
	say "users: $(id atfs-u1); $(id atfs-u2); $(id atfs-u3)"
}
# as USER CMD...: runs CMD with the user's uid, primary gid and groups.
as() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}
# compare_with_native LABEL OP NATIVE MOUNT MIN: every user runs fsops.py OP
# on the native tree and on the mount; at least MIN operations must run and
# every outcome must be the same; %u in NATIVE or MOUNT stands for the user.
# Outputs stay in $WORK/{native,mount}-LABEL-USER.out.
compare_with_native() {
	local label=$1 op=$2 native=$3 mount=$4 min=$5 u n out
	for u in "${USERS[@]}"; do
		out=$WORK/native-$label-$u.out
		as "$u" $PY "$FSOPS" "$op" "${native//%u/$u}" >"$out" 2>&1
		as "$u" $PY "$FSOPS" "$op" "${mount//%u/$u}" >"$WORK/mount-$label-$u.out" 2>&1
		n=$(wc -l <"$out")
		say "$label: $u ran $n operations ($(grep -c -- '-> EACCES' "$out") EACCES natively)"
		[ "$n" -ge "$min" ] || { fail "$label: $u: only $n operations ran:"; head -5 "$out"; }
		if diff -u "$out" "$WORK/mount-$label-$u.out"; then
			ok "$label: $u: every outcome equals native"
		else
			fail "$label: $u: outcomes differ from native (- native, + mount)"
		fi
	done
}
# The system interpreter: a user's python3 shim (pyenv under /root) is not
# reachable by the test users.
PY=/usr/bin/python3
[ -x $PY ] || PY=$(command -v python3)
