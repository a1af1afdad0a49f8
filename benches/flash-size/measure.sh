#!/usr/bin/env bash
# Flash cost of mcast::addr + mcast::wire on thumbv7em-none-eabihf (Cortex-M4F) at
# opt-level "z": builds the firmware in this folder without and with the `with-mcast`
# feature, prints the section sizes of both and their difference, and lists where the
# added bytes go.
#
# Sizes are read with GNU binutils for ARM (arm-none-eabi-size, arm-none-eabi-nm),
# installed from the Debian package binutils-arm-none-eabi when missing and apt-get can
# run; LLVM's llvm-size/llvm-nm (rustup's llvm-tools or the system's) are used if that
# is not possible. Both read the same section headers, so the numbers agree.
#
# Usage: benches/flash-size/measure.sh [number of symbols to list, default 25]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
target=thumbv7em-none-eabihf
top="${1:-25}"

if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    rustup target add "$target"
fi

# shellcheck source=/dev/null
source "$here/../arm-tools.sh"

out="$here/target/measure"
mkdir -p "$out"
build() { # variant, cargo args...
    local variant="$1"
    shift
    cargo build --quiet --release --target "$target" "$@"
    cp "target/$target/release/mcast-flash-size" "$out/$variant.elf"
}
build baseline
build with-mcast --features with-mcast

# Section sizes in bytes, as "name size" lines.
sections() { "$SIZE" -A "$1" | awk '$1 ~ /^\./ { print $1, $2 }'; }
section() { sections "$1" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'; }

echo "tools: $SIZE, $NM"
echo "rustc: $(rustc -V)"
echo
printf '%-14s %10s %10s %10s\n' section baseline with-mcast delta
for s in .vector_table .text .rodata .data .bss; do
    b=$(section "$out/baseline.elf" "$s")
    m=$(section "$out/with-mcast.elf" "$s")
    printf '%-14s %10d %10d %+10d\n' "$s" "$b" "$m" $((m - b))
done
flash() { # what the image occupies in flash: vector table, code, constants, .data's initial values
    local t=0 s
    for s in .vector_table .text .rodata .data; do t=$((t + $(section "$1" "$s"))); done
    echo "$t"
}
b=$(flash "$out/baseline.elf")
m=$(flash "$out/with-mcast.elf")
printf '%-14s %10d %10d %+10d\n' "flash total" "$b" "$m" $((m - b))

# Symbols as "size name" with the hash suffix dropped, so the two builds compare.
symbols() { "$NM" -C -S -t d --size-sort "$1" | awk 'NF >= 4 { size = $2 + 0; $1 = $2 = $3 = ""; sub(/^ +/, ""); sub(/::h[0-9a-f]+$/, ""); print size "\t" $0 }'; }
symbols "$out/baseline.elf" | sort -t$'\t' -k2 >"$out/baseline.syms"
symbols "$out/with-mcast.elf" | sort -t$'\t' -k2 >"$out/with-mcast.syms"

echo
echo "largest symbols added or grown by with-mcast (bytes; inlined mcast code counts in its caller):"
join -t$'\t' -1 2 -2 2 -a 2 -e 0 -o 2.1,1.1,0 "$out/baseline.syms" "$out/with-mcast.syms" |
    awk -F'\t' '$1 > $2 { printf "%6d  %s%s\n", $1 - $2, $3, ($2 > 0 ? "  (grew from " $2 ")" : "") }' |
    sort -rn | head -n "$top"

echo
echo "checks (size and name of each hit):"
check() { # description, extended regex over symbol names
    local hits
    hits=$(awk -F'\t' -v re="$2" '$2 ~ re { printf "    %6d  %s\n", $1, $2 }' "$out/with-mcast.syms")
    if [[ -n "$hits" ]]; then
        echo "  $1:"
        echo "$hits"
    else
        echo "  $1: none"
    fi
}
check "64-bit division" '__aeabi_l?uldivmod|__aeabi_ldivmod|divmoddi4|divdi3|moddi3'
check "core::fmt" 'core::fmt|Formatter|Display|Debug'
check "panic paths" 'panic|unwrap_failed|expect_failed|index_fail|len_mismatch_fail'

# size_of on the target: the `type-sizes` build keeps one static of each type.
build type-sizes --features type-sizes
echo
echo "size_of on $target (bytes), from the type-sizes build:"
"$NM" -S -t d "$out/type-sizes.elf" | awk '$4 ~ /^SIZE_OF_/ { sub(/^SIZE_OF_/, "", $4); printf "  %-16s %6d\n", $4, $2 + 0 }' | sort

