# Sourced by the size-measuring scripts (benches/flash-size/measure.sh,
# boards/*/measure.sh): sets SIZE and NM to a size/nm pair that reads ARM ELF files.
# GNU binutils for ARM first (installed from Debian's binutils-arm-none-eabi when
# missing and apt-get can run as root), then LLVM's llvm-size/llvm-nm from rustup's
# llvm-tools or the system. Both read the same section headers, so the numbers agree.

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
