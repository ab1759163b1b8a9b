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
# Each run takes 24 to 26 minutes on 2 CPU cores, so the cells that need them are flagged `slow`; the outputs
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
    said = [l for l in buf.getvalue().splitlines() if l.startswith("final") or l.startswith("step ") and "; regions " in l]
    print(f"seed {seed}: " + " | ".join(said))
# %% [md]
# ## The LLC next to specialization, seed by seed
#
# Black: LLC of the full model; coloured: LLC of each head; dashed: the heads' overlap (right axis). The step axis
# is linear up to 10 and logarithmic after. Left, the LLC on a linear axis; right, the same on a log axis, which shows
# the early rise and dip that the late growth dwarfs (negative estimates at step 0 are left out there).
# %%
#| slow
fig, axs = plt.subplots(len(runs), 2, figsize=(13, 3.3 * len(runs)), constrained_layout=True)
for (lin, log), (seed, run) in zip(axs, runs.items()):
    for ax, scale in ((lin, "linear"), (log, "log")):
        plot_llc_structure(run.table("llc"), run.table("circuits"), ("overlap",), ax=ax,
                           title=f"seed {seed}, {scale} LLC axis")
        ax.set_yscale(scale)
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
# %% [md]
# The same at the checkpoints that mark the stages (rows: seed and quantity; columns: step), with the 1-head run of
# `study_one_head.ipynb` as a control: one head cannot specialize.
# %%
#| slow
ONE = "../../runs/study_1h_seed0"
with contextlib.redirect_stdout(io.StringIO()):
    assert llc_nb(["run", "--out", ONE, "--no-progress", "--set", "model.n_heads=1", "--set", "llc.components=full"]) == 0
marks, rows = [10, 45, 74, 158, 316, 474, 789, 3000], {}
for seed, run in runs.items():
    llc, c = run.table("llc"), run.table("circuits")
    rows[(f"seed {seed}", "overlap")] = c[(c["head"] == "all") & (c.metric == "overlap")].set_index("step").value
    for comp in sorted(llc.component.unique()):
        rows[(f"seed {seed}", f"LLC {comp}")] = llc[llc.component == comp].set_index("step").llc_mean
one = Run(ONE).table("llc")
rows[("1 head", "LLC full")] = one[one.component == "full"].set_index("step").llc_mean
pd.DataFrame(rows).loc[marks].T.round(2)
# %%
#| slow
final = []
for seed, run in runs.items():
    c, llc = run.table("circuits"), run.table("llc")
    end = c.step.max()
    w = c[c.step == end].pivot(index="head", columns="metric", values="value")
    last_llc = llc[llc.step == end].set_index("component").llc_mean
    steps, arr = circuit_arrays(run)
    roles = head_roles(arr["copy_scores"][-1])
    for i, h in enumerate(sorted(set(c["head"]) - {"all"})):
        final.append(dict(seed=seed, head=h, coverage=roles.coverage[i], regions=int(roles.regions[i]),
                          copy_own=roles.copy_own[i], suppress_other=roles.suppress_other[i],
                          ablation_dloss=w.loc[h, "ablation_dloss"], llc=last_llc[h]))
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
# %% [md]
# ## Verdict
#
# Numbers from the runs above (`runs/default`, `runs/study_2h_seed1`, `runs/study_2h_seed2`: seeds 0, 1, 2; each
# `llc-nb run` took 1,508 s, 1,411 s and 1,533 s of wall time on 2 shared CPU cores, training and the LLC of the
# full model and both heads at all 40 checkpoints included).
#
# **The claim did not reproduce: in these runs the LLC rises while the heads specialize.**
#
# * **All three seeds learn the task and end up splitting the vocabulary.** At step 3000 the validation accuracy is
#   0.9988–0.9990 (validation loss 0.036–0.038). Every head copies on its own numbers (`copy_own` 1.0) and is negative
#   on most of the other head's (`suppress_other` 0.70–0.92): each head suppresses where the other copies, as in the
#   published model. Seeds 0 and 1 split into 4–5 contiguous regions; seed 2's split is fragmented at the ends of the
#   vocabulary (0–3 and 47–50 alternate between heads), 5 regions per head.
# * **When the heads separate.** The overlap of the two heads' copying peaks early, at step 45 (seeds 0 and 2, 0.48
#   and 0.47) or 27 (seed 1, 0.47), falls to 0.29–0.32 by step 158 and 0.11–0.16 by step 316, and the arrangement is
#   `splitting` (overlap < 0.1, both heads owning ≥ 10% of the numbers) from **step 474** in all three seeds (overlap
#   0.06–0.08), reaching 0.02–0.04 at the end.
# * **The LLC over the same steps.** The full model's LLC rises from 0.05–0.07 (step 10) to 0.20–0.21 at step 74, the
#   end of the steep loss drop, and dips to 0.12–0.13 at step 158: this dip coincides with the start of
#   specialization, and it is the only fall the curve shows. But the 1-head control (`study_one_head.ipynb`), which
#   cannot specialize, has the same dip at the same steps (0.24 → 0.16), so it cannot be credited to specialization.
#   During the main separation, steps 158 → 474 (overlap 0.29–0.32 → 0.06–0.08), the LLC *rises* 0.12–0.13 →
#   0.64–0.77 in every seed, and it keeps growing after the split: 3.5–3.9 at step 789 and **9.7–10.5 at step 3000**
#   (its peak is the last checkpoint). Over the checkpoints between the overlap peak and the split, the LLC fell in
#   only 33–43% of the intervals in which the overlap fell (`falls_with_overlap`).
# * **Per head** the picture is the same: each head's LLC dips at step 158, rises through the split and ends at
#   3.6–5.9. In seeds 0 and 1 the head that owns more numbers has the larger LLC and the larger ablation cost (seed 0:
#   l0h0 owns 73%, LLC 5.3 vs 4.0, ablation +3.9 vs +1.4 nats; seed 1: l0h1 owns 63%, 5.2 vs 3.6, +3.3 vs +2.1); in
#   seed 2 the heads are nearly even (45% / 55%, 5.8 / 5.9, +2.3 / +2.4). The reference model's ablation costs are
#   ~0.9 and ~5.0 nats: its split is more lopsided than ours.
# * **What matches the published account:** stage (i), a steep loss drop while the LLC rises and the diagonals form
#   (steps 10–74); heads that overlap before they separate; a vocabulary-splitting end state with suppression
#   outside each head's range. **What does not:** stage (iii), a falling LLC during specialization; the 2-head LLC
#   instead ends about twice as high as the 1-head model's (5.2).
#
# **How far this goes.** The LLC's scale and late growth depend on the sampler: its settings (`settings.ini`, `06_llc`)
# were calibrated once on the default model and not re-tuned per checkpoint, and a model whose loss keeps falling
# (validation loss 0.060–0.063 at step 474, 0.036–0.038 at step 3000) may sit in a sharper basin at fixed nβ and γ,
# which by itself raises the estimate; a calibration that adapts to each checkpoint could change the late curve. It
# is less likely to explain the rise during 158 → 474, when the loss barely moves (0.072–0.076 → 0.060–0.063) and
# no estimate was flagged. Five estimates at step 0 came out slightly negative
# (−0.06 to −0.001, flagged in `llc.csv`); no chain diverged. The checkpoints are 158, 316, 474 across the
# separation, so the split's timing is known only to that resolution. The runs are 3,000 steps, not the reference's
# 7,325, and the published post's code was never released, so its sampler settings and exact definition of
# "specialize" may differ from ours.
