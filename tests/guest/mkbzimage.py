#!/usr/bin/env python3
"""mkbzimage: wrap a flat 64-bit payload (loaded at 1 MiB, 64-bit entry at +0x200) in a
bzImage-shaped file: one boot sector and one setup sector holding a Linux setup header
(boot protocol 2.15, LOADED_HIGH, XLF_KERNEL_64), then the payload.

usage: mkbzimage.py PAYLOAD OUTPUT [--cmdline-size N]
"""

import struct
import sys

SETUP_SECTS = 1
HDR = 0x1F1


def build(payload: bytes, cmdline_size: int = 255) -> bytes:
    payload = payload + b"\0" * (-len(payload) % 16)
    setup = bytearray((SETUP_SECTS + 1) * 512)

    def put(off, fmt, value):
        struct.pack_into("<" + fmt, setup, off, value)

    put(HDR, "B", SETUP_SECTS)              # setup_sects
    put(0x1F4, "I", len(payload) // 16)     # syssize
    put(0x1FA, "H", 0xFFFF)                 # vid_mode: normal
    put(0x1FE, "H", 0xAA55)                 # boot_flag
    put(0x200, "B", 0xEB)                   # jump (real-mode entry, unused) ...
    put(0x201, "B", 0x268 - 0x202)          # ... whose offset is the header's length
    setup[0x202:0x206] = b"HdrS"
    put(0x206, "H", 0x020F)                 # version 2.15
    put(0x211, "B", 0x01)                   # loadflags: LOADED_HIGH
    put(0x214, "I", 0x100000)               # code32_start
    put(0x22C, "I", 0x7FFFFFFF)             # initrd_addr_max
    put(0x230, "I", 0x200000)               # kernel_alignment
    put(0x236, "H", 0x0001)                 # xloadflags: XLF_KERNEL_64
    put(0x238, "I", cmdline_size)           # cmdline_size
    put(0x260, "I", (len(payload) + 4095) & ~4095)  # init_size
    return bytes(setup) + payload


def main(argv):
    if len(argv) not in (3, 5):
        sys.exit(__doc__)
    size = int(argv[4]) if len(argv) == 5 else 255
    with open(argv[1], "rb") as f:
        image = build(f.read(), size)
    with open(argv[2], "wb") as f:
        f.write(image)


if __name__ == "__main__":
    main(sys.argv)
