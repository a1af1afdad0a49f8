#!/usr/bin/env bash
# Flash cost of mcast::addr + mcast::wire on thumbv7em-none-eabihf (Cortex-M4F) at
# opt-level "z": builds the firmware in this folder without and with the `with-mcast`
# feature, prints the section sizes of both and their difference, lists where the added
# bytes go, and looks for code a small firmware should not carry. ../measure-lib.sh
# reads the sizes and symbols.
#
# Usage: boards/flash-size/measure.sh [number of symbols to list, default 25]
set -euo pipefail
top="${1:-25}"
# shellcheck source=../measure-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../measure-lib.sh"

measure_setup thumbv7em-none-eabihf mcast-flash-size
measure_build baseline
measure_build with-mcast --features with-mcast

measure_table baseline with-mcast
measure_grown baseline with-mcast "$top"

echo
measure_check with-mcast "64-bit division" "$DIV64"
measure_check with-mcast "core::fmt" 'core::fmt|Formatter|Display|Debug'
measure_check with-mcast "panic paths" 'panic|unwrap_failed|expect_failed|index_fail|len_mismatch_fail'

# size_of on the target: the `type-sizes` build keeps one static of each type.
measure_build type-sizes --features type-sizes
echo
echo "size_of on $TARGET (bytes), from the type-sizes build:"
"$NM" -S -t d "$OUT/type-sizes.elf" | awk '$4 ~ /^SIZE_OF_/ { sub(/^SIZE_OF_/, "", $4); printf "  %-16s %6d\n", $4, $2 + 0 }' | sort
