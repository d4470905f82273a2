#!/usr/bin/env bash
# Runs a command in a network namespace of its own (shared/TESTING.md): the server's address 10.77.0.1
# and the peers' 10.77.0.2 on a veth pair, exported as PLENUM_TEST_SERVER_IP / PLENUM_TEST_PHONE_IP.
# Nothing leaves the machine. Usage: scripts/in-netns.sh COMMAND [ARGS...]
set -euo pipefail
exec unshare -n bash -c '
  set -e
  ip link set lo up
  ip link add veth0 type veth peer name veth1
  ip addr add 10.77.0.1/24 dev veth0
  ip addr add 10.77.0.2/24 dev veth1
  ip link set veth0 up
  ip link set veth1 up
  export PLENUM_TEST_SERVER_IP=10.77.0.1 PLENUM_TEST_PHONE_IP=10.77.0.2
  exec "$@"
' bash "$@"
