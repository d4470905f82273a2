#!/usr/bin/env bash
# Runs a command in a network namespace of its own (shared/TESTING.md): the server's address 10.77.0.1
# and the peers' 10.77.0.2 on a veth pair, exported as PLENUM_TEST_SERVER_IP / PLENUM_TEST_PHONE_IP, and
# the IPv6 pair fd77::1 / fd77::2 (a unique local prefix, RFC 4193) as PLENUM_TEST_SERVER_IP6 / _PHONE_IP6.
# Nothing leaves the machine. Usage: scripts/in-netns.sh COMMAND [ARGS...]
set -euo pipefail
exec unshare -n bash -c '
  set -e
  ip link set lo up
  ip link add veth0 type veth peer name veth1
  ip addr add 10.77.0.1/24 dev veth0
  ip addr add 10.77.0.2/24 dev veth1
  # nodad: usable at once, no duplicate-address detection delay.
  ip -6 addr add fd77::1/64 dev veth0 nodad 2>/dev/null || true
  ip -6 addr add fd77::2/64 dev veth1 nodad 2>/dev/null || true
  ip link set veth0 up
  ip link set veth1 up
  export PLENUM_TEST_SERVER_IP=10.77.0.1 PLENUM_TEST_PHONE_IP=10.77.0.2
  export PLENUM_TEST_SERVER_IP6=fd77::1 PLENUM_TEST_PHONE_IP6=fd77::2
  exec "$@"
' bash "$@"
