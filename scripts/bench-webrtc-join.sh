#!/usr/bin/env bash
# Browser join time (issue 4): WebSocket open to first audio, median of 20 aiortc joins, in a network
# namespace. Needs `pip install aiortc websockets` and a built plenum (swift build).
set -euo pipefail
cd "$(dirname "$0")/../Tests/Integration"
exec unshare -n bash -c '
  set -e
  ip link set lo up
  ip link add veth0 type veth peer name veth1
  ip addr add 10.77.0.1/24 dev veth0
  ip addr add 10.77.0.2/24 dev veth1
  ip link set veth0 up
  ip link set veth1 up
  export PLENUM_TEST_SERVER_IP=10.77.0.1 PLENUM_TEST_PHONE_IP=10.77.0.2
  python3 bench_join.py
'
