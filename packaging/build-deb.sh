#!/usr/bin/env bash
# Builds the Debian package of gluster-tcmu from this checkout, with dpkg-deb only:
#   packaging/build-deb.sh                   release build, then target/deb/*.deb
#   packaging/build-deb.sh --binary PATH     package an already built binary instead
# Prints the path of the .deb. The package installs the daemon, its systemd unit, the
# D-Bus policy and activation files, the man page gluster-tcmu(8) and a commented settings
# file (a conffile: removing the package keeps the admin's settings, purging removes them).
# Its maintainer scripts enable the unit on install and restart the daemon on upgrade (the
# kernel holds the LUNs' commands while it restarts); they leave systemd alone when dpkg
# installs into another root (DPKG_ROOT) or systemd is not running.
# DEB_REVISION (default 1) is the Debian revision: the guest tier's systemd scenario builds a
# second revision of the same binary to upgrade to.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=
case "${1:-}" in
  --binary) binary=${2:?--binary needs a path} ;;
  "") ;;
  *) echo "usage: packaging/build-deb.sh [--binary PATH]" >&2; exit 2 ;;
esac
if [ -z "$binary" ]; then
  cargo build --release --quiet --bin gluster-tcmu
  binary=target/release/gluster-tcmu
fi

name=gluster-tcmu
upstream=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
version="$upstream-${DEB_REVISION:-1}"
arch=$(dpkg --print-architecture)
maintainer=${DEB_MAINTAINER:-"gluster-tcmu maintainers <$(git log -1 --format=%ae 2>/dev/null || echo root@localhost)>"}
out=target/deb
root="$out/${name}_${version}_$arch"
rm -rf "$root"
mkdir -p "$root/DEBIAN"

# put MODE SRC DEST: one file into the package tree.
put() { install -D -m "$1" "$2" "$root/$3"; }
put 0755 "$binary" usr/bin/gluster-tcmu
strip --strip-unneeded "$root/usr/bin/gluster-tcmu"
put 0644 systemd/gluster-tcmu.service usr/lib/systemd/system/gluster-tcmu.service
put 0644 systemd/org.kernel.TCMUService1.conf usr/share/dbus-1/system.d/org.kernel.TCMUService1.conf
put 0644 systemd/org.kernel.TCMUService1.service \
  usr/share/dbus-1/system-services/org.kernel.TCMUService1.service
put 0644 packaging/gluster-tcmu.toml etc/gluster-tcmu/gluster-tcmu.toml
put 0644 README.md usr/share/doc/$name/README.md
put 0644 packaging/gluster-tcmu.8 usr/share/man/man8/gluster-tcmu.8
gzip -9n "$root/usr/share/man/man8/gluster-tcmu.8"
put 0644 packaging/copyright usr/share/doc/$name/copyright
changelog="$root/usr/share/doc/$name/changelog.Debian"
printf '%s (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- %s  %s\n' \
  "$name" "$version" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "$maintainer" "$(date -R)" > "$changelog"
gzip -9n "$changelog"
for script in postinst prerm postrm; do
  put 0755 "packaging/$script" "DEBIAN/$script"
done
echo /etc/gluster-tcmu/gluster-tcmu.toml > "$root/DEBIAN/conffiles"

# The packages of the shared libraries the binary links, with the versions it needs
# (dpkg-shlibdeps wants a debian/control to read; a scratch one names the package).
command -v dpkg-shlibdeps >/dev/null || apt-get install -y -qq dpkg-dev >/dev/null
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$name" "$name" > "$scratch/debian/control"
bin=$(realpath "$root/usr/bin/gluster-tcmu")
depends=$(cd "$scratch" && dpkg-shlibdeps -O -e "$bin" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
cat > "$root/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends
Recommends: dbus, targetcli-fb
Conflicts: tcmu-runner
Section: admin
Priority: optional
Description: LIO TCM-User handler for GlusterFS, file and RAM LUNs
 gluster-tcmu serves LIO TCM-User (user:glfs, user:file, user:ram) LUNs: the
 kernel hands every SCSI command of such a LUN to this daemon, which answers it
 from a file on a GlusterFS volume (libgfapi), a local file (io_uring) or RAM.
 It replaces tcmu-runner for these handlers: targetcli finds it on D-Bus as
 org.kernel.TCMUService1.
CONTROL
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out/${name}_${version}_$arch.deb"
