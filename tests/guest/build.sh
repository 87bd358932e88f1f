#!/bin/sh
# build.sh OUTDIR: builds the test guests into OUTDIR:
#   pvh.elf   ELF with a XEN_ELFNOTE_PHYS32_ENTRY note (PVH entry, 32-bit protected mode)
#   bzimage   bzImage-shaped image (Linux 64-bit boot protocol)
#   emul.elf  PVH guest running int3, int $0x40 and lock cmpxchg16b in kernel mode
#   smp.elf   PVH guest taking PIT interrupts through the PIC and starting the other vCPUs
#   kbd.elf   PVH guest that brings up the keyboard and waits for Ctrl-Alt-Del (exit 42)
#   loop.elf  PVH guest timing a CPU-bound loop in ring 3 (bench/vm; -DLOOP_HOST: the host's)
#   vio.elf   PVH guest driving the virtio-mmio devices (tests/guest/vio.c)
# Freestanding: no libc, no sanitizers, static, linked at 1 MiB (guest.ld).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"
CC=${GUEST_CC:-gcc}
CFLAGS="-std=gnu17 -O2 -Wall -Wextra -Werror -ffreestanding -fno-pic -fno-pie -fno-stack-protector
  -fno-asynchronous-unwind-tables -fcf-protection=none -mno-red-zone -mgeneral-regs-only
  -mcmodel=kernel -fno-builtin"
LDFLAGS="-nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,noexecstack -Wl,-z,max-page-size=4096 -Wl,--no-warn-rwx-segments
  -Wl,-T,$here/guest.ld"
# shellcheck disable=SC2086
$CC $CFLAGS -mcmodel=small $LDFLAGS -Wl,-e,pvh_start -o "$out/pvh.elf" \
	"$here/pvh-entry.S" "$here/pvh.c" "$here/lib.c"
# shellcheck disable=SC2086
$CC $CFLAGS -mcmodel=small $LDFLAGS -Wl,-e,pvh_start -o "$out/emul.elf" \
	"$here/pvh-entry.S" "$here/emul.c" "$here/lib.c"
# shellcheck disable=SC2086
$CC $CFLAGS -mcmodel=small $LDFLAGS -Wl,-e,pvh_start -o "$out/vio.elf" \
	"$here/pvh-entry.S" "$here/vio.c" "$here/virtio.c" "$here/lib.c"
# shellcheck disable=SC2086
$CC $CFLAGS -mcmodel=small $LDFLAGS -Wl,-e,pvh_start -o "$out/kbd.elf" \
	"$here/pvh-entry.S" "$here/kbd.c" "$here/lib.c"
# shellcheck disable=SC2086
$CC $CFLAGS -mcmodel=small $LDFLAGS -Wl,-e,pvh_start -o "$out/loop.elf" \
	"$here/pvh-entry.S" "$here/loop.c" "$here/lib.c"
# shellcheck disable=SC2086
$CC $CFLAGS -mcmodel=small $LDFLAGS -Wl,-e,pvh_start -o "$out/smp.elf" \
	"$here/pvh-entry.S" "$here/smp.c" "$here/lib.c"
# shellcheck disable=SC2086
$CC $CFLAGS -mcmodel=small $LDFLAGS -Wl,-e,bz_start -o "$out/bz.elf" \
	"$here/bz-entry.S" "$here/bz.c" "$here/lib.c"
objcopy -O binary "$out/bz.elf" "$out/bz.bin"
python3 "$here/mkbzimage.py" "$out/bz.bin" "$out/bzimage"
