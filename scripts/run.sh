#!/usr/bin/env bash
# Runs the Plenum server with its embedded defaults (release build).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product plenum
exec .build/release/plenum serve "$@"
