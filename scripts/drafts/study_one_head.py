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
print("\n".join(l for l in buf.getvalue().splitlines() if l.startswith(("model", "time", "final", "step ", "  l0h0", "LLC time"))))
llc, circ, metrics = run.table("llc"), run.table("circuits"), run.metrics
w = circ.pivot_table(index="step", columns=["head", "metric"], values="value")
print("LLC estimates with warnings:", int((llc.warnings.fillna("") != "").sum()), "of", len(llc))
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
                      "llc_full": llc[llc.component == "full"].set_index("step").llc_mean,
                      "llc_l0h0": llc[llc.component == "l0h0"].set_index("step").llc_mean})
table.loc[pick_steps(steps, 16)].round(3)
