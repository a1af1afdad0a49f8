#!/usr/bin/env bash
# Flash and RAM of this firmware in its three builds, which differ only in how they do
# multicast:
#
#   embassy-net    embassy-net alone, its `multicast` feature off (no group can be joined)
#   smoltcp-igmp   smoltcp's own IGMP (embassy-net's `multicast` on), the NIC passing all
#                  multicast
#   mcast          the mcast embassy glue and LAN9118 filter driver (the default build)
#
# Each is a release build (opt-level "z", LTO, one codegen unit) for thumbv7m-none-eabi,
# in its own target folder; ../measure-lib.sh reads the sizes and symbols (flash is
# .text + .rodata; RAM is .data + .bss, which holds every buffer, the stack's resources
# and the tasks, as they are statics). Last, ../qemu-mps2-an385/attribute.py splits each
# build's .text by the source it was written in.
#
# Usage: boards/qemu-mps2-an385-embassy/measure.sh [number of symbols to list, default 30]
set -euo pipefail
top="${1:-30}"
# shellcheck source=../measure-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../measure-lib.sh"

measure_setup thumbv7m-none-eabi mcast-qemu-mps2-an385-embassy
measure_build embassy-net --no-default-features
measure_build smoltcp-igmp --no-default-features --features smoltcp-igmp
measure_build mcast

measure_table embassy-net smoltcp-igmp mcast
echo
measure_compare embassy-net smoltcp-igmp "smoltcp multicast over embassy-net alone"
measure_compare embassy-net mcast "mcast over embassy-net alone"
measure_compare smoltcp-igmp mcast "mcast over smoltcp multicast"

measure_grown smoltcp-igmp mcast "$top"
measure_grown mcast smoltcp-igmp 10

echo
for variant in embassy-net smoltcp-igmp mcast; do
    measure_check "$variant" "64-bit division" "$DIV64"
done

echo
if command -v python3 >/dev/null; then
    # Inlined code counted for the function it was written in, not the one it landed in.
    python3 ../qemu-mps2-an385/attribute.py "$OUT/embassy-net.elf" "$OUT/smoltcp-igmp.elf" "$OUT/mcast.elf"
else
    echo "python3 not found: skipping the attribution of .text by source (attribute.py)"
fi
