"""The checkpoint explorer's state and callbacks (no browser), the static report, and `llc-nb report`, on tiny runs.

ipywidgets in plain Python draw nothing (`jslink`, `Play` and `Output` are inert), so these tests drive the widget the
way the browser would, by setting `slider.value` and `text.value`, and assert what each panel holds. The real UI is
tested in JupyterLab by tests/test_browser.py.
"""
import contextlib, io, re, shutil
from types import SimpleNamespace

import matplotlib
matplotlib.use("Agg")
import pandas as pd
import pytest

from conftest import TINY, llc_nb
from llc_nb.pipeline import circuits_step
from llc_nb.cli import main
from llc_nb.explorer import CheckpointExplorer
from llc_nb.view import RunView
from llc_nb.pipeline import report_step
from llc_nb.report import run_slider, slider_html
from llc_nb.settings import load_settings
from llc_nb.store import Run, RunError
from llc_nb.tasks import ListError
from llc_nb.train import train

PNG = b"\x89PNG"


def _fake_llc(run: Run, components) -> pd.DataFrame:
    "An llc.csv with known values (the explorer only reads it): llc_mean = step / 10 + component index."
    return pd.DataFrame([dict(step=s, component=c, llc_mean=s / 10 + i, llc_std=0.1, chains_ok=2, step_size=1e-4, n_beta=10.0,
                              localization=100.0) for s in run.steps for i, c in enumerate(components)])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("explorer")
    three = train(load_settings(overrides=TINY + ["model.n_heads=3", "train.steps=60", "train.checkpoints=4",
                                                  "train.log_checkpoints=2"]), d/"three", progress=False)
    circuits_step(three, n_lists=200, progress=False)
    three.write_table("llc", _fake_llc(three, ["full", "l0h0", "l0h1", "l0h2"]))
    one = train(load_settings(overrides=TINY + ["model.n_heads=1", "train.steps=30", "train.checkpoints=3",
                                                "train.log_checkpoints=1"]), d/"one", progress=False)
    return SimpleNamespace(three=three, one=one)


def test_three_heads_every_step_updates_every_panel(runs):
    run = runs.three
    ex = CheckpointExplorer(run.path)
    assert ex.view.heads == ["l0h0", "l0h1", "l0h2"] and ex.view.notes == []
    shown = []
    for i, step in enumerate(run.steps):
        ex.slider.value = i                                  # what dragging the slider, or Play through jslink, does
        assert ex.step == step and f"<b>step {step}</b> · checkpoint {i + 1} of {len(run.steps)}" in ex.readout.value
        assert ex.message == "" and len(ex.prediction) == 4 and "model's answer at step" in ex.answer.value
        assert ex.curves.value[:4] == PNG and ex.heads.value[:4] == PNG
        shown.append((ex.curves.value, ex.heads.value, ex.table.value))
    for panel in zip(*shown): assert len(set(panel)) == len(run.steps)   # every panel differs at every step
    last = run.steps[-1]
    t = ex.view.step_table(last)
    assert list(t.columns) == ["full", "l0h0", "l0h1", "l0h2"]
    assert t.loc["llc", "full"] == last / 10 and t.loc["llc", "l0h2"] == last / 10 + 3
    assert t.loc["val_loss", "full"] == run.metrics.val_loss.iloc[-1]   # training's metric, not the analysis's
    assert {"arrangement", "numbers owned", "ov_symmetry", "ablation_dloss", "attn_correct"} <= set(t.index)
    assert "l0h2" in ex.table.value and "llc_std" in ex.table.value
    assert ex.show(run.steps[1]) and ex.slider.value == 1 and ex.step == run.steps[1]


def test_one_head_without_llc_or_circuits_says_so(runs):
    run = runs.one
    ex = CheckpointExplorer(run.path, step=run.steps[-1])
    assert ex.view.heads == ["l0h0"] and ex.index == len(run.steps) - 1
    assert [n.split(":")[0] for n in ex.view.notes] == ["no LLC estimates", "no circuit analysis"]
    assert f"llc-nb llc {run.path}" in ex.table.value
    t = ex.view.step_table(run.steps[-1])
    assert list(t.index) == ["val_loss", "val_acc"] and list(t.columns) == ["full", "l0h0"]
    notes = [n.get_text() for n in ex.view.figure.notes]
    assert notes[0].startswith("no circuit analysis") and notes[2] == "" and notes[-1].startswith("no circuit analysis")
    assert "no LLC estimates" in ex.view.curves.axes[0].texts[0].get_text()
    before = ex.heads.value
    assert ex.set_example([9, 1, 5, 0]) and ex.example == [9, 1, 5, 0] and ex.heads.value != before
    assert ex.show(run.steps[0]) and ex.message == ""


BAD_LISTS = [("1 2 3", "list: expected 4 numbers, got 3"), ("1 2 3 4 5", "list: expected 4 numbers, got 5"),
             ("1 2 3 10", "list: numbers must be in 0..9, got 10"), ("-1 2 3 4", "list: numbers must be in 0..9, got -1"),
             ("1 1 2 3", "list: numbers must not repeat, 1 appears 2 times"), ("a b c d", "list: only whole numbers are allowed"),
             ("", "list: expected 4 numbers, got 0"), ("[3, 0, 2, 1.5]", "list: only whole numbers are allowed")]


def test_invalid_list_is_a_message_in_the_widget(runs):
    ex = CheckpointExplorer(runs.one.path)
    for text, needle in BAD_LISTS:
        example, image = ex.example, ex.heads.value
        ex.text.value = text                                 # what typing and pressing Enter does
        assert needle in ex.message and "\n" not in ex.message and needle in ex.status.value, (text, ex.message)
        assert ex.example == example and ex.heads.value == image   # the previous list stays
    ex.text.value = "[3, 0, 2, 1]"
    assert ex.message == "" and ex.example == [3, 0, 2, 1]


def test_bad_steps_and_runs(runs, tmp_path):
    ex = CheckpointExplorer(runs.one.path)
    for bad in (12345, "x", None):
        assert not ex.show(bad) and ex.step == 0
        assert ex.message.startswith("no checkpoint at step") and "\n" not in ex.message
    with pytest.raises(RunError, match="no checkpoint at step 7"): CheckpointExplorer(runs.one.path, step=7)
    with pytest.raises(ListError, match="expected 4 numbers, got 2"): CheckpointExplorer(runs.one.path, example="1 2")
    with pytest.raises(RunError, match="not an llc_nb run directory"): CheckpointExplorer(tmp_path/"nothing")
    empty = Run.create(tmp_path/"empty", runs.one.settings)
    with pytest.raises(RunError, match="no checkpoints yet"): CheckpointExplorer(empty)


def test_corrupt_checkpoint_and_stale_circuits(runs, tmp_path):
    path = shutil.copytree(runs.one.path, tmp_path/"copy")
    shutil.copy(runs.three.path/"circuits.safetensors", path/"circuits.safetensors")   # another model's arrays
    run = Run(path)
    last = run.checkpoint_path(run.steps[-1])
    data = bytearray(last.read_bytes()); data[-10] ^= 0xFF; last.write_bytes(bytes(data))
    ex = CheckpointExplorer(path)                           # the corrupt checkpoint is skipped, and the view says so
    assert ex.view.circuit_steps == [] and any("no circuit analysis" in n for n in ex.view.notes)
    assert ex.view.steps == run.steps[:-1] and any(f"unreadable checkpoint file(s) at step(s) [{run.steps[-1]}]" in n for n in ex.view.notes)
    assert not ex.show(run.steps[-1]) and "\n" not in ex.message
    curves = ex.curves.value
    assert ex.show(run.steps[-2]) and ex.curves.value != curves
    last.write_bytes(b"")                                    # a checkpoint that breaks after the view was opened
    ex2 = CheckpointExplorer(path, step=run.steps[0])
    run.checkpoint_path(run.steps[-2]).write_bytes(b"")
    assert ex2.show(run.steps[-2])                           # the step changes; the attention panel cannot be drawn
    assert run.checkpoint_path(run.steps[-2]).name in ex2.message and "\n" not in ex2.message
    assert ex2.prediction == [] and ex2.view.figure.notes[2].get_text() == "checkpoint unreadable"


def test_sliders_are_self_contained_and_do_not_collide(runs):
    a, b = run_slider(runs.one.path), run_slider(RunView(runs.one.path), steps=runs.one.steps[:2])
    ids = [re.search(r'class="llcnb-slider" id="([^"]+)"', h).group(1) for h in (a, b)]
    assert ids[0] != ids[1]
    for h, uid in zip((a, b), ids):
        assert f'document.getElementById("{uid}")' in h and h.count('getElementById(') == 1
        assert not re.search(r'(src|href)="(?!data:)', h)
    assert b.count('class="llcnb-frame"') == 2 and a.count('class="llcnb-frame"') == len(runs.one.steps)
    with pytest.raises(ValueError, match="no frames"): slider_html([])


def test_report_cli(runs, tmp_path):
    r = llc_nb("report", runs.three.path)
    assert r.returncode == 0, r.stderr
    path = runs.three.path/"report.html"
    assert f"report       {path}" in r.stdout and "CheckpointExplorer(" in r.stdout
    page = path.read_text()
    assert re.findall(r'data-label="([^"]+)"', page) == [f"step {s}" for s in runs.three.steps]
    assert page.count('class="llcnb-slider"') == 1 and "n_heads = 3" in page and "l0h2" in page
    assert not re.search(r'(src|href)="(?!data:)', page) and "<script src" not in page
    assert "no LLC estimates" not in page and "no circuit analysis" not in page
    out = tmp_path/"one.html"
    assert report_step(runs.one, out) == out
    page = out.read_text()
    assert "no LLC estimates" in page and "no circuit analysis" in page
    for args, code, needle in [(["--steps", "1,x"], 2, "--steps: expected comma-separated integers"),
                               (["--steps", "7"], 1, "no checkpoint at step(s) [7]")]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err): assert main(["report", str(runs.three.path), *args, "--out", str(tmp_path/"x.html")]) == code
        assert needle in err.getvalue() and err.getvalue().count("\n") == 1
    assert not (tmp_path/"x.html").exists()
