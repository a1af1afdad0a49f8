#!/usr/bin/env bash
# Flash and RAM of this firmware in its three builds, which differ only in how they do
# multicast:
#
#   smoltcp        smoltcp alone, its `multicast` feature off (no group can be joined)
#   smoltcp-igmp   smoltcp's own IGMP (`multicast` on), the NIC passing all multicast
#   mcast          the mcast glue and LAN9118 filter driver (the default build)
#
# Each is a release build (opt-level "z", LTO, one codegen unit) for thumbv7m-none-eabi,
# in its own target folder. Sizes are the ELF's section sizes, read with GNU binutils
# (arm-none-eabi-size, arm-none-eabi-nm; Debian package binutils-arm-none-eabi) or, if
# they are missing, LLVM's llvm-size/llvm-nm. Flash is .text + .rodata (the vector table
# and .data's initial values are listed apart); RAM is .data + .bss, which holds every
# buffer and the whole application state (they are statics); the stack is not counted.
#
# Last, attribute.py splits each build's .text by the source it was written in.
#
# Usage: boards/qemu-mps2-an385/measure.sh [number of symbols to list, default 30]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
target=thumbv7m-none-eabi
top="${1:-30}"

if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    rustup target add "$target"
fi

# shellcheck source=/dev/null
source "$here/../../benches/arm-tools.sh"

out="$here/target/measure"
mkdir -p "$out"
build() { # variant, cargo feature arguments...
    local variant="$1"
    shift
    env -u CARGO_TARGET_DIR cargo build --quiet --release --target "$target" \
        --target-dir "$out/$variant" "$@"
    cp "$out/$variant/$target/release/mcast-qemu-mps2-an385" "$out/$variant.elf"
}
build smoltcp --no-default-features
build smoltcp-igmp --no-default-features --features smoltcp-igmp
build mcast

section() { # elf, section name
    "$SIZE" -A "$1" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'
}
flash() { echo $(($(section "$1" .text) + $(section "$1" .rodata))); }
ram() { echo $(($(section "$1" .data) + $(section "$1" .bss))); }

echo "tools: $SIZE, $NM"
echo "rustc: $(rustc -V)"
echo
printf '%-24s %12s %14s %10s\n' "" smoltcp smoltcp-igmp mcast
for s in .vector_table .text .rodata .data .bss; do
    printf '%-24s %12d %14d %10d\n' "$s" \
        "$(section "$out/smoltcp.elf" "$s")" "$(section "$out/smoltcp-igmp.elf" "$s")" "$(section "$out/mcast.elf" "$s")"
done
fs=$(flash "$out/smoltcp.elf") fi=$(flash "$out/smoltcp-igmp.elf") fm=$(flash "$out/mcast.elf")
rs=$(ram "$out/smoltcp.elf") ri=$(ram "$out/smoltcp-igmp.elf") rm=$(ram "$out/mcast.elf")
printf '%-24s %12d %14d %10d\n' "flash (.text+.rodata)" "$fs" "$fi" "$fm"
printf '%-24s %12d %14d %10d\n' "RAM (.data+.bss)" "$rs" "$ri" "$rm"
echo
printf 'smoltcp multicast over smoltcp alone: flash %+d, RAM %+d\n' $((fi - fs)) $((ri - rs))
printf 'mcast over smoltcp alone:             flash %+d, RAM %+d\n' $((fm - fs)) $((rm - rs))
printf 'mcast over smoltcp multicast:         flash %+d, RAM %+d (target: flash at most +6144)\n' \
    $((fm - fi)) $((rm - ri))

# Code and read-only data symbols (what flash holds; not the statics in RAM) as
# "size<TAB>name", hash suffixes dropped so that the builds compare.
symbols() {
    "$NM" -C -S -t d --size-sort "$1" |
        awk 'NF >= 4 && $3 ~ /^[tTrRwW]$/ { size = $2 + 0; $1 = $2 = $3 = ""; sub(/^ +/, ""); sub(/::h[0-9a-f]+$/, ""); print size "\t" $0 }' |
        sort -t$'\t' -k2
}
symbols "$out/smoltcp-igmp.elf" >"$out/smoltcp-igmp.syms"
symbols "$out/mcast.elf" >"$out/mcast.syms"

echo
echo "largest symbols the mcast build adds or grows over smoltcp-igmp (bytes; inlined code counts in its caller):"
join -t$'\t' -1 2 -2 2 -a 2 -e 0 -o 2.1,1.1,0 "$out/smoltcp-igmp.syms" "$out/mcast.syms" |
    awk -F'\t' '$1 > $2 { printf "%6d  %s%s\n", $1 - $2, $3, ($2 > 0 ? "  (grew from " $2 ")" : "") }' |
    sort -rn | awk -v n="$top" 'NR <= n'

echo
echo "largest symbols smoltcp-igmp has, or has larger, than the mcast build (bytes):"
join -t$'\t' -1 2 -2 2 -a 1 -e 0 -o 1.1,2.1,0 "$out/smoltcp-igmp.syms" "$out/mcast.syms" |
    awk -F'\t' '$1 > $2 { printf "%6d  %s%s\n", $1 - $2, $3, ($2 > 0 ? "  (shrank to " $2 ")" : "") }' |
    sort -rn | awk 'NR <= 10'

echo
for variant in smoltcp smoltcp-igmp mcast; do
    hits=$(awk -F'\t' '$2 ~ /__aeabi_uldivmod|__aeabi_ldivmod|__udivmoddi4|__divmoddi4/ { printf " %s (%d)", $2, $1 }' \
        <(symbols "$out/$variant.elf"))
    echo "64-bit division in $variant:${hits:- none}"
done

echo
if command -v python3 >/dev/null; then
    # Inlined code counted for the function it was written in, not the one it landed in.
    python3 "$here/attribute.py" "$out/smoltcp.elf" "$out/smoltcp-igmp.elf" "$out/mcast.elf"
else
    echo "python3 not found: skipping the attribution of .text by source (attribute.py)"
fi
