"""The `llc-nb` command: help, settings errors (exit 2, one line, nothing written), train/run/info on tiny runs."""
import json

import pandas as pd
import pytest

from conftest import ROOT, llc_nb, set_args


@pytest.mark.parametrize("cmd", [[], ["run"], ["train"], ["info"], ["defaults"]])
def test_help(cmd):
    r = llc_nb(*cmd, "--help")
    assert r.returncode == 0, r.stderr
    assert "usage: llc-nb" in r.stdout
    if cmd in (["run"], ["train"]):
        for opt in ("--set", "--quick", "--out", "--config"): assert opt in r.stdout


@pytest.mark.parametrize("override,needle", [
    ("model.n_heads=0", "model.n_heads: must be >= 1, got 0"),
    ("task.list_len=60", "task.list_len: 60 distinct numbers need max_value >= 59"),
    ("train.steps=ten", "train.steps: expected int, got 'ten'"),
    ("train.stepz=5", "train.stepz: unknown key"),
    ("optim.lr=0.1", "[optim]: unknown section"),
    ("train.lr=-1", "train.lr: must be > 0, got -1.0"),
    ("steps=5", "must look like section.key=value"),
])
def test_bad_settings_exit_2_one_line_nothing_written(tmp_path, override, needle):
    out = tmp_path/"r"
    r = llc_nb("train", "--out", out, "--set", override)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("llc-nb: error: "), r.stderr
    assert needle in r.stderr
    assert not out.exists()


def test_bad_config_file(tmp_path):
    cfg = tmp_path/"exp.ini"; cfg.write_text("[model]\nn_heads = two\n")
    r = llc_nb("run", "--config", cfg, "--out", tmp_path/"r")
    assert r.returncode == 2 and "model.n_heads: expected int, got 'two'" in r.stderr
    r = llc_nb("run", "--config", tmp_path/"missing.ini", "--out", tmp_path/"r")
    assert r.returncode == 2 and "settings file not found" in r.stderr


def test_train_then_run_is_idempotent(tmp_path, tiny):
    out = tmp_path/"r"
    args = set_args(tiny + ["train.steps=40", "train.checkpoints=5", "train.log_checkpoints=2"])
    r = llc_nb("train", "--out", out, "--no-progress", *args)
    assert r.returncode == 0, r.stderr
    assert "val_acc" in r.stdout and "5 checkpoints" in r.stdout
    for f in ("settings.ini", "run.json", "metrics.csv"): assert (out/f).is_file()
    assert len(list((out/"checkpoints").glob("step_*.safetensors"))) == 5
    info = json.loads((out/"run.json").read_text())
    assert info["status"] == "complete" and info["versions"]["torch"]
    m = pd.read_csv(out/"metrics.csv")
    assert list(m.columns[:4]) == ["step", "train_loss", "val_loss", "val_acc"] and len(m) == 5
    before = (out/"checkpoints"/"step_00000040.safetensors").read_bytes()
    # `run` on the finished run does nothing and says so
    r = llc_nb("run", "--out", out, "--no-progress", "--no-llc", *args)
    assert r.returncode == 0 and "already trained" in r.stdout + r.stderr
    assert f"report       {out/'report.html'}" in r.stdout and "CheckpointExplorer(" in r.stdout
    assert "no LLC estimates" in (out/"report.html").read_text()          # the report says what is missing
    assert (out/"checkpoints"/"step_00000040.safetensors").read_bytes() == before
    # other settings on the same directory are refused, and nothing is touched
    r = llc_nb("run", "--out", out, *args, "--set", "train.steps=50")
    assert r.returncode == 2 and "train.steps: 40 here vs 50 requested" in r.stderr
    # `train` without --resume refuses an existing run
    r = llc_nb("train", "--out", out, *args)
    assert r.returncode == 1 and "already exists" in r.stderr
    r = llc_nb("train", "--resume", out, "--set", "train.steps=50")
    assert r.returncode == 2 and "--resume continues a run with its own settings" in r.stderr
    assert (out/"checkpoints"/"step_00000040.safetensors").read_bytes() == before


def test_run_reads_settings_ini_in_cwd(tmp_path, tiny):
    from llc_nb.settings import load_settings
    s = load_settings(overrides=tiny + ["train.steps=10", "train.checkpoints=2", "train.log_checkpoints=0", "run.name=cwdrun"])
    (tmp_path/"settings.ini").write_text(s.to_ini())
    r = llc_nb("run", "--no-progress", "--no-llc", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path/"runs"/"cwdrun"/"checkpoints"/"step_00000010.safetensors").is_file()


def test_repo_settings_ini_is_the_builtin_default(tmp_path):
    from llc_nb.settings import Settings, load_settings
    assert load_settings(ROOT/"settings.ini") == Settings()
    r = llc_nb("defaults")
    assert r.returncode == 0
    printed = tmp_path/"defaults.ini"
    printed.write_text(r.stdout)
    assert load_settings(printed) == Settings()                 # `llc-nb defaults` prints the built-in experiment


def test_run_trains_then_estimates_llc(tmp_path, tiny):
    from test_llc_cli import SAMPLER
    out = tmp_path/"r"
    args = set_args(tiny + ["train.steps=20", "train.checkpoints=3", "train.log_checkpoints=0"] + SAMPLER + ["llc.workers=2"])
    r = llc_nb("run", "--out", out, "--no-progress", *args)
    assert r.returncode == 0, r.stderr
    tab = pd.read_csv(out/"llc.csv")
    assert len(tab) == 3 * 3 and (tab.chains_ok == 2).all()
    assert "LLC time" in r.stdout and "l0h1" in r.stdout
    circ = pd.read_csv(out/"circuits.csv")                      # the circuit analysis is part of `run`
    assert sorted(circ.step.unique()) == sorted(tab.step.unique()) and "circuits" in r.stdout
    page = (out/"report.html").read_text()                       # and so is the report, written last
    assert page.count('class="llcnb-frame"') == 3 and "no LLC estimates" not in page and "report       " in r.stdout
    # a second `run` reuses every estimate
    traces = sorted(p.name for p in (out/"llc").iterdir())
    r = llc_nb("run", "--out", out, "--no-progress", *args)
    assert r.returncode == 0 and sorted(p.name for p in (out/"llc").iterdir()) == traces
    pd.testing.assert_frame_equal(tab, pd.read_csv(out/"llc.csv"))
