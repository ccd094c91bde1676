#!/bin/bash
# Harness proof + baseline: iscsi-test-cu on LIO fileio (must pass: it only records).
# guest-timeout: 1200
exec /bin/bash "$(dirname "$0")/conformance.sh" fileio "$@"
