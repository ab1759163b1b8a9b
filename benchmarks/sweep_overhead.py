"""Dask's cost in a sweep: a tiny grid run by calling the tasks directly (no Dask), then by `sweep` on a LocalCluster of
1 and of 2 workers. Reports per-task overhead and the 2-worker scaling efficiency. Run on an otherwise idle machine:

    python benchmarks/sweep_overhead.py [--seeds 4]
"""
import argparse, tempfile, time
from pathlib import Path

from llc_nb.settings import load_settings
from llc_nb.test_utils import tiny_grid
from llc_nb.sweep import _llc_chunks, circuits_task, finish_task, grid_cells, llc_task, read_grid, sweep, train_task


def direct(grid, out: Path) -> tuple[float, int]:
    "Every cell's tasks called in this process, in dependency order; (seconds, tasks)."
    t0, n = time.perf_counter(), 0
    for name, ov in grid_cells(grid):
        s, path = load_settings(overrides=ov), str(out/name)
        train_task(path, ov); c = circuits_task(path, path)
        parts = [llc_task(path, ov, ch, path) for ch in _llc_chunks(s, 4)]
        finish_task(path, c, *parts); n += 3 + len(parts)
    return time.perf_counter() - t0, n


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4, help="cells of the tiny grid (one per seed)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        g = Path(d)/"g.ini"; g.write_text(tiny_grid(seeds=range(a.seeds), steps=200, checkpoints=6, draws=40, burnin=20, hessian_probes=2))
        grid = read_grid(g)
        t_direct, n = direct(grid, Path(d)/"direct")
        times = {}
        for w in (1, 2):
            t0 = time.perf_counter()
            sweep(grid, out=Path(d)/f"dask{w}", workers=w, progress=False, log=lambda m: None)
            times[w] = time.perf_counter() - t0
    print(f"{a.seeds} cells, {n} tasks: direct {t_direct:.1f} s; Dask 1 worker {times[1]:.1f} s "
          f"(overhead {(times[1] - t_direct) / n * 1000:.0f} ms per task, cluster start included); "
          f"2 workers {times[2]:.1f} s, speed-up {times[1] / times[2]:.2f}x, scaling efficiency {times[1] / times[2] / 2:.0%}")
