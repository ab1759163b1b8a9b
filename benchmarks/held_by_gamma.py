"""What the held-by-gamma stop (llc.stop_gamma_change) does to a run's heads, replayed on full-length chains.

    llc-nb llc runs/default --set llc.components=heads --set llc.stop_gamma_change=0 --steps 123,474,1579,3000
    python benchmarks/held_by_gamma.py runs/default [--stop-gamma-change 0.2]

The first command samples every head to its cap (no held-by-gamma stop) and stores the traces; this script then
replays adaptive stopping (`llc.stopping_rule` with the given `stop_gamma_change`) at every check on those traces: where
the batch of heads would have stopped (the last of them), and each head's estimate, gamma change and verdict there
against the full-length chains'. The replay is exact: the chains up to the stop are the same chains (same seeds and
batches), only cut earlier.
"""
import argparse
from dataclasses import replace

import pandas as pd

from llc_nb.llc import chance_loss, estimate_from_arrays, stopping_rule
from llc_nb.sampling import component_settings, load_traces
from llc_nb.store import Run


def cut(arrays: dict, t: int) -> dict:
    "The stored arrays of an estimate as they were after `t` steps."
    return {**arrays, "trace": arrays["trace"][:, :t], "trace_half_gamma": arrays["trace_half_gamma"][:, :t]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run"); ap.add_argument("--stop-gamma-change", type=float, default=0.2)
    a = ap.parse_args()
    run = Run(a.run)
    tab, cl = run.table("llc"), chance_loss(run.task)
    s = replace(run.settings.llc, stop_gamma_change=a.stop_gamma_change)
    rows = []
    for step, g in tab[tab.component != "full"].groupby("step"):
        arrs = {r.component: load_traces(run, step, r.component, r.key) for r in g.itertuples()}
        if any(x is None or not x["trace"].shape[1] for x in arrs.values()): continue
        n = min(x["trace"].shape[1] for x in arrs.values())
        sc, done, stop = component_settings(s, next(iter(arrs))), stopping_rule(s, cl), n
        for t in range(sc.burnin + sc.draws, n + 1, sc.block):
            if all([done(c, cut(x, t)) for c, x in arrs.items()]): stop = t; break
        for c, x in arrs.items():
            full, early = (estimate_from_arrays(y, component_settings(s, c), cl) for y in (x, cut(x, stop)))
            rows.append(dict(step=step, component=c, steps=n, stop=stop, llc=full.llc_mean, llc_stop=early.llc_mean,
                             gamma_change=full.gamma_change, gamma_change_stop=early.gamma_change, verdict=full.verdict,
                             verdict_stop=early.verdict))
    df = pd.DataFrame(rows)
    print(df.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    per = df.groupby("step")[["steps", "stop"]].first()
    print(f"batches of heads: {per.steps.sum()} -> {per.stop.sum()} SGLD steps ({per.stop.sum() / per.steps.sum():.0%}); verdicts "
          f"changed: {(df.verdict != df.verdict_stop).sum()} of {len(df)}; learning coefficients before {(df.verdict == 'likelihood').sum()}, "
          f"after {(df.verdict_stop == 'likelihood').sum()}; gamma change at the stop at most the final one in "
          f"{(df.gamma_change_stop <= df.gamma_change).sum()} of {len(df)}")


if __name__ == "__main__":
    main()
