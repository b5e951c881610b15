"""Bundled data, not code: the suite manifests, their lock files and the smoke instances.

This folder installs as the data package ``schedbench.suites.manifests`` (``[tool.setuptools]
package-dir`` in pyproject.toml), so that ``schedbench suite`` and ``schedbench run --suite`` find
the suites from a wheel as from a checkout (:mod:`schedbench.suites.paths`).
"""
