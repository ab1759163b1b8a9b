"""Execute notebooks *including* their `#| slow` cells and save the outputs back, so long studies keep real outputs.

    python scripts/run_slow_notebooks.py nbs/tutorials/reference_training.ipynb
    python scripts/run_slow_notebooks.py --keep-slow nbs/tutorials/study_headline.ipynb   # slow cells not run: their committed outputs stay

Then `nbdev-clean` and commit. The test suite runs the same notebooks with `slow` cells skipped.
"""
import sys, time
from pathlib import Path

from nbdev.clean import nbdev_clean
from nbdev.test import test_nb as run_notebook


def main(paths, keep_slow=False):
    for p in (Path(x).resolve() for x in paths):
        t0 = time.time()
        flags = dict(skip_flags=["slow"]) if keep_slow else dict(force_flags=["slow"])
        ok, _ = run_notebook(p, **flags, save=True, do_print=True, cell_timeout=None)
        print(f"{p}: {'ok' if ok else 'FAILED'} in {time.time() - t0:.0f} s", flush=True)
        if not ok: return 1
        nbdev_clean(str(p))
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    keep = "--keep-slow" in args
    paths = [a for a in args if a != "--keep-slow"]
    sys.exit(main(paths or sorted(str(p) for p in Path("nbs").rglob("*.ipynb")), keep_slow=keep))
