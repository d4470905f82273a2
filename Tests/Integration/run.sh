#!/usr/bin/env bash
# Runs the integration tests inside a network namespace of their own (shared/TESTING.md): the server
# on 10.77.0.1, the peers on 10.77.0.2, joined by a veth pair; nothing leaves the machine.
set -euo pipefail
cd "$(dirname "$0")"
exec unshare -n bash -c '
  set -e
  ip link set lo up
  ip link add veth0 type veth peer name veth1
  ip addr add 10.77.0.1/24 dev veth0
  ip addr add 10.77.0.2/24 dev veth1
  ip link set veth0 up
  ip link set veth1 up
  export PLENUM_TEST_SERVER_IP=10.77.0.1 PLENUM_TEST_PHONE_IP=10.77.0.2
  python3 -m pytest -q "$@"
' bash "$@"
