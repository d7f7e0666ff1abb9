#!/bin/sh
# run.sh [HARNESS]: the session's interleaved matrix (order 0: 4096 held, 200,000 pairs;
# order 9: 8 and 1024 held, 20,000 pairs), REPS repetitions (default 9), with lockfree-prev.
H=${1:-./harness}
A="llfree-c lockfree lockfree-prev buddy-pcp"
echo "# start: $(date -u +%FT%TZ) uptime:$(uptime)"
for w in repeat random bulk; do for t in 1 2 4; do $H 0 $w $t 4096 200000 ${REPS:-9} $A 2>&1; done; done
for w in repeat random; do for t in 1 2; do for n in 8 1024; do $H 9 $w $t $n 20000 ${REPS:-9} $A 2>&1; done; done; done
echo "# end: $(date -u +%FT%TZ) uptime:$(uptime)"
