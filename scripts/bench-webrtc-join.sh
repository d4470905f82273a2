#!/usr/bin/env bash
# Browser join time (issue 4): WebSocket open to first audio, median of 20 aiortc joins, in a network
# namespace. Needs `pip install aiortc websockets` and a built plenum (swift build).
set -euo pipefail
cd "$(dirname "$0")/../Tests/Integration"
exec ../../scripts/in-netns.sh python3 bench_join.py
