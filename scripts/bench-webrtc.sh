#!/usr/bin/env bash
# The end-to-end WebRTC load benchmark (issue 4): N synthetic DTLS-SRTP browsers in one room, 3 talkers,
# inside a network namespace (server 10.77.0.1, browsers 10.77.0.2). Arguments go to
# `plenum-load webrtc-load` (e.g. --browsers 50,100,250,500 --seconds 30).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product plenum >/dev/null
swift build -c release --product plenum-load >/dev/null
exec scripts/in-netns.sh .build/release/plenum-load webrtc-load --server-address 10.77.0.1 --browser-address 10.77.0.2 "$@"
