#!/usr/bin/env bash
# The Debian package on a clean Debian 12: builds the .deb with CPack from the build tree, makes
# a minimal bookworm system with debootstrap (cached as a tarball in the build tree), installs
# the .deb there with apt (which must resolve every dependency from Debian alone), then runs
# `leakhunt record` on a leaking program and `leakhunt suspects` from /usr/bin, and checks that
# the leaking function is named. Needs root (chroot, mount) and the Debian mirror.
# Usage: test_deb.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: test_deb.sh BUILD_DIR}" && pwd)
mirror=${LEAKHUNT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for chroot"; exit 77; }
command -v debootstrap >/dev/null || { echo "debootstrap is missing: run scripts/install-deps.sh"; exit 1; }

work=$(mktemp -d /tmp/leakhunt-deb.XXXXXX)
root=$work/root
cleanup() {
  umount "$root/proc" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== the package"
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" > cpack.log 2>&1) \
  || { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/leakhunt_*.deb)
dpkg-deb --info "$deb" | sed -n 's/^ Depends: /depends: /p'
contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/leakhunt ./usr/lib/leakhunt/libleakhunt_agent.so; do
  grep -q " $f\$" <<<"$contents" || { echo "FAIL: $f is not in the package"; echo "$contents"; exit 1; }
done

echo "== a clean Debian 12 (debootstrap minbase)"
cache=$build/package-cache/bookworm-minbase.tar
if [ ! -f "$cache" ]; then
  mkdir -p "$(dirname "$cache")"
  debootstrap --variant=minbase bookworm "$work/fresh" "$mirror" > "$work/debootstrap.log" 2>&1 \
    || { tail -30 "$work/debootstrap.log"; exit 1; }
  tar -C "$work/fresh" -cf "$cache.tmp" . && mv "$cache.tmp" "$cache"
  rm -rf "$work/fresh"
fi
mkdir -p "$root"
tar -C "$root" -xf "$cache"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"

echo "== apt install the package"
cp "$deb" "$root/tmp/"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  "/tmp/$(basename "$deb")" > "$work/apt.log" 2>&1 || { tail -30 "$work/apt.log"; exit 1; }
[ -x "$root/usr/bin/leakhunt" ] || { echo "FAIL: /usr/bin/leakhunt not installed"; exit 1; }

echo "== record + suspects from /usr/bin"
cp "$build/bin/victim_leak" "$root/tmp/victim_leak"
chroot "$root" /usr/bin/leakhunt record --all --snapshot-every 1s -o /tmp/rec -- \
  /tmp/victim_leak --rate 4M --seconds 5 > "$work/record.log" 2>&1 \
  || { cat "$work/record.log"; exit 1; }
chroot "$root" /usr/bin/leakhunt suspects /tmp/rec > "$work/suspects.txt" 2>&1 \
  || { cat "$work/suspects.txt"; exit 1; }
cat "$work/suspects.txt"
grep -Eq "^ 1\. .*allocate_touched .*grows" "$work/suspects.txt" \
  || { echo "FAIL: suspects does not name the leaking function"; exit 1; }
echo "package: ok"
