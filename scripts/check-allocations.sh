#!/usr/bin/env bash
# The mixer's steady state must not allocate: runs a room for 100 and for 300 ticks under valgrind and
# fails unless both runs make exactly the same number of heap allocations (so 0 per tick).
# Counts, not timings: repeatable on any machine. Needs valgrind (scripts/install-deps.sh --test).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product plenum-bench >/dev/null
binary=$(mktemp)
trap 'rm -f "$binary"' EXIT
strip -o "$binary" .build/release/plenum-bench   # valgrind cannot read Swift's DWARF 5
status=0
for mode in levels no-levels per-member; do
    counts=()
    for ticks in 100 300; do
        line=$(valgrind --tool=memcheck "$binary" mixer --members 8 --talkers 3 --all-talking 0 --modes "$mode" \
            --ticks "$ticks" 2>&1 >/dev/null | grep "total heap usage")
        counts+=("$(sed -E 's/.*usage: ([0-9,]+) allocs.*/\1/' <<<"$line" | tr -d ,)")
    done
    per_tick=$(( (counts[1] - counts[0]) / 200 ))
    echo "allocations: $mode: ${counts[0]} after 100 ticks, ${counts[1]} after 300 ticks ($per_tick per tick)"
    [[ "${counts[0]}" == "${counts[1]}" ]] || status=1
done
if ((status)); then echo "check-allocations: the mixer allocates in its steady state" >&2; fi
exit $status
