#!/usr/bin/env bash
# Floods (issue 11), each bounded, each while a legitimate call goes on: OPTIONS, REGISTER and INVITE
# floods from one and from 64 sources, 500 slow HTTP connections, 5,000 silent WebSockets, 10,000
# meetings and a UDP flood on the media ports; prints a table of the server's memory and CPU and the
# legitimate call's packet rate and longest gap (docs/performance.md). Runs in a network namespace of
# its own; needs a built plenum (swift build). Arguments pick cases (options-one options-many
# register-many invite-many slowloris websockets meetings media); none: all.
set -euo pipefail
cd "$(dirname "$0")/../Tests/Integration"
exec ../../scripts/in-netns.sh python3 bench_floods.py "$@"
