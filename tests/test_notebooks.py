"""Every notebook in nbs/ is a test: run it with nbdev's runner, skipping cells flagged `slow` or `notest`."""
from pathlib import Path

import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook  # renamed so pytest does not collect it

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT/"nbs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def test_notebooks_found():
    assert len(NOTEBOOKS) >= 6, NOTEBOOKS


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[str(p.relative_to(ROOT/"nbs")) for p in NOTEBOOKS])
def test_notebook(nb):
    flags = get_config(ROOT).tst_flags.split()
    ok, _ = run_notebook(nb, skip_flags=flags, showerr=True)
    assert ok, f"{nb.name} failed (traceback above)"
