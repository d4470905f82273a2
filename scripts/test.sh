#!/usr/bin/env bash
# Runs the whole test suite from a fresh Debian machine: installs what it needs, builds, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
swift build --build-tests
swift test --skip-build
scripts/sounds/generate.sh --check
scripts/check-allocations.sh
