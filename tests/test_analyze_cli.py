"""`llc-nb analyze`: circuits.csv and figures for every checkpoint, bad inputs, and nothing computed is lost."""
import pandas as pd
import pytest

from llc_nb.store import Run

from conftest import TINY, llc_nb
from llc_nb.settings import load_settings
from llc_nb.train import train

HEAD_METRICS = {"ov_symmetry", "qk_symmetry", "copy_mean", "coverage", "regions", "copy_own", "suppress_other",
                "attn_correct", "ablation_dloss", "ablation_dacc", "ablation_dentropy"}
FIGURES = ["circuits_ov.png", "circuits_qk.png", "regions.png", "circuit_metrics.png", "data_gaps.png"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    s = load_settings(overrides=TINY + ["train.steps=60", "train.checkpoints=4", "train.log_checkpoints=2"])
    return train(s, tmp_path_factory.mktemp("analyze")/"r", progress=False).path


def test_analyze_every_checkpoint_head_and_metric(run_dir):
    r = llc_nb("analyze", run_dir, "--lists", "200", "--no-progress")
    assert r.returncode == 0, r.stderr
    tab = pd.read_csv(run_dir/"circuits.csv")
    assert list(tab.columns) == ["step", "component", "metric", "value"]
    steps = sorted(int(p.stem.split("_")[1]) for p in (run_dir/"checkpoints").glob("*.safetensors"))
    assert sorted(tab.step.unique()) == steps
    for h in ("l0h0", "l0h1"):
        assert set(tab[tab.component == h].metric) == HEAD_METRICS
    assert {"n_regions", "overlap", "val_loss"} <= set(tab[tab.component == "full"].metric)
    assert tab.groupby(["step", "component", "metric"]).size().max() == 1
    for f in FIGURES: assert (run_dir/f).stat().st_size > 1000, f
    assert "regions l0h" in r.stdout and "ablation +" in r.stdout
    gaps = pd.read_csv(run_dir/"data_gaps.csv")
    assert abs(gaps["mean"][0] - gaps["expected"][0]) < 0.05      # (9+2)/(4+1) = 2.2 for the tiny task


def test_analyze_bad_input(run_dir, tmp_path):
    r = llc_nb("analyze", run_dir, "--heatmap-steps", "1,x")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "--heatmap-steps" in r.stderr
    r = llc_nb("analyze", run_dir, "--heatmap-steps", "7")
    assert r.returncode == 1 and "no checkpoint at step(s) [7]" in r.stderr
    r = llc_nb("analyze", run_dir, "--lists", "0")
    assert r.returncode == 2 and "--lists" in r.stderr
    r = llc_nb("analyze", tmp_path/"nothing")
    assert r.returncode == 1 and "not an llc_nb run directory" in r.stderr


def test_corrupt_checkpoint_is_skipped_with_one_line(run_dir):
    r = llc_nb("analyze", run_dir, "--lists", "200", "--no-progress")
    assert r.returncode == 0, r.stderr
    last = sorted((run_dir/"checkpoints").glob("*.safetensors"))[-1]
    data = bytearray(last.read_bytes()); data[-10] ^= 0xFF
    last.write_bytes(bytes(data))
    r = llc_nb("analyze", run_dir, "--lists", "200", "--no-progress")
    warned = [l for l in r.stderr.splitlines() if "warning: skipping" in l]
    assert r.returncode == 3 and len(warned) == 1 and last.name in warned[0], r.stderr
    steps = sorted(int(p.stem[5:]) for p in (run_dir/"checkpoints").glob("*.safetensors"))
    assert sorted(Run(run_dir).table("circuits").step.unique()) == steps[:-1]


def test_twelve_heads_are_named_in_numeric_order(tmp_path):
    "Heads are named l0h0, l0h1, l0h2, ..., l0h10, l0h11 in the arrays' order (string order put l0h10 after l0h1)."
    import numpy as np
    from llc_nb import pipeline
    from llc_nb.circuits import circuit_arrays
    s = load_settings(overrides=TINY + ["model.n_heads=12", "model.d_head=4", "train.steps=4", "train.checkpoints=2",
                                        "train.log_checkpoints=0"])
    run = train(s, tmp_path/"wide", progress=False)
    tab = pipeline.analyze_step(run, n_lists=50, progress=False)
    heads = [f"l0h{h}" for h in range(12)]
    assert pipeline._heads(run) == heads
    steps, arr = circuit_arrays(run)
    last = tab[(tab.step == steps[-1]) & (tab.metric == "copy_mean")].set_index("component").value
    np.testing.assert_allclose([last[h] for h in heads], arr["copy_scores"][-1].mean(-1), rtol=1e-5)   # name h is row h
    named = [l.split(":")[0].strip() for l in pipeline.circuits_summary(run, tab).splitlines()[1:]]
    assert named == heads
