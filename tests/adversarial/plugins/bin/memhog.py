"""Allocates 2 GiB (more than the run's memory limit)."""

import sys

block = bytearray(2 << 30)
print(len(block))
sys.exit(0)
