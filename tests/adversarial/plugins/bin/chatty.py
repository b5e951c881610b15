"""Prints 1 GiB to stdout (in 1 MiB lines), then writes a valid solution."""

import json
import sys

PACKED = {
    "problem": "placement",
    "assignment": {"j0": ["k0/0"], "j1": ["k0/1"], "j2": ["v0/0", "v0/1"], "j3": ["k0/1"], "j4": ["k0/1"]},
}
line = b"y" * ((1 << 20) - 1) + b"\n"
out = sys.stdout.buffer
for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 1024):
    out.write(line)
out.write(b"END-OF-CHATTER\n")
out.flush()
with open(sys.argv[2], "w") as fh:
    json.dump(PACKED, fh)
