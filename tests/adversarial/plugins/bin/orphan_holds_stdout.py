"""Writes a valid solution, leaves a child holding stdout/stderr open, exits 0 at once."""

import json
import subprocess
import sys

PACKED = {
    "problem": "placement",
    "assignment": {"j0": ["k0/0"], "j1": ["k0/1"], "j2": ["v0/0", "v0/1"], "j3": ["k0/1"], "j4": ["k0/1"]},
}
with open(sys.argv[2], "w") as fh:
    json.dump(PACKED, fh)
subprocess.Popen(["sleep", "300"])  # inherits stdout and stderr
sys.exit(0)
