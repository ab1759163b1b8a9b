"""What the held-by-gamma stop (llc.stop_gamma_change) does to runs' estimates, replayed on the chains they ran.

    llc-nb llc runs/default --set llc.components=heads --set llc.stop_gamma_change=0 --steps 123,474,1579,3000
    python benchmarks/held_by_gamma.py runs/default [--stop-gamma-change 0.2]
    python benchmarks/held_by_gamma.py RUN [RUN ...] --component full

The first command samples every head to its cap (no held-by-gamma stop) and stores the traces; this script then
replays adaptive stopping (`llc.stopping_rule` with the given `stop_gamma_change`) at every check on those traces: where
each batch would have stopped (for the heads, the last of them), and each estimate, gamma change and verdict there
against the full-length chains'. The replay is exact: the chains up to the stop are the same chains (same seeds and
batches), only cut earlier. With `--component full` it replays the whole model's estimates of every run given (any
sampled with `stop_gamma_change = 0`, such as those of runs made before the whole model's held-by-gamma stop), and
also reports, over the checks at which an estimate was steady as the stop asks (both rungs within
`max_block_change` of the last check), the largest gamma change of an estimate whose final change passes
certification: the margin the stop has.
"""
import argparse
from dataclasses import replace

import numpy as np
import pandas as pd

from llc_nb.llc import chance_loss, estimate_from_arrays, stopping_rule
from llc_nb.model import FULL
from llc_nb.sampling import component_settings, load_traces
from llc_nb.store import Run


def cut(arrays: dict, t: int) -> dict:
    "The stored arrays of an estimate as they were after `t` steps."
    return {**arrays, "trace": arrays["trace"][:, :t], "trace_half_gamma": arrays["trace_half_gamma"][:, :t]}


def replay(run: Run, stop_gamma_change: float, whole: bool) -> tuple[list[dict], list[dict]]:
    "One row per estimate (full length against the replayed stop) and one per check (its gamma change, steady or not)."
    tab, cl = run.table("llc"), chance_loss(run.task)
    s = replace(run.settings.llc, stop_gamma_change=stop_gamma_change)
    rows, checks, name = [], [], f"{run.path.parent.name}/{run.path.name}"
    for step, g in tab[(tab.component == FULL) == whole].groupby("step"):
        arrs = {r.component: load_traces(run, step, r.component, r.key) for r in g.itertuples()}
        arrs = {c: x for c, x in arrs.items() if x is not None and x["trace"].shape[1] and "trace_half_gamma" in x}
        if not arrs: continue
        n = min(x["trace"].shape[1] for x in arrs.values())
        sc, done, stop = component_settings(s, next(iter(arrs))), stopping_rule(s, cl), n
        prev = {}
        for t in range(sc.burnin + sc.draws, n + 1, sc.block):
            results = []
            for c, x in arrs.items():
                results.append(done(c, cut(x, t)))
                e = estimate_from_arrays(cut(x, t), component_settings(s, c), cl)
                now = np.array([e.llc_mean, e.llc_half_gamma])
                tol = sc.max_block_change * np.abs(now)                   # as the held-by-gamma stop asks of a doubled-step ladder
                if component_settings(s, c).ladder_step <= 1: tol = np.maximum(tol, 2 * e.llc_se)
                steady = c in prev and bool(np.all(np.abs(now - prev[c]) <= tol))
                prev[c] = now
                checks.append(dict(run=name, step=step, component=c, t=t, gamma_change=e.gamma_change, steady=steady))
            if all(results): stop = t; break
        for c, x in arrs.items():
            full, early = (estimate_from_arrays(y, component_settings(s, c), cl) for y in (x, cut(x, stop)))
            rows.append(dict(run=name, step=step, component=c, steps=n, stop=stop, llc=full.llc_mean, llc_stop=early.llc_mean,
                             gamma_change=full.gamma_change, gamma_change_stop=early.gamma_change, verdict=full.verdict,
                             verdict_stop=early.verdict))
    return rows, checks


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+"); ap.add_argument("--stop-gamma-change", type=float, default=0.2)
    ap.add_argument("--component", choices=("heads", "full"), default="heads")
    a = ap.parse_args()
    rows, checks = [], []
    for path in a.runs:
        r, c = replay(Run(path), a.stop_gamma_change, a.component == "full")
        rows += r; checks += c
    df, ck = pd.DataFrame(rows), pd.DataFrame(checks)
    print(df.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    per = df.groupby(["run", "step"])[["steps", "stop"]].first()
    print(f"batches: {per.steps.sum()} -> {per.stop.sum()} SGLD steps ({per.stop.sum() / per.steps.sum():.0%}); verdicts "
          f"changed: {(df.verdict != df.verdict_stop).sum()} of {len(df)}; learning coefficients before {(df.verdict == 'likelihood').sum()}, "
          f"after {(df.verdict_stop == 'likelihood').sum()}; gamma change at the stop at most the final one in "
          f"{(df.gamma_change_stop <= df.gamma_change).sum()} of {len(df)}")
    fin = df.set_index(["run", "step", "component"]).gamma_change
    ck = ck.join(fin.rename("final"), on=["run", "step", "component"])
    passing = ck[ck.steady & (ck.final <= Run(a.runs[0]).settings.llc.max_gamma_change)]
    print(f"{ck.steady.sum()} steady checks of {len(df)} estimates; of the estimates whose final gamma change passes "
          f"certification ({passing.groupby(['run', 'step', 'component']).ngroups}), the largest gamma change at a steady check: "
          f"{passing.gamma_change.max():.3f}")


if __name__ == "__main__":
    main()
