#!/usr/bin/env bash
# The end-to-end SIP load benchmark (issue 3): N calls in one room, 3 talkers, 60 s each, inside a network
# namespace (server 10.77.0.1, phones 10.77.0.2). Arguments go to `plenum-load sip-load`
# (e.g. --calls 50,100,250 --seconds 60 --codec pcmu).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product plenum >/dev/null
swift build -c release --product plenum-load >/dev/null
exec scripts/in-netns.sh .build/release/plenum-load sip-load --server-address 10.77.0.1 --phone-address 10.77.0.2 "$@"
