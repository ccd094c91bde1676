#!/usr/bin/env bash
# Builds the Debian package (packaging/build-deb.sh, from the debug binary cargo test
# built, or a release build if there is none) and checks it: its control data and file
# list; an install into a scratch root (dpkg --root, maintainer scripts run chrootless,
# so they must leave systemd alone there); that the installed settings file parses, the
# binary answers --help and the man page renders without warnings; that removing the
# package keeps the admin's edited settings and a reinstall keeps them too, and that
# purging removes them; and lintian (installed by tests/install-host-deps.sh).
#   tests/check-package.sh
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "check-package: $*" >&2; exit 1; }

if [ -x target/debug/gluster-tcmu ]; then
  deb=$(packaging/build-deb.sh --binary target/debug/gluster-tcmu)
else
  deb=$(packaging/build-deb.sh)
fi
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)-1"

# --- control data and contents ---------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = gluster-tcmu ] || fail "Package is $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version is $(field Version), not $version"
[[ "$(field Depends)" == *libgfapi0* ]] || fail "Depends lacks libgfapi0: $(field Depends)"
[[ "$(field Conflicts)" == *tcmu-runner* ]] || fail "no Conflicts with tcmu-runner"
[ "$(dpkg-deb -I "$deb" conffiles)" = /etc/gluster-tcmu/gluster-tcmu.toml ] ||
  fail "the settings file is not the one conffile"
contents=$(dpkg-deb -c "$deb" | awk '{ print $1, $2, $6 }')
for want in \
  "-rwxr-xr-x root/root ./usr/bin/gluster-tcmu" \
  "-rw-r--r-- root/root ./usr/lib/systemd/system/gluster-tcmu.service" \
  "-rw-r--r-- root/root ./usr/share/dbus-1/system.d/org.kernel.TCMUService1.conf" \
  "-rw-r--r-- root/root ./usr/share/dbus-1/system-services/org.kernel.TCMUService1.service" \
  "-rw-r--r-- root/root ./etc/gluster-tcmu/gluster-tcmu.toml" \
  "-rw-r--r-- root/root ./usr/share/doc/gluster-tcmu/copyright" \
  "-rw-r--r-- root/root ./usr/share/doc/gluster-tcmu/changelog.Debian.gz" \
  "-rw-r--r-- root/root ./usr/share/man/man8/gluster-tcmu.8.gz"; do
  grep -qxF -- "$want" <<<"$contents" || fail "missing from the package: $want"
done
for script in postinst prerm postrm; do
  dpkg-deb -I "$deb" "$script" | sh -n || fail "$script does not parse"
done

# --- install, remove, reinstall, purge in a scratch root -------------------------------
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
dpkg_root() {
  dpkg --root="$root" --force-script-chrootless --force-depends --force-not-root \
    --log=/dev/null "$@" >"$root/dpkg.out" 2>&1 || { cat "$root/dpkg.out" >&2; return 1; }
}
state() { dpkg-query --root="$root" -W -f='${db:Status-Abbrev}' gluster-tcmu 2>/dev/null; }
settings="$root/etc/gluster-tcmu/gluster-tcmu.toml"

dpkg_root -i "$deb" || fail "dpkg -i into a scratch root failed"
[ "$(state)" = "ii " ] || fail "not installed after dpkg -i: '$(state)'"
"$root/usr/bin/gluster-tcmu" --help | grep -q "check-config" || fail "--help lacks check-config"
# The installed man page renders without a warning (man-db and groff-base from
# tests/install-host-deps.sh).
page="$root/usr/share/man/man8/gluster-tcmu.8.gz"
man_out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) ||
  fail "man cannot render $page"
[ -z "$man_out" ] || fail "the man page renders with warnings: $man_out"
LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q "^SETTINGS FILE" ||
  fail "the rendered man page lacks its SETTINGS FILE section"
"$root/usr/bin/gluster-tcmu" check-config --config "$settings" ram/ >/dev/null ||
  fail "the shipped settings file does not parse"
# Every commented key, uncommented, must parse too: the comments are the reference.
sed 's/^#\([a-z_]* = \)/\1/; s/^#\[exports\]/[exports]/' "$settings" >"$root/all-keys.toml"
"$root/usr/bin/gluster-tcmu" check-config --config "$root/all-keys.toml" ram/ >/dev/null ||
  fail "the settings file's commented keys do not parse when uncommented"

echo '# the admin was here' >>"$settings"
dpkg_root -r gluster-tcmu || fail "dpkg -r failed"
[ "$(state)" = "rc " ] || fail "not in config-files state after dpkg -r: '$(state)'"
[ ! -e "$root/usr/bin/gluster-tcmu" ] || fail "dpkg -r left the binary"
grep -q 'the admin was here' "$settings" || fail "dpkg -r did not keep the admin's settings"

dpkg_root --force-confold -i "$deb" || fail "reinstall failed"
grep -q 'the admin was here' "$settings" || fail "a reinstall replaced the admin's settings"
dpkg_root --purge gluster-tcmu || fail "dpkg --purge failed"
[ ! -e "$settings" ] || fail "dpkg --purge kept the settings file"
[ -z "$(state)" ] || [ "$(state)" = "pn " ] || fail "still known after purge: '$(state)'"

# --- lintian, when installed ------------------------------------------------------------
if command -v lintian >/dev/null; then
  # No error or warning but the first changelog entry closing no bug.
  if lintian --fail-on error,warning --suppress-tags initial-upload-closes-no-bugs "$deb" >"$root/lintian.out" 2>&1; then
    :
  else
    cat "$root/lintian.out" >&2
    fail "lintian reports errors or warnings"
  fi
else
  echo "check-package: lintian not installed; skipped its checks"
fi
echo "check-package: $deb is sound"
