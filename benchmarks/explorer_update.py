"""Seconds per step of the checkpoint explorer: what `CheckpointExplorer.show` costs in the kernel, per checkpoint.

    python benchmarks/explorer_update.py runs/default [--passes 2] [--example "3 1 4 ..."]

Builds a `CheckpointExplorer` on the run (Agg backend, one torch thread, the toolkit's thread policy) and steps through
every checkpoint `--passes` times, timing each update: the first pass loads each checkpoint from disk, later passes
find it cached. The update is everything the widget does for a step: the attention forward pass on the example
list, the curves with the marker, the circuit/attention/regions figure, and the metrics table (PNG bytes and HTML,
ready to send to the browser). Also reports the one-off construction time and the cost of typing a new list.
"""
import argparse, statistics, time

import matplotlib
matplotlib.use("Agg")
import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run"); ap.add_argument("--passes", type=int, default=2); ap.add_argument("--example")
    a = ap.parse_args()
    torch.set_num_threads(1)
    from llc_nb.explorer import CheckpointExplorer
    t0 = time.perf_counter()
    ex = CheckpointExplorer(a.run, example=a.example)
    t_init = time.perf_counter() - t0
    steps = ex.view.steps
    print(f"run {a.run}: {len(steps)} checkpoints, heads {', '.join(ex.view.heads)}; construction {t_init:.2f} s")
    for p in range(a.passes):
        times = []
        for s in steps:
            t0 = time.perf_counter(); assert ex.show(s) or s == ex.step, ex.message
            times.append(time.perf_counter() - t0)
            assert not ex.message, ex.message
        q = sorted(times)
        print(f"pass {p + 1} ({'checkpoints loaded from disk' if p == 0 else 'checkpoints cached'}): per step "
              f"median {statistics.median(times) * 1e3:.0f} ms, mean {statistics.mean(times) * 1e3:.0f} ms, "
              f"90th pct {q[int(0.9 * (len(q) - 1))] * 1e3:.0f} ms, max {max(times) * 1e3:.0f} ms")
    t0 = time.perf_counter(); assert ex.set_example(ex.example[::-1]), ex.message; t_ex = time.perf_counter() - t0
    print(f"new example list (attention tick labels redrawn): {t_ex * 1e3:.0f} ms")
    print(f"sizes sent per step: curves {len(ex.curves.value) / 1e3:.0f} kB, figure {len(ex.heads.value) / 1e3:.0f} kB, "
          f"table {len(ex.table.value) / 1e3:.1f} kB")


if __name__ == "__main__":
    main()
