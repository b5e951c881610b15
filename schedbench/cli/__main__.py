"""``python -m schedbench.cli``: the same as the ``schedbench`` console script."""

from schedbench.cli import main

main()
