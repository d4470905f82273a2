#!/usr/bin/env bash
# Installs the Debian packages Plenum builds, runs and tests with. Safe to run again.
# Usage: scripts/install-deps.sh [--test]   (--test adds the real peers and tools the tests drive)
set -euo pipefail
packages=(pkg-config libopus-dev libspeexdsp-dev libsrtp2-dev libssl-dev libsofia-sip-ua-dev libspandsp-dev zlib1g-dev)
if [[ "${1:-}" == "--test" ]]; then
    packages+=(espeak-ng sox binutils baresip sip-tester iproute2 util-linux python3-pip openssl curl
               chromium chromium-driver)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y "${missing[@]}"
fi
