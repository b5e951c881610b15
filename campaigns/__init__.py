"""Bundled data, not code: the example run specs (``schedbench run campaigns/NAME.toml``).

This folder installs as the data package ``schedbench.suites.campaigns`` (``[tool.setuptools]
package-dir`` in pyproject.toml); from an installed wheel ``schedbench run NAME`` (or
``campaigns/NAME.toml`` where no such file exists) runs the bundled spec as if it were at
``./campaigns/NAME.toml`` (:func:`schedbench.suites.paths.find_campaign`).
"""
