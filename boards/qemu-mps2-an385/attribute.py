#!/usr/bin/env python3
"""Which source each byte of a firmware's code comes from, inlining included.

Symbol sizes mislead at opt-level "z" with LTO: a function inlined into smoltcp's
ingress counts as smoltcp's, and smoltcp code inlined into mcast's `poll` as mcast's.
This reads the DWARF line tables instead: every instruction of `.text` is looked up with
`addr2line -i`, which gives the chain of inlined calls it belongs to, and is counted for
the innermost frame that is not the Rust standard library, compiler-builtins or a
container crate (heapless, byteorder, managed), those being helpers of whoever called
them. That frame's file decides the owner: a module of mcast (`src/membership`, ...),
the boards' own code (by file name: `main.rs`, `nic.rs`, the shared `lan9118.rs`), or
the crate it comes from (smoltcp, embassy-net, cortex-m, ...).

Usage: attribute.py ELF [ELF ...]   (from a measure.sh's builds: target/measure/*.elf;
both QEMU boards' measure.sh run it)
Needs GNU binutils for Arm (objdump, addr2line) or their LLVM equivalents.
"""

import collections
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MCAST_SRC = os.path.normpath(os.path.join(HERE, "..", "..", "src")) + os.sep
BOARDS = os.path.normpath(os.path.join(HERE, "..")) + os.sep
BOARD_SRC = os.sep + "src" + os.sep
HELPERS = ("/library/core/", "/library/alloc/", "compiler-builtins", "compiler_builtins",
           "/heapless-", "/byteorder-", "/managed-")


def tool(*names):
    for name in names:
        if shutil.which(name):
            return name
    sys.exit("none of %s found" % ", ".join(names))


OBJDUMP = tool("arm-none-eabi-objdump", "llvm-objdump")
ADDR2LINE = tool("arm-none-eabi-addr2line", "llvm-addr2line")


def owner(location):
    """The owner of a source location (`path:line`)."""
    path = location.rsplit(":", 1)[0]
    if path.startswith(MCAST_SRC):
        rest = path[len(MCAST_SRC):]
        return "mcast " + (rest.split(os.sep)[0] if os.sep in rest else rest[:-3])
    if path.startswith(BOARDS) and BOARD_SRC in path:
        return "board " + path.rsplit(BOARD_SRC, 1)[1]
    crate = re.search(r"/registry/src/[^/]+/([^/]+)/", path)
    if crate:
        return re.sub(r"-[0-9][0-9.]*$", "", crate.group(1))
    return "other"


def attribute(elf):
    listing = subprocess.run([OBJDUMP, "-d", "--no-show-raw-insn", "-j", ".text", elf],
                             capture_output=True, text=True, check=True).stdout
    addresses = sorted({int(m.group(1), 16) for m in
                        (re.match(r"\s+([0-9a-f]+):\s", line) for line in listing.splitlines()) if m})
    # An instruction's size is the gap to the next one (literal pools count with the
    # instruction before them); the last one is taken as 2 octets.
    sizes = {a: (b - a) for a, b in zip(addresses, addresses[1:])}
    if addresses:
        sizes[addresses[-1]] = 2
    out = subprocess.run([ADDR2LINE, "-e", elf, "-i", "-f", "-a"],
                         input="\n".join(hex(a) for a in addresses) + "\n",
                         capture_output=True, text=True, check=True).stdout.splitlines()
    totals = collections.Counter()
    i = 0
    while i < len(out):
        address = int(out[i], 16)
        i += 1
        frames = []
        while i < len(out) and not out[i].startswith("0x"):
            frames.append(out[i + 1] if i + 1 < len(out) else "")
            i += 2
        first = next((f for f in frames if not any(h in f for h in HELPERS)), None)
        if first is not None:
            key = owner(first)
        elif frames:
            key = "core and compiler-builtins"
        else:
            key = "other"
        totals[key] += sizes.get(address, 0)
    return totals


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    results = [(os.path.basename(elf).removesuffix(".elf"), attribute(elf)) for elf in sys.argv[1:]]
    keys = sorted(set().union(*(t for _, t in results)), key=lambda k: -results[-1][1].get(k, 0))
    print("%-34s" % ".text octets by owner" + "".join("%16s" % name for name, _ in results))
    for key in keys:
        print("%-34s" % key + "".join("%16d" % t.get(key, 0) for _, t in results))
    print("%-34s" % "total" + "".join("%16d" % sum(t.values()) for _, t in results))
    mcast = [sum(v for k, v in t.items() if k.startswith("mcast ")) for _, t in results]
    print("%-34s" % "mcast's modules together" + "".join("%16d" % m for m in mcast))


if __name__ == "__main__":
    main()
