# %% [md]
# # Study: the LLC of a 1-head sorting transformer while its OV circuit becomes a band
#
# > One head, no specialization possible: the LLC over training next to the translational symmetry of the OV
# > circuit, the loss and the accuracy.
# %% [md]
# **The published claim** (science.md §6): for the 1-head model, the LLC over training is shown alongside the OV
# circuit becoming a clean, translation-symmetric band. This is the control for the 2-head study
# (`study_two_heads.ipynb`): whatever the LLC does here cannot be due to heads dividing the vocabulary.
#
# **The experiment.** The default experiment with `model.n_heads = 1` (31,108 parameters; reference recipe, 3,000
# steps, 40 checkpoints, seed 0), through `llc-nb run --set model.n_heads=1 --set llc.components=full`: training,
# circuits at every checkpoint, and the LLC of the full model (with one head, a per-head LLC adds little and would
# double the sampling time). The sampler settings are the ones calibrated on the
# 2-head default run (`settings.ini`); their traces are checked by the warnings column of `llc.csv`, reported
# below. The cells that need the run are flagged `slow`; the outputs are from a real run, regenerated with
# `python scripts/run_slow_notebooks.py nbs/tutorials/study_one_head.ipynb`.
# %%
import contextlib, io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from llc_nb.circuits import circuit_arrays, pick_steps
from llc_nb.cli import main as llc_nb
from llc_nb.plots import plot_circuits, plot_llc, step_axis
from llc_nb.store import Run

OUT, ARGS = "../../runs/study_1h_seed0", ["--set", "model.n_heads=1", "--set", "llc.components=full"]
# %%
#| slow
buf = io.StringIO()
with contextlib.redirect_stdout(buf): code = llc_nb(["run", "--out", OUT, "--no-progress", *ARGS])
assert code == 0, buf.getvalue()
run = Run(OUT)
keep = ("model", "time", "final", "step ", "  l0h0", "LLC time")
print("\n".join(l for l in buf.getvalue().splitlines() if l.startswith(keep) and len(l.split()) > 1))
llc, circ, metrics = run.table("llc"), run.table("circuits"), run.metrics
w = circ.pivot_table(index="step", columns=["head", "metric"], values="value")
print("LLC estimates with warnings:", int(llc.warnings.notna().sum()), "of", len(llc))
# %% [md]
# ## LLC, OV symmetry, loss and accuracy against step
# %%
#| slow
fig, axs = plt.subplots(3, 1, figsize=(8, 8), sharex=True, constrained_layout=True)
for comp, d in llc.groupby("component"):
    axs[0].plot(d.step, d.llc_mean, ".-", color="k" if comp == "full" else "C0", label=f"LLC {comp}")
axs[0].set_ylabel("estimated LLC"); axs[0].legend(fontsize=8)
axs[1].plot(w.index, w[("l0h0", "ov_symmetry")], ".-", color="C3", label="OV translational symmetry")
axs[1].plot(w.index, w[("l0h0", "qk_symmetry")], ".-", color="C4", label="QK translational symmetry")
axs[1].set_ylabel("symmetry (ratio)"); axs[1].legend(fontsize=8)
axs[2].plot(metrics.step, metrics.val_loss, ".-", color="C1", label="validation loss")
axs[2].set_yscale("log"); axs[2].set_ylabel("loss (nats)")
acc = axs[2].twinx(); acc.plot(metrics.step, metrics.val_acc, ".-", color="C2", label="validation accuracy"); acc.set_ylabel("accuracy")
for ax in axs: step_axis(ax, int(metrics.step.max())); ax.grid(alpha=0.3)
# %% [md]
# The OV circuit (source token down, output token across) at five checkpoints:
# %%
#| slow
steps, arr = circuit_arrays(run)
show = pick_steps(steps)
fig = plot_circuits(arr["ov"][[steps.index(s) for s in show]], show, ["l0h0"], "OV", "1 head: OV circuit (logits)")
# %% [md]
# The numbers at selected checkpoints:
# %%
#| slow
table = pd.DataFrame({"val_loss": metrics.set_index("step").val_loss, "val_acc": metrics.set_index("step").val_acc,
                      "ov_symmetry": w[("l0h0", "ov_symmetry")], "copy_mean": w[("l0h0", "copy_mean")],
                      "attn_correct": w[("l0h0", "attn_correct")],
                      "llc_full": llc[llc.component == "full"].set_index("step").llc_mean})
table.loc[pick_steps(steps, 16)].round(3)
# %% [md]
# ## Step through the checkpoints
#
# The frames of the run's static report (`llc-nb report`, `11_report`) at 12 checkpoints: loss and LLC with the
# current step, the head's OV and QK circuits, its attention on an example list, and the step's metrics. Move the
# slider or press play; it needs no kernel.
# %%
#| slow
from IPython.display import HTML
from llc_nb.report import run_slider
HTML(run_slider(run, pick_steps(steps, 12), title="1 head, seed 0"))
# %% [md]
# ## Verdict
#
# Numbers from the run above (`runs/study_1h_seed0`, seed 0; its `llc-nb run` took 860 s of wall time on 2 shared
# cores, of which training 280 s).
#
# * **The band forms, and is translation-symmetric only in part.** The OV circuit's diagonal appears between steps
#   35 and 158 (OV symmetry 0.02 → 0.14, validation accuracy 0.30 → 0.996) and is a clean diagonal from then on.
#   The symmetry ratio peaks at 0.18 (steps 474–632) and settles at 0.14–0.15: as training goes on, off-diagonal
#   entries (the blue speckle in the heatmaps at steps 1421 and 3000) grow, so the matrix is a band plus
#   number-specific structure, not a Toeplitz matrix. The QK circuit's symmetry keeps rising to 0.27.
# * **The LLC does not track the band.** While the band forms the LLC stays small: 0.06 at initialisation, a peak
#   of 0.24 at step 74 (the steepest loss drop), then 0.16 at step 158, when the band is in place. After that, with
#   the band fixed (OV symmetry 0.14–0.18) and the loss creeping from 0.065 to 0.036, the LLC rises steadily to 2.4
#   at step 947 and 5.2 at step 3000.
# * **A control for the 2-head study.** The small LLC peak at step 74 and its fall to step 158 happen here too, with
#   a single head that cannot divide the vocabulary: in the 2-head runs such a fall cannot by itself be credited to
#   specialization.
#
# What this does not settle: the LLC's scale depends on the sampler settings, calibrated on the 2-head model and
# not re-tuned here (no trace was flagged: 0 warnings of 40); one seed only; and 3,000 steps instead of the
# reference's 7,325.
