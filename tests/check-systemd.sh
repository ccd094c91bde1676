#!/bin/bash
# Checks the files in systemd/: the unit with systemd-analyze verify, the D-Bus policy
# with xmllint (well-formed and valid against dbus' DTD) and by loading it into a
# dbus-daemon, and the activation file's keys. Any warning fails the check.
#
# Usage: tests/check-systemd.sh   (installs systemd, libxml2-utils and dbus if missing)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dir="$here/systemd"
tmp=$(mktemp -d)
daemon_pid=
cleanup() {
    if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "check-systemd: $*" >&2; exit 1; }

need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null && return
    echo "check-systemd: installing $2 for $1"
    apt-get update -qq && apt-get install -y -qq "$2" >/dev/null
}
need systemd-analyze systemd
need xmllint libxml2-utils
need dbus-daemon dbus

# --- the unit -------------------------------------------------------------------------
# verify insists that ExecStart= names an existing executable, and the daemon is not
# installed here: check a copy whose ExecStart points at a stand-in with the same name.
# Only that path differs; every other line is verified as shipped.
stub="$tmp/bin/gluster-tcmu"
mkdir -p "$tmp/bin"
printf '#!/bin/sh\nexit 0\n' > "$stub"
chmod +x "$stub"
grep -q '^ExecStart=/usr/bin/gluster-tcmu run$' "$dir/gluster-tcmu.service" \
    || fail "ExecStart is not /usr/bin/gluster-tcmu run"
sed "s|/usr/bin/gluster-tcmu|$stub|" "$dir/gluster-tcmu.service" > "$tmp/gluster-tcmu.service"
# systemd-analyze exits 0 on unknown keys and similar; treat any output as a failure.
if ! out=$(systemd-analyze verify --man=no "$tmp/gluster-tcmu.service" 2>&1) || [ -n "$out" ]; then
    echo "$out" >&2
    fail "systemd-analyze verify reported problems in gluster-tcmu.service"
fi
for key in 'Type=dbus' 'BusName=org.kernel.TCMUService1' 'Conflicts=tcmu-runner.service' \
           'Restart=on-failure'; do
    grep -qx "$key" "$dir/gluster-tcmu.service" || fail "gluster-tcmu.service lacks $key"
done

# --- the D-Bus policy -----------------------------------------------------------------
policy="$dir/org.kernel.TCMUService1.conf"
out=$(xmllint --noout "$policy" 2>&1) || { echo "$out" >&2; fail "policy is not well-formed"; }
[ -z "$out" ] || { echo "$out" >&2; fail "xmllint warned about the policy"; }
dtd=/usr/share/xml/dbus-1/busconfig.dtd
if [ -f "$dtd" ]; then
    out=$(xmllint --noout --dtdvalid "$dtd" "$policy" 2>&1) \
        || { echo "$out" >&2; fail "policy does not follow $dtd"; }
    [ -z "$out" ] || { echo "$out" >&2; fail "xmllint warned validating the policy"; }
fi
# dbus-daemon itself must accept it: a bus whose configuration includes the policy.
cat > "$tmp/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:dir=$tmp</listen>
  <auth>EXTERNAL</auth>
  <include>$policy</include>
</busconfig>
EOF
dbus-daemon --config-file="$tmp/bus.conf" --nofork --print-address=3 \
    3>"$tmp/address" 2>"$tmp/daemon.err" &
daemon_pid=$!
for _ in $(seq 50); do
    [ -s "$tmp/address" ] && break
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
done
if [ ! -s "$tmp/address" ]; then
    cat "$tmp/daemon.err" >&2
    fail "dbus-daemon refused a configuration including the policy"
fi
# The only message allowed is the unprivileged fd-limit notice of a non-system bus.
if grep -v 'Failed to set fd limit' "$tmp/daemon.err" | grep -q .; then
    cat "$tmp/daemon.err" >&2
    fail "dbus-daemon warned about the policy"
fi

# --- the activation file --------------------------------------------------------------
activation="$dir/org.kernel.TCMUService1.service"
head_line=$(grep -v '^#' "$activation" | grep -v '^$' | head -n1)
[ "$head_line" = '[D-BUS Service]' ] || fail "activation file must start with [D-BUS Service]"
for key in 'Name=org.kernel.TCMUService1' 'Exec=/usr/bin/gluster-tcmu run' 'User=root' \
           'SystemdService=gluster-tcmu.service'; do
    grep -qx "$key" "$activation" || fail "activation file lacks $key"
done
unknown=$(grep -v '^#' "$activation" | grep -v '^$' | grep -v '^\[D-BUS Service\]$' \
    | grep -Ev '^(Name|Exec|User|SystemdService)=' || true)
[ -z "$unknown" ] || fail "activation file has unexpected lines: $unknown"

echo "check-systemd: all systemd and D-Bus files are clean"
