"""Every notebook in nbs/ is a test, executed once per session as `nbdev-test` runs it (cells flagged `slow` or
`notest` skipped) by the docs build (`docs_build` in tests/conftest.py, scripts/build_docs.py), which then renders
the executed notebooks into the site that tests/test_docs.py checks. Each notebook is its own test result here, failing
with its traceback. Run alone (`pytest tests/test_notebooks.py -k NAME`), only the selected notebooks are executed."""
import re

import pytest

from conftest import NBS, notebooks

NOTEBOOKS = notebooks()


def test_notebooks_found():
    assert len(NOTEBOOKS) >= 6, NOTEBOOKS


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.relative_to(NBS).as_posix() for p in NOTEBOOKS])
def test_notebook(nb, notebook_results):
    rel = nb.relative_to(NBS).as_posix()
    results = notebook_results.results
    if results is None: pytest.fail(f"the notebook runner stopped before executing {rel}:\n{notebook_results.output}")
    if rel not in results: pytest.fail(f"{rel} was not executed (removed from nbs/ meanwhile?)")
    r = results[rel]
    print(f"{rel}: executed in {r['seconds']} s")
    if not r["ok"]:
        tb = re.sub(r"\x1b\[[0-9;]*m", "", r["error"] or "")           # no terminal colours in the report
        pytest.fail(f"{rel} failed after {r['seconds']} s:\n{tb}", pytrace=False)
