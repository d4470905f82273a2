#!/usr/bin/env bash
# The mixer's steady state must not allocate. A room of 8 (3 talkers) is built as `plenum serve`
# builds it, with the server's observers attached (the browsers' outbox, the meetings); its first
# talker stops and starts every 10 ticks, so talking news are posted throughout (issue 13). The
# bench counts the heap allocations of the mixing thread during 300 measured ticks (its own malloc
# counter, CAllocationCounter) and this fails unless there are none — and unless talking news came.
# Counts, not timings: repeatable on any machine.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product plenum-bench >/dev/null
out=$(.build/release/plenum-bench mixer --members 8 --talkers 3 --all-talking 0 --modes levels,no-levels,per-member \
    --ticks 300 --observers --toggle-every 10 | grep '^allocations: ')
echo "$out"
status=0
while read -r _ mode _ _ count _; do
    [[ "$count" == 0 ]] || { echo "check-allocations: $mode: the mixer allocates in its steady state" >&2; status=1; }
done <<<"$out"
# With RFC 6464 levels the toggling talker is seen at once; without them (Opus decoded to learn
# who talks) the bench's silence frames are not quiet enough to end a talk spurt, so only the
# level-driven modes must show talking news.
if ! grep -qE '^allocations: levels .* [1-9][0-9]* talking events$' <<<"$out"; then
    echo "check-allocations: no talking news in the measured ticks" >&2
    status=1
fi
exit $status
