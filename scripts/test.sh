#!/usr/bin/env bash
# Runs the whole test suite from a fresh Debian machine: installs what it needs, builds, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
# Real peers from PyPI: aiortc (WebRTC), websockets (signalling), selenium (drives Debian's headless
# Chromium), bigbluebutton_api_python (a BigBlueButton API client), pytest and numpy (the checks).
python_packages=(pytest numpy aiortc websockets selenium bigbluebutton_api_python)
python3 -m pip install --quiet --disable-pip-version-check "${python_packages[@]}" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "${python_packages[@]}"
swift build --build-tests
swift test --skip-build
scripts/sounds/generate.sh --check
scripts/check-allocations.sh
# Real peers (baresip phones) against the real server, in a network namespace of their own.
Tests/Integration/run.sh
