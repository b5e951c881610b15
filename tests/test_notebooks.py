"""The notebooks in notebooks/ run top to bottom (nbclient); a failing cell fails the test."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="executing notebooks needs the [plot] extra (nbformat)")
nbclient = pytest.importorskip("nbclient", reason="executing notebooks needs the [plot] extra (nbclient)")
pytest.importorskip("ipykernel", reason="executing notebooks needs the [plot] extra (ipykernel)")
pytest.importorskip("matplotlib", reason="the notebooks draw figures (the [plot] extra)")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_expected_notebooks_exist() -> None:
    assert {p.name for p in NOTEBOOKS} >= {"quickstart.ipynb", "published-comparison.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path) -> None:
    if path.name == "published-comparison.ipynb" and not (ROOT / "results" / "published.parquet").exists():
        pytest.skip("results/published.parquet is not in this checkout")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError naming the failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    images = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert images, "the notebook should show its figures"
