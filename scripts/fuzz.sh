#!/usr/bin/env bash
# Fuzzes one network-facing parser with libFuzzer (issue 11): scripts/fuzz.sh TARGET [libFuzzer options]
# Targets: sip sdp stun rtp rtcp signalling api. By default 10 million runs or one hour, whichever
# comes first, on a copy of the kept corpus; new crash reproducers land in .build/fuzz/crashes/TARGET and
# belong in Tests/PlenumFuzzTargetsTests/Corpus/TARGET once fixed (the test suite replays them).
# Not part of CI: a long run is a benchmark-sized job.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET [libFuzzer options]}
shift
swift build -c release --product plenum-fuzz --build-path .build/fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xcc -fsanitize=fuzzer-no-link,address
work=.build/fuzz/corpus/$target
mkdir -p "$work" ".build/fuzz/crashes/$target"
cp -n Tests/PlenumFuzzTargetsTests/Corpus/"$target"/* "$work"/ 2>/dev/null || true
PLENUM_FUZZ_TARGET=$target exec .build/fuzz/release/plenum-fuzz -runs=10000000 -max_total_time=3600 \
    -max_len=65536 -artifact_prefix=".build/fuzz/crashes/$target/" "$@" "$work"
