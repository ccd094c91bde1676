#!/bin/bash
# Build the QEMU guest image for the real-kernel tier (tests/guest/README in docs/TESTING.md).
#
#   tests/guest/build-image.sh [--print-dir] [--force]
#
# Debian bookworm: kernel linux-image-amd64 (6.1, with configfs uio target_core_mod
# target_core_user target_core_file tcm_loop iscsi_target_mod) plus a debootstrap minbase
# root filesystem with the packages in tests/guest/packages, packed into ext4 with
# `mkfs.ext4 -d` (no loop device, no mount).
#
# The result is cached outside git in
#   ${GT_GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gluster-tcmu/guest}/<hash>/
# keyed by a hash of this script and the package list, so an unchanged list is reused and a
# changed one rebuilds. The directory holds vmlinuz, initrd.img, rootfs.ext4, kernel-version,
# build.log and build-seconds. The last line printed is the directory.
#
#   --print-dir  print the cache directory for the current inputs and exit
#                (exit 0 when an image is there, 1 when it still has to be built)
#   --force      rebuild even if a cached image exists
#
# Environment: GT_GUEST_MIRROR (default http://deb.debian.org/debian),
# GT_GUEST_SECURITY_MIRROR (default http://deb.debian.org/debian-security),
# GT_GUEST_CACHE (cache root, see above).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pkg_file=$here/packages
suite=bookworm
mirror=${GT_GUEST_MIRROR:-http://deb.debian.org/debian}
sec_mirror=${GT_GUEST_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
cache_root=${GT_GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gluster-tcmu/guest}

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$pkg_file" | grep -v '^$')
hash=$(cat "$here/build-image.sh" "$pkg_file" | sha256sum | cut -c1-16)
out=$cache_root/$hash

force=0
for arg in "$@"; do
    case $arg in
        --print-dir) echo "$out"; [[ -f $out/ok ]]; exit ;;
        --force) force=1 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "build-image.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done

if [[ $force == 0 && -f $out/ok ]]; then
    echo "guest image: cached ($(cat "$out/kernel-version"), built in $(cat "$out/build-seconds") s)" >&2
    echo "$out"
    exit 0
fi

[[ $(id -u) == 0 ]] || { echo "build-image.sh: needs root (debootstrap, chroot)" >&2; exit 1; }

# --- host prerequisites ---------------------------------------------------------------
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v zstd >/dev/null || need+=(zstd)
[[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || need+=(debian-archive-keyring)
if ((${#need[@]})); then
    echo "guest image: installing host packages: ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2 || true
    apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

mkdir -p "$cache_root" "$cache_root/debs"
exec 9>"$cache_root/.lock"
flock 9
if [[ $force == 0 && -f $out/ok ]]; then echo "$out"; exit 0; fi

start=$(date +%s)
work=$(mktemp -d "$cache_root/build.XXXXXX")
root=$work/root
log=$work/build.log
mounted=()
cleanup() {
    local m
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
    if grep -q " $work/" /proc/mounts; then
        echo "build-image.sh: mounts left under $work, not removing it" >&2
    else
        rm -rf --one-file-system "$work"
    fi
}
trap cleanup EXIT
step() { echo "guest image: [$(($(date +%s) - start))s] $*" >&2; echo "=== $* ===" >>"$log"; }

step "debootstrap $suite minbase (log: $log)"
debootstrap --variant=minbase --cache-dir="$cache_root/debs" "$suite" "$root" "$mirror" >>"$log" 2>&1 ||
    { tail -30 "$log" >&2; exit 1; }

# Never start services inside the build chroot (glusterd, iscsid would run on the host).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# Smaller, faster image: no docs, man pages or translations.
cat >"$root/etc/dpkg/dpkg.cfg.d/01-gt-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/02-gt-unsafe-io"
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $sec_mirror $suite-security main
EOF
# Initramfs: only what is needed to mount root on virtio-blk (small, fast to unpack under TCG).
mkdir -p "$root/etc/initramfs-tools/conf.d"
echo 'MODULES=list' >"$root/etc/initramfs-tools/conf.d/gt-modules"
echo 'COMPRESS=zstd' >>"$root/etc/initramfs-tools/conf.d/gt-modules"
mkdir -p "$root/etc/initramfs-tools"
printf '%s\n' virtio_pci virtio_blk ext4 crc32c_generic >"$root/etc/initramfs-tools/modules"

for m in proc sys dev dev/pts; do
    mount --bind "/$m" "$root/$m"
    mounted+=("$root/$m")
done
mkdir -p "$cache_root/debs" "$root/var/cache/apt/archives"
mount --bind "$cache_root/debs" "$root/var/cache/apt/archives"
mounted+=("$root/var/cache/apt/archives")

step "apt-get install ${#packages[@]} packages"
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    LC_ALL=C.UTF-8 sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends $(printf '%s ' "${packages[@]}")" \
    >>"$log" 2>&1 || { tail -40 "$log" >&2; exit 1; }

step "tcmu-runner from Debian's source package, with its glfs handler"
# The benchmark's comparison (scenario bench-fio): Debian's binary package is built with
# -Dwith-glfs=false, so the same source (Debian's patches applied) is built here with the
# glfs handler and installed under /opt/tcmu-runner only: no D-Bus activation file and no
# unit, so nothing starts it but the benchmark. Its file handler (file_example.c) is built
# by upstream's CMakeLists but never installed; it is copied beside the glfs one.
echo "deb-src $mirror $suite main" >"$root/etc/apt/sources.list.d/gt-src.list"
tcmu_build_deps="dpkg-dev cmake make gcc libc6-dev pkg-config libglib2.0-dev libkmod-dev libnl-genl-3-dev libglusterfs-dev"
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    LC_ALL=C.UTF-8 sh -ec "
    apt-get update -q
    apt-get install -y -q --no-install-recommends $tcmu_build_deps
    # tcmu-runner's run-time libraries stay when the build's packages go.
    apt-mark manual libglib2.0-0 libkmod2 libnl-3-200 libnl-genl-3-200 libgfapi0
    rm -rf /tmp/tcmu && mkdir /tmp/tcmu && cd /tmp/tcmu
    apt-get source -q tcmu
    cd tcmu-*/
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/opt/tcmu-runner \
        -DCMAKE_INSTALL_RPATH=/opt/tcmu-runner/lib -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON \
        -Dwith-glfs=true -Dwith-rbd=false -Dwith-zbc=false -Dwith-qcow=false -Dwith-fbo=false \
        -Dwith-tcmalloc=false -DSUPPORT_SYSTEMD=OFF
    make -C build -j\$(nproc) tcmu tcmu-runner handler_glfs handler_file
    mkdir -p /opt/tcmu-runner/bin /opt/tcmu-runner/lib/tcmu-runner
    cp build/tcmu-runner /opt/tcmu-runner/bin/
    cp -P build/libtcmu.so* /opt/tcmu-runner/lib/
    cp build/handler_glfs.so build/handler_file.so /opt/tcmu-runner/lib/tcmu-runner/
    dpkg-parsechangelog -S Version >/opt/tcmu-runner/debian-version
    cd / && rm -rf /tmp/tcmu
    apt-get purge -y -q --autoremove $tcmu_build_deps
    for f in /opt/tcmu-runner/bin/tcmu-runner /opt/tcmu-runner/lib/tcmu-runner/*.so; do
        if ldd \$f | grep 'not found'; then exit 1; fi
    done
    /opt/tcmu-runner/bin/tcmu-runner --help | grep -q handler-path
    " >>"$log" 2>&1 || { tail -40 "$log" >&2; exit 1; }
rm -f "$root/etc/apt/sources.list.d/gt-src.list"

step "configure"
# Kernel modules nobody needs in a TCG guest: pruning them shrinks the image by ~40%.
kver=$(basename "$(ls -d "$root"/lib/modules/*)")
for d in drivers/gpu drivers/net/wireless drivers/media drivers/infiniband drivers/staging sound \
    drivers/net/ethernet drivers/bluetooth net/wireless net/mac80211 drivers/iio drivers/hid drivers/input/touchscreen; do
    rm -rf "$root/lib/modules/$kver/kernel/$d"
done
chroot "$root" depmod -a "$kver" >>"$log" 2>&1
chroot "$root" update-initramfs -u -k "$kver" >>"$log" 2>&1

echo gt-guest >"$root/etc/hostname"
cat >"$root/etc/hosts" <<'EOF'
127.0.0.1	localhost
127.0.1.1	gluster-node
::1	localhost ip6-localhost ip6-loopback
EOF
: >"$root/etc/fstab"
# LIO: without these PR OUT with APTPL fails (NOT READY / LU COMMUNICATION FAILURE).
mkdir -p "$root/etc/target" "$root/etc/rtslib-fb-target/pr"
# glusterd: accept clients (gfapi in gluster-tcmu) on unprivileged ports.
gvol=$root/etc/glusterfs/glusterd.vol
if [[ -f $gvol ]] && ! grep -q rpc-auth-allow-insecure "$gvol"; then
    sed -i 's/^end-volume/    option rpc-auth-allow-insecure on\nend-volume/' "$gvol"
fi
echo 'InitiatorName=iqn.2025-01.org.gluster-tcmu:guest' >"$root/etc/iscsi/initiatorname.iscsi"
mkdir -p "$root/share" "$root/bricks"
# PID 1: mount the 9p share and hand over to the runner's init script from the share, so the
# scenarios and the init logic change without rebuilding the image.
cat >"$root/sbin/gt-init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sys /sys 2>/dev/null
modprobe -q 9pnet_virtio; modprobe -q 9p
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none share /share &&
    [ -f /share/guest/guest-init.sh ]; then
    exec /bin/bash /share/guest/guest-init.sh
fi
echo "gt-init: no 9p share with guest/guest-init.sh; shell on console" >&2
/bin/bash </dev/console >/dev/console 2>&1
echo b >/proc/sysrq-trigger
EOF
chmod 755 "$root/sbin/gt-init"
# Under systemd (a scenario with "# guest-init: systemd", booted with init=/lib/systemd/systemd)
# the same script runs as a oneshot service once the system is up; guest-init.sh sees that it
# is not PID 1 and leaves mounts, udev and D-Bus to systemd. Enabled here, it only matters in
# such a boot: gt-init as PID 1 never reads unit files.
cat >"$root/etc/systemd/system/gt-run.service" <<'EOF'
[Unit]
Description=gluster-tcmu guest tier: the scenarios on the 9p share (tests/guest/run.sh)
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/sbin/gt-init
TimeoutStartSec=infinity
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/gt-run.service "$root/etc/systemd/system/multi-user.target.wants/gt-run.service"

for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}"; done
mounted=()
# The .debs stay in $cache_root/debs (shared by all builds); drop apt's lists and caches.
rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin

step "mkfs.ext4 -d"
mkdir -p "$work/out"
cp "$root/boot/vmlinuz-$kver" "$work/out/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$work/out/initrd.img"
used_mb=$(du -sm "$root" | cut -f1)
size_mb=$((used_mb + 8192)) # room for bricks and test files (sparse; runs use a snapshot)
mkfs.ext4 -q -F -L gt-root -N 300000 -E lazy_itable_init=0,lazy_journal_init=0 \
    -d "$root" "$work/out/rootfs.ext4" "${size_mb}M" >>"$log" 2>&1 || { tail -20 "$log" >&2; exit 1; }
echo "$kver" >"$work/out/kernel-version"
printf '%s\n' "${packages[@]}" >"$work/out/packages"
cp "$log" "$work/out/build.log"
echo $(($(date +%s) - start)) >"$work/out/build-seconds"
touch "$work/out/ok"
rm -rf "$out"
mv "$work/out" "$out"
step "done: kernel $kver, rootfs ${used_mb} MiB used, built in $(cat "$out/build-seconds") s"
echo "$out"
