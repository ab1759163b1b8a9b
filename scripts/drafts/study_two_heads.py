# %% [md]
# # Study: does the LLC fall when a 2-head sorting transformer's heads specialize?
#
# > The LLC of the full model and of each head over training, next to head specialization (overlap, vocabulary
# > regions, copying and suppressing), for three seeds of the default experiment.
# %% [md]
# **The published claim** (science.md §6): in the 2-head model the LLC *falls* when the heads specialize, i.e. go
# from overlapping to separate vocabulary regions. A follow-up paper describes three stages: (i) a steep loss drop
# while the LLC rises and diagonals form; (ii) a plateau with heads covering overlapping ranges; (iii)
# specialization with a falling LLC.
#
# **The experiment.** The default experiment (`settings.ini`: reference model and recipe, 3,000 steps, 40
# checkpoints, 20 of them log-spaced), with seeds 0, 1 and 2 (`run.seed` sets the initialisation and the batch
# order; the data are the same). Every run goes through `llc-nb run`: training, the circuit analysis of
# `07_circuits` and the LLC of `06_llc` (full model and each head, the calibrated sampler settings of
# `settings.ini`, at every checkpoint). Seed 0 is the default run, `runs/default`.
#
# The runs take about 18 minutes each on 2 CPU cores, so the cells that need them are flagged `slow`; the outputs
# below are from real runs, regenerated with
# `python scripts/run_slow_notebooks.py nbs/tutorials/study_two_heads.ipynb` (which calls `llc-nb run` for each seed
# and reuses whatever is already computed). The wall times of the recorded runs are given below.
# %%
import contextlib, io
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from llc_nb.circuits import arrangement, circuit_arrays, head_roles, pick_steps, vocabulary_regions
from llc_nb.cli import main as llc_nb
from llc_nb.plots import plot_llc_structure, plot_regions
from llc_nb.store import Run

RUNS = {0: ("../../runs/default", []), 1: ("../../runs/study_2h_seed1", ["--set", "run.seed=1"]),
        2: ("../../runs/study_2h_seed2", ["--set", "run.seed=2"])}
# %% [md]
# A small helper: given a run's tables, the steps that bracket specialization, and the LLC there.
#
# * `peak`: the checkpoint where the heads' overlap is largest (both heads copy the same numbers);
# * `split`: the first checkpoint whose arrangement is `splitting` (`07_circuits`: at least two heads own ≥10% of
#   the numbers each, copy on their own range, and overlap < 0.1);
# * the LLC (full model) at both, its largest value between them, and at the end;
# * `falls_with_overlap`: over consecutive checkpoints between `peak` and `split`, the fraction of intervals in which
#   the overlap fell *and* the LLC fell too.
# %%
def specialization(llc: pd.DataFrame, circuits: pd.DataFrame, component: str = "full") -> dict:
    whole = circuits[circuits["head"] == "all"].pivot(index="step", columns="metric", values="value")
    l = llc[llc.component == component].set_index("step").llc_mean.reindex(whole.index)
    peak = int(whole.overlap.idxmax())
    split = whole.index[(whole.splitting == 1) & (whole.index > peak)]
    split = int(split[0]) if len(split) else None
    window = whole.loc[peak:split] if split else whole.loc[peak:]
    d_ov, d_llc = window.overlap.diff().iloc[1:], l.loc[window.index].diff().iloc[1:]
    falling = d_ov < 0
    return dict(component=component, overlap_peak_step=peak, overlap_peak=whole.overlap[peak], split_step=split,
                llc_at_peak=l[peak], llc_max_between=l.loc[window.index].max(),
                llc_max_step=int(l.loc[window.index].idxmax()), llc_at_split=l[split] if split else np.nan,
                llc_final=l.iloc[-1], falls_with_overlap=float((d_llc[falling] < 0).mean()) if falling.any() else np.nan)

toy_c = pd.DataFrame([dict(step=s, head="all", metric=m, value=v) for s, ov, sp in
                      [(0, .2, 0), (10, .5, 0), (20, .3, 0), (30, .05, 1)] for m, v in (("overlap", ov), ("splitting", sp))])
toy_l = pd.DataFrame(dict(step=[0, 10, 20, 30], component="full", llc_mean=[1., 3., 2., 4.]))
sp = specialization(toy_l, toy_c)
assert (sp["overlap_peak_step"], sp["split_step"], sp["llc_max_between"], sp["falls_with_overlap"]) == (10, 30, 4.0, 0.5)
# %% [md]
# ## Running the three seeds
# %%
#| slow
runs = {}
for seed, (out, args) in RUNS.items():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf): code = llc_nb(["run", "--out", out, "--no-progress", *args])
    assert code == 0, buf.getvalue()
    runs[seed] = Run(out)
    said = [l for l in buf.getvalue().splitlines() if l.startswith(("final", "step ", "LLC time")) and len(l.split()) > 1]
    print(f"seed {seed}: " + " | ".join(said))
# %% [md]
# ## The LLC next to specialization, seed by seed
#
# Black: LLC of the full model; coloured: LLC of each head; dashed: the heads' overlap (right axis). The step axis
# is linear up to 10 and logarithmic after.
# %%
#| slow
fig, axs = plt.subplots(len(runs), 1, figsize=(9, 3.3 * len(runs)), constrained_layout=True)
for ax, (seed, run) in zip(axs, runs.items()):
    plot_llc_structure(run.table("llc"), run.table("circuits"), ("overlap",), ax=ax, title=f"seed {seed}")
# %% [md]
# Vocabulary regions over training, seed by seed (owner of each number; shade = copy strength):
# %%
#| slow
for seed, run in runs.items():
    steps, arr = circuit_arrays(run)
    heads = sorted(set(run.table("circuits")["head"]) - {"all"})
    fig = plot_regions(arr["copy_scores"], steps, heads, f"seed {seed}")
    sc = arr["copy_scores"][-1]
    print(f"seed {seed}, step {steps[-1]}: {arrangement(sc)};",
          ", ".join(f"{heads[h]} {a}-{b}" for h, a, b in vocabulary_regions(sc)))
# %% [md]
# ## The numbers
# %%
#| slow
rows = []
for seed, run in runs.items():
    llc, circ = run.table("llc"), run.table("circuits")
    for comp in sorted(llc.component.unique()):
        rows.append(dict(seed=seed, **specialization(llc, circ, comp)))
spec = pd.DataFrame(rows).set_index(["seed", "component"])
spec.round(3)
# %%
#| slow
final = []
for seed, run in runs.items():
    c = run.table("circuits"); last = c[c.step == c.step.max()]
    w = last.pivot(index="head", columns="metric", values="value")
    steps, arr = circuit_arrays(run)
    roles = head_roles(arr["copy_scores"][-1])
    for i, h in enumerate(sorted(set(last["head"]) - {"all"})):
        final.append(dict(seed=seed, head=h, coverage=roles.coverage[i], regions=int(roles.regions[i]),
                          copy_own=roles.copy_own[i], suppress_other=roles.suppress_other[i],
                          ablation_dloss=w.loc[h, "ablation_dloss"], llc=run.table("llc").query("step == @c.step.max() and component == @h").llc_mean.item()))
pd.DataFrame(final).set_index(["seed", "head"]).round(3)
# %% [md]
# ## Step through seed 0
#
# The frames of the default run's static report (`llc-nb report`, `11_report`) at 12 checkpoints: loss and LLC with
# the current step, both heads' OV and QK circuits, their attention on an example list, which head owns which
# number, and the step's metrics. Move the slider or press play; it needs no kernel.
# %%
#| slow
from IPython.display import HTML
from llc_nb.report import run_slider
steps0, _ = circuit_arrays(runs[0])
HTML(run_slider(runs[0], pick_steps(steps0, 12), title="2 heads, seed 0"))
