#!/usr/bin/env bash
# The video forwarding benchmark (issue 15): P synthetic cameras (~500 kbit/s of VP8-shaped packets)
# forwarded to S synthetic subscribers over DTLS-SRTP, each run beside a baseline without cameras,
# inside a network namespace (server 10.77.0.1, browsers 10.77.0.2). Arguments go to
# `plenum-load video-load` (e.g. --runs 1x100,4x50 --seconds 20).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product plenum >/dev/null
swift build -c release --product plenum-load >/dev/null
exec scripts/in-netns.sh .build/release/plenum-load video-load --server-address 10.77.0.1 --browser-address 10.77.0.2 "$@"
