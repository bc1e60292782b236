#!/usr/bin/env bash
# Builds the patched guest kernel: Debian's linux-source-6.12 + kernel/patches/*.patch,
# configured from tinyconfig + kernel/config/guest.config (+ debug.config with --debug).
#
# usage: vm/build-kernel.sh [--debug] [--print-path]
#   --print-path  only print the bzImage path the current inputs map to (no build)
# Prints the bzImage path as the last line of stdout. Cached under
# ${ATOMFS_CACHE:-/var/cache/atomfs}/kernel-<hash>, hash over (source package version,
# patches, config fragments, debug flag): a second run with the same inputs does not rebuild.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${ATOMFS_CACHE:-/var/cache/atomfs}
tarball=${ATOMFS_KERNEL_TARBALL:-/usr/src/linux-source-6.12.tar.xz}

debug=0 print_only=0
while [ $# -gt 0 ]; do
	case $1 in
	--debug) debug=1 ;;
	--print-path) print_only=1 ;;
	*) echo "build-kernel: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done

die() { echo "build-kernel: error: $*" >&2; exit 1; }
[ -r "$tarball" ] || die "$tarball missing (run scripts/setup.sh: it installs linux-source-6.12)"

fragments=("$top/kernel/config/guest.config")
[ "$debug" = 1 ] && fragments+=("$top/kernel/config/debug.config")
shopt -s nullglob
patches=()
for p in "$top"/kernel/patches/*.patch; do
	# the cover letter is a mail without a diff; it does not change the image
	[ "${p##*/}" = 0000-cover-letter.patch ] || patches+=("$p")
done
shopt -u nullglob

# The cache key: everything that changes the resulting bzImage. Bump recipe_version
# when a change below alters the image (the configuration steps, the make flags).
recipe_version=1
pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || stat -c %s-%Y "$tarball")
key=$( {
	echo "source $pkgver debug $debug"
	for f in "${patches[@]}" "${fragments[@]}"; do echo "== ${f#"$top"/}"; cat "$f"; done
	echo "recipe $recipe_version"
} | sha256sum | cut -c1-16)
variant=$([ "$debug" = 1 ] && echo debug || echo normal)
dir="$cache/kernel-$variant-$key"
image="$dir/bzImage"

if [ "$print_only" = 1 ]; then echo "$image"; exit 0; fi
if [ -s "$image" ]; then
	echo "build-kernel: cached $variant kernel ($key, ${#patches[@]} patches)" >&2
	echo "$image"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock-$variant-$key"
flock 9 # two runs with the same inputs wait for each other instead of racing
if [ -s "$image" ]; then echo "$image"; exit 0; fi

start=$(date +%s)
src="$dir/src"
rm -rf "$dir"
mkdir -p "$src"
echo "build-kernel: unpacking $(basename "$tarball") into $src" >&2
tar -xJf "$tarball" -C "$src" --strip-components=1

for p in "${patches[@]}"; do
	echo "build-kernel: applying ${p#"$top"/}" >&2
	if ! patch -p1 -d "$src" --forward --batch --quiet <"$p" >"$dir/patch.log" 2>&1; then
		cat "$dir/patch.log" >&2
		rm -rf "$dir"
		die "patch ${p#"$top"/} does not apply to linux-source-6.12 ($pkgver)"
	fi
done

echo "build-kernel: configuring ($variant: tinyconfig + ${fragments[*]##*/})" >&2
make -C "$src" -s ARCH=x86_64 tinyconfig >&2
# (run from $dir: merge_config.sh leaves temp files in the current directory)
(cd "$dir" && "$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "${fragments[@]}") >"$dir/merge.log" 2>&1 ||
	{ cat "$dir/merge.log" >&2; die "merge_config failed"; }
make -C "$src" -s ARCH=x86_64 olddefconfig >&2

# Kconfig silently drops options whose dependencies are missing: check each one.
missing=()
for f in "${fragments[@]}"; do
	while IFS= read -r line; do
		case $line in CONFIG_*=*) ;; *) continue ;; esac
		grep -qxF "$line" "$src/.config" || missing+=("$line (${f##*/})")
	done <"$f"
done
if [ ${#missing[@]} -gt 0 ]; then
	printf '  not set after olddefconfig: %s\n' "${missing[@]}" >&2
	die "kernel config is missing options the guest needs; fix kernel/config/"
fi

echo "build-kernel: building bzImage with -j$(nproc) (log: $dir/build.log)" >&2
if ! make -C "$src" ARCH=x86_64 -j"$(nproc)" bzImage >"$dir/build.log" 2>&1; then
	grep -E 'error|Error' "$dir/build.log" | head -40 >&2 || tail -40 "$dir/build.log" >&2
	die "kernel build failed (full log: $dir/build.log)"
fi
cp "$src/arch/x86/boot/bzImage" "$image.tmp"
cp "$src/.config" "$dir/config"
cp "$src/System.map" "$dir/System.map" # vm/run.sh names the addresses of kernel reports
mv "$image.tmp" "$image"
# The tree is ~2 GB once built; keep it only on request (for addr2line and the like).
[ "${ATOMFS_KEEP_KERNEL_SRC:-0}" = 1 ] || rm -rf "$src"
# Keep the three newest kernels of this variant; older inputs are unlikely to return.
ls -1dt "$cache"/kernel-"$variant"-* 2>/dev/null | tail -n +4 | xargs -r rm -rf
echo "build-kernel: built $variant kernel in $(( $(date +%s) - start ))s" >&2
echo "$image"
