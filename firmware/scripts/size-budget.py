#!/usr/bin/env python3
"""Prints the firmware's flash and RAM use and fails when it exceeds the budget.

Usage: size-budget.py SIZE_PROGRAM ELF [FLASH_BUDGET RAM_BUDGET]   (budgets in bytes)

flash = text + data: every section loaded into flash (vector table, code, constants, unwind
        tables) plus the initial values of .data, which live in flash and are copied at start-up.
RAM   = data + bss + stack: .data (including the RAM-resident flash routines), .bss, .noinit and
        the stack reserve (.stack), which the linker script places at the bottom of SRAM.
The figures come from `arm-none-eabi-size -A` (one line per section with its size and address).
docs/hardware.md documents the budget: 64 KiB of flash, 32 KiB of RAM.
"""
import subprocess
import sys

FLASH_LO, FLASH_HI = 0x08000000, 0x08080000
RAM_LO, RAM_HI = 0x20000000, 0x20020000

size_prog, elf = sys.argv[1], sys.argv[2]
flash_budget = int(sys.argv[3]) if len(sys.argv) > 3 else 64 * 1024
ram_budget = int(sys.argv[4]) if len(sys.argv) > 4 else 32 * 1024

out = subprocess.run([size_prog, "-A", "-d", elf], check=True, capture_output=True, text=True).stdout
text = data = bss = stack = 0
for line in out.splitlines():
    parts = line.split()
    if len(parts) != 3 or not parts[0].startswith(".") or not parts[1].isdigit():
        continue
    name, size, addr = parts[0], int(parts[1]), int(parts[2])
    if size == 0:
        continue
    if FLASH_LO <= addr < FLASH_HI:
        text += size
    elif RAM_LO <= addr < RAM_HI:
        if name == ".data":
            data += size
        elif name == ".stack":
            stack += size
        else:
            bss += size

flash = text + data
ram = data + bss + stack
print(f"flash: {flash} bytes = text {text} + data {data}; budget {flash_budget} "
      f"({100.0 * flash / flash_budget:.1f} %)")
print(f"RAM:   {ram} bytes = data {data} + bss {bss} + stack {stack}; budget {ram_budget} "
      f"({100.0 * ram / ram_budget:.1f} %)")
if text == 0 or stack == 0:
    print("size-budget: no code or no stack section found: is this the firmware ELF?")
    sys.exit(1)
failed = False
if flash > flash_budget:
    print(f"size-budget: FAIL: flash {flash} > {flash_budget}")
    failed = True
if ram > ram_budget:
    print(f"size-budget: FAIL: RAM {ram} > {ram_budget}")
    failed = True
print("size-budget: " + ("FAIL" if failed else "ok"))
sys.exit(1 if failed else 0)
