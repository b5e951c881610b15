"""The plugin layer: the solver contract, the registry, command-line solvers and the contract tests."""
