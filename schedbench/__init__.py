"""schedbench: benchmark suite and solver-comparison harness for scheduling DL jobs on GPU clusters."""

__version__ = "0.1.0"
