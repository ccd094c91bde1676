#!/bin/bash
# tcm-loop-fio on a gluster-tcmu user:glfs LUN (replica-3 volume on loopback).
# guest-timeout: 900
# guest-needs: gluster
exec /bin/bash "$(dirname "$0")/tcm-loop-fio.sh" user:glfs "$@"
