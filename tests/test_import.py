"""`llc-nb import`: checkpoints written by a plain training loop outside the toolkit become a run on which analyze, llc,
report, animate and the explorer work unchanged; every unusable file is left out with one line naming it."""
import json, warnings

import matplotlib
matplotlib.use("Agg")
import pandas as pd
import pytest
import torch
from safetensors.torch import save_file
from transformer_lens import HookedTransformer, HookedTransformerConfig

from conftest import llc_nb, set_args
from test_llc_cli import SAMPLER

L, M = 4, 9                      # lists of 4 numbers in 0..9: vocabulary 11, context 9


class Foreign:
    "An object that only a full unpickle could rebuild."


def lists(n: int, g: torch.Generator) -> torch.Tensor:
    a = torch.rand(n, M + 1, generator=g).argsort(1)[:, :L]
    return torch.cat([a, torch.full((n, 1), M + 1), a.sort(1).values], 1)


def train_elsewhere(folder, n_heads: int, layernorm: bool, steps=60, every=20):
    "A training loop that knows nothing of llc_nb: its own data, Adam, a state dict saved every `every` steps."
    cfg = HookedTransformerConfig(n_layers=1, d_model=32, d_head=16, n_heads=n_heads, n_ctx=2 * L + 1, d_vocab=M + 2,
                                  attn_only=True, normalization_type="LN" if layernorm else None, act_fn=None, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = HookedTransformer(cfg)
    opt, g = torch.optim.Adam(model.parameters(), lr=3e-3), torch.Generator().manual_seed(1)
    folder.mkdir(parents=True)
    for step in range(steps + 1):
        if step % every == 0:
            sd = {k: v.clone() for k, v in model.state_dict().items()}
            if step == every: save_file(sd, str(folder/f"model_step{step}.safetensors"))
            else: torch.save({"model": sd, "step": step}, folder/f"model_step{step}.pt")
        t = lists(64, g)
        loss = torch.nn.functional.cross_entropy(model(t)[:, L:-1].reshape(-1, M + 2), t[:, L + 1:].reshape(-1))
        opt.zero_grad(); loss.backward(); opt.step()
    return model, cfg


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    "Three heads, no LayerNorm, trained elsewhere, with three unusable files beside the good ones; imported."
    d = tmp_path_factory.mktemp("import")
    src = d/"elsewhere"
    model, cfg = train_elsewhere(src, n_heads=3, layernorm=False)
    torch.save(model.state_dict(), src/"final.pt")                                        # no step number
    torch.save({"w": Foreign()}, src/"model_step80.pt")                                   # not weights-only
    torch.save({**model.state_dict(), "blocks.0.attn.W_V": torch.zeros(2, 32, 16)}, src/"model_step100.pt")   # another shape
    r = llc_nb("import", src, "--out", d/"run", "--no-progress", "--set", "train.weight_decay=0")
    return src, d/"run", r


def test_import_keeps_the_good_files_and_names_the_bad(imported):
    src, run_dir, r = imported
    assert r.returncode == 3, r.stderr
    err = r.stderr.splitlines()
    assert any("final.pt: no step number in the file name" in l for l in err)
    assert any("model_step80.pt: not a weights-only file" in l for l in err)
    assert any("model_step100.pt: does not fit the model's config: blocks.0.attn.W_V is (2, 32, 16), expected (3, 32, 16)" in l for l in err)
    assert "3 file(s) left out" in r.stderr and "imported   from" in r.stdout
    from llc_nb.store import Run
    run = Run(run_dir)
    assert run.steps == [0, 20, 40, 60] and run.config["n_heads"] == 3 and run.config["normalization_type"] is None
    assert (run.settings.task.list_len, run.settings.task.max_value) == (L, M)       # read off the model
    info = run.info["imported"]
    assert info["files"]["20"]["file"] == "model_step20.safetensors" and len(info["files"]["60"]["sha256"]) == 64
    saved = torch.load(src/"model_step60.pt", weights_only=True)["model"]
    assert torch.equal(run.model(60).blocks[0].attn.W_O.detach(), saved["blocks.0.attn.W_O"])   # the very weights
    assert run.metrics.val_loss.iloc[-1] < run.metrics.val_loss.iloc[0] < 3
    # resuming training makes no sense for an import, and importing again adds nothing
    r2 = llc_nb("train", "--resume", run_dir)
    assert r2.returncode == 1 and "not trained here: there is nothing to resume" in r2.stderr
    r3 = llc_nb("import", src, "--out", run_dir, "--no-progress", "--set", "train.weight_decay=0")
    assert r3.returncode == 3 and Run(run_dir).steps == run.steps


def test_analyze_llc_report_animate_and_explorer_work_unchanged(imported):
    _, run_dir, _ = imported
    r = llc_nb("analyze", run_dir, "--lists", "200", "--no-progress")
    assert r.returncode == 0, r.stderr
    circ = pd.read_csv(run_dir/"circuits.csv")
    assert set(circ.component) >= {"l0h0", "l0h1", "l0h2"} and set(circ.step) == {0, 20, 40, 60}
    r = llc_nb("llc", run_dir, "--no-progress", "--steps", "0,60", *set_args(SAMPLER))
    assert r.returncode == 0, r.stderr
    tab = pd.read_csv(run_dir/"llc.csv")
    assert sorted(set(zip(tab.step, tab.component))) == [(s, c) for s in (0, 60) for c in ("full", "l0h0", "l0h1", "l0h2")]
    assert tab.verdict.notna().all()
    assert llc_nb("report", run_dir).returncode == 0 and (run_dir/"report.html").stat().st_size > 10_000
    r = llc_nb("animate", run_dir, "--frames", "4", "--what", "ov")
    assert r.returncode == 0, r.stderr
    from llc_nb.explorer import CheckpointExplorer
    ex = CheckpointExplorer(run_dir)
    assert ex.view.heads == ["l0h0", "l0h1", "l0h2"]
    ex.slider.value = 3
    assert ex.step == 60 and ex.message == "" and len(ex.prediction) == L


def test_manifest_config_and_bad_input(tmp_path):
    src = tmp_path/"ln"
    _, cfg = train_elsewhere(src, n_heads=2, layernorm=True, steps=20, every=10)
    for p in list(src.iterdir()): p.rename(src/f"ckpt_{'abc'[int(p.stem.split('step')[1]) // 10]}{p.suffix}")
    (src/"manifest.json").write_text(json.dumps({"ckpt_a.pt": 0, "ckpt_b.safetensors": 10, "ckpt_c.pt": 20, "ckpt_z.pt": 30}))
    d = {k: v for k, v in cfg.to_dict().items() if isinstance(v, (int, float, str, bool, type(None)))}
    (tmp_path/"cfg.json").write_text(json.dumps(d))
    r = llc_nb("import", src, "--out", tmp_path/"run", "--config", tmp_path/"cfg.json", "--no-progress")
    assert r.returncode == 3 and "ckpt_z.pt: listed in the manifest, but there is no such file" in r.stderr
    from llc_nb.store import Run
    run = Run(tmp_path/"run")
    assert run.steps == [0, 10, 20] and run.config["normalization_type"] == "LN" and run.info["imported"]["config"].endswith("cfg.json")
    # what is refused before anything is written
    (tmp_path/"mlp.json").write_text(json.dumps({**d, "attn_only": False}))
    r = llc_nb("import", src, "--out", tmp_path/"x", "--config", tmp_path/"mlp.json")
    assert r.returncode == 2 and "attn_only=False (an attention-only model)" in r.stderr and not (tmp_path/"x").exists()
    r = llc_nb("import", src, "--out", tmp_path/"y", "--set", "task.max_value=20")
    assert r.returncode == 2 and "d_vocab 11 and n_ctx 9" in r.stderr and not (tmp_path/"y").exists()
    r = llc_nb("import", src, "--out", tmp_path/"ln")                                    # a folder that is not an import
    assert r.returncode == 1 and "already exists and is not an import of" in r.stderr
    r = llc_nb("import", tmp_path/"nowhere")
    assert r.returncode == 1 and "no such folder of checkpoints" in r.stderr
