#!/usr/bin/env bash
# How closely `mcast send --rate` holds its rate, and what `mcast recv` sees of it:
# 10 000 datagrams/s to 16 groups on the loopback interface for 5 s (release build),
# `recv` counting on the same groups. Prints the sender's summary (its rate between the
# first datagram and the last) and the receiver's total, lost and rate.
#
#     benches/send-rate.sh [RATE] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-10000}
SECONDS_=${2:-5}
TARGETS=239.202.0.1+16:47900
cargo build --quiet --release --features cli --bin mcast
MCAST=target/release/mcast
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$MCAST" recv "$TARGETS" -i lo --quiet --json --timeout "$((SECONDS_ + 3))" >"$out" 2>/dev/null &
recv=$!
sleep 0.5
"$MCAST" send "$TARGETS" -i lo --rate "$RATE" --duration "$SECONDS_" --quiet --json
wait "$recv" || true
awk -v rate="$RATE" '
    /"kind":"summary"/ {
        match($0, /"received":[0-9]+/); r += substr($0, RSTART + 11, RLENGTH - 11)
        match($0, /"lost":[0-9]+/); l += substr($0, RSTART + 7, RLENGTH - 7)
        match($0, /"rate":[0-9.]+/); s += substr($0, RSTART + 7, RLENGTH - 7)
        n++
    }
    END { printf "recv: %d rows, %d datagrams, %d lost, %.1f datagrams/s (%.4f of %d)\n", n, r, l, s, s / rate, rate }
' "$out"
