# Sourced by the firmware size scripts (boards/*/measure.sh): building a firmware in
# several variants and comparing their flash, RAM and symbols, written once.
#
#   measure_setup TARGET BIN                 moves to the calling script's folder; the
#                                            rustup target, a size/nm pair (SIZE, NM),
#                                            OUT (target/measure of that folder)
#   measure_build VARIANT [CARGO ARG...]     a release build of the binary BIN in its own
#                                            target folder, copied to $OUT/VARIANT.elf
#   measure_table VARIANT...                 section sizes, flash and RAM of each (and the
#                                            difference when there are two)
#   measure_compare FROM TO LABEL [NOTE]     one line: what TO adds over FROM
#   measure_grown FROM TO COUNT [LABEL]      the COUNT largest symbols TO adds or grows
#   measure_check VARIANT WHAT REGEX         the symbols of VARIANT whose names match
#
# Sizes are the ELF's section sizes, read with GNU binutils for ARM (arm-none-eabi-size,
# arm-none-eabi-nm; installed from Debian's binutils-arm-none-eabi when missing and
# apt-get can run as root) or, failing that, LLVM's llvm-size/llvm-nm from rustup's
# llvm-tools or the system. Both read the same section headers, so the numbers agree.
#
# Flash is .text + .rodata; the image also holds the vector table and .data's initial
# values. RAM is .data + .bss: the statics, not the stack.

# 64-bit division routines, which a 32-bit firmware should not need.
DIV64='__aeabi_uldivmod|__aeabi_ldivmod|__udivmoddi4|__divmoddi4|__udivdi3|__divdi3|__umoddi3|__moddi3'

find_arm_tools() {
    if command -v arm-none-eabi-size >/dev/null && command -v arm-none-eabi-nm >/dev/null; then
        SIZE=arm-none-eabi-size NM=arm-none-eabi-nm
        return 0
    fi
    local bin
    bin="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
    if [[ -x "$bin/llvm-size" && -x "$bin/llvm-nm" ]]; then
        SIZE="$bin/llvm-size" NM="$bin/llvm-nm"
        return 0
    fi
    if command -v llvm-size >/dev/null && command -v llvm-nm >/dev/null; then
        SIZE=llvm-size NM=llvm-nm
        return 0
    fi
    return 1
}

measure_setup() { # target, binary name
    TARGET="$1" BIN="$2"
    cd "$(dirname "${BASH_SOURCE[1]}")"
    if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
        rustup target add "$TARGET"
    fi
    if ! find_arm_tools; then
        if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
            echo "installing binutils-arm-none-eabi" >&2
            apt-get update -qq >/dev/null
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq binutils-arm-none-eabi >/dev/null
        else
            rustup component add llvm-tools >&2 || true
        fi
        find_arm_tools || {
            echo "no ARM-capable size/nm found: install binutils-arm-none-eabi or rustup's llvm-tools" >&2
            exit 1
        }
    fi
    OUT="$PWD/target/measure"
    mkdir -p "$OUT"
    echo "tools: $SIZE, $NM"
    echo "rustc: $(rustc -V)"
}

measure_build() { # variant, cargo arguments...
    local variant="$1"
    shift
    env -u CARGO_TARGET_DIR cargo build --quiet --release --target "$TARGET" \
        --target-dir "$OUT/$variant" "$@"
    cp "$OUT/$variant/$TARGET/release/$BIN" "$OUT/$variant.elf"
}

section() { # variant, section name
    "$SIZE" -A "$OUT/$1.elf" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'
}
flash() { echo $(($(section "$1" .text) + $(section "$1" .rodata))); }
image() { echo $(($(section "$1" .vector_table) + $(flash "$1") + $(section "$1" .data))); }
ram() { echo $(($(section "$1" .data) + $(section "$1" .bss))); }

measure_table() { # variants...
    local row v values
    printf '\n%-34s' ""
    for v in "$@"; do printf ' %14s' "$v"; done
    [[ $# == 2 ]] && printf ' %14s' difference
    echo
    for row in .vector_table .text .rodata .data .bss \
        "flash (.text+.rodata)" "image (+.vector_table+.data)" "RAM (.data+.bss)"; do
        values=()
        for v in "$@"; do
            case "$row" in
            flash*) values+=("$(flash "$v")") ;;
            image*) values+=("$(image "$v")") ;;
            RAM*) values+=("$(ram "$v")") ;;
            *) values+=("$(section "$v" "$row")") ;;
            esac
        done
        printf '%-34s' "$row"
        printf ' %14d' "${values[@]}"
        [[ $# == 2 ]] && printf ' %+14d' $((values[1] - values[0]))
        echo
    done
}

measure_compare() { # from, to, label, note
    printf '%-40s flash %+d, RAM %+d%s\n' "$3:" \
        $(($(flash "$2") - $(flash "$1"))) $(($(ram "$2") - $(ram "$1"))) "${4:+ $4}"
}

# Code and read-only data symbols (what flash holds; not the statics in RAM) as
# "size<TAB>name", hash suffixes dropped so that the builds compare, sorted by name.
symbols() { # variant
    if [[ ! -f "$OUT/$1.syms" || "$OUT/$1.elf" -nt "$OUT/$1.syms" ]]; then
        "$NM" -C -S -t d --size-sort "$OUT/$1.elf" |
            awk 'NF >= 4 && $3 ~ /^[tTrRwW]$/ { size = $2 + 0; $1 = $2 = $3 = ""; sub(/^ +/, ""); sub(/::h[0-9a-f]+$/, ""); print size "\t" $0 }' |
            sort -t$'\t' -k2 >"$OUT/$1.syms"
    fi
    cat "$OUT/$1.syms"
}

measure_grown() { # from, to, count, label
    symbols "$1" >/dev/null
    symbols "$2" >/dev/null
    echo
    echo "${4:-largest symbols $2 adds or grows over $1} (bytes; inlined code counts in its caller):"
    join -t$'\t' -1 2 -2 2 -a 2 -e 0 -o 2.1,1.1,0 "$OUT/$1.syms" "$OUT/$2.syms" |
        awk -F'\t' '$1 > $2 { printf "%6d  %s%s\n", $1 - $2, $3, ($2 > 0 ? "  (was " $2 ")" : "") }' |
        sort -rn | awk -v n="$3" 'NR <= n'
}

measure_check() { # variant, what, extended regex over symbol names
    local hits
    hits=$(symbols "$1" | awk -F'\t' -v re="$3" '$2 ~ re { printf "%s %s (%d)", (n++ ? "," : ""), $2, $1 }')
    echo "$2 in $1:${hits:- none}"
}
