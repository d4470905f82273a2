#!/usr/bin/env bash
# Runs the integration tests inside a network namespace of their own (scripts/in-netns.sh): the server
# on 10.77.0.1, the peers on 10.77.0.2; nothing leaves the machine. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
exec ../../scripts/in-netns.sh python3 -m pytest -q "$@"
