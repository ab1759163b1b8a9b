"""Probes: the controls behave as controls, a trained mixture model beats its random-init copy, a user's own model,
tokenizer and texts work, and bad inputs get one clear line."""
import random
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from llc_nb.model import HookedTransformer, make_model, model_config
from llc_nb.plots import plot_probes
from llc_nb.genre import ALPHABET, GENRES, CharTokenizer, chunk_texts, genre_texts
from llc_nb.probes import (CONTROLS, ProbeError, collect_activations, probe_model, probe_run, probe_texts, random_init_copy,
                           resid_hooks, tokenize_texts)
from llc_nb.settings import ModelSettings, load_settings
from llc_nb.tasks import SortTask
from llc_nb.train import train

# a user's own HookedTransformer is built directly here, which TransformerLens 3.9 warns about
pytestmark = pytest.mark.filterwarnings("ignore:HookedTransformer is deprecated:DeprecationWarning")

TINY_MIX = ["task.name=mix", "task.n_train=4000", "task.n_val=900", "model.n_layers=2", "train.steps=400",
            "train.batch_size=128", "train.checkpoints=3", "train.log_checkpoints=0", "train.eval_size=500",
            "train.lr_schedule=constant"]


@pytest.fixture(scope="module")
def mix_run(tmp_path_factory):
    return train(load_settings(profile="tiny", overrides=TINY_MIX), tmp_path_factory.mktemp("probes")/"mix", progress=False)


@pytest.fixture(scope="module")
def mix_table(mix_run):
    from llc_nb.pipeline import probe_step
    return probe_step(mix_run, n_lists=900, progress=False)


def f1(tab, **where):
    t = tab[tab.metric == "f1_macro"]
    for k, v in where.items(): t = t[t[k] == v]
    return t


def test_probe_step_writes_table_and_figure(mix_run, mix_table):
    assert list(mix_table.columns) == ["step", "layer", "hook", "pooling", "position", "control", "metric", "value"]
    assert sorted(mix_table.step.unique()) == mix_run.steps
    assert set(mix_table.control) == {"none", "random_init", "shuffled_labels"}
    back = mix_run.table("probes")
    pd.testing.assert_frame_equal(back, mix_table, check_dtype=False)
    assert (mix_run.path/"probes.png").stat().st_size > 10_000


def test_shuffled_labels_are_at_chance(mix_table):
    # 3 balanced kinds, 180 held-out lists per probe: macro F1 of a label-blind probe is about 1/3
    shuffled = f1(mix_table, control="shuffled_labels").value
    assert abs(shuffled.mean() - 1 / 3) < 0.05, shuffled.describe()
    assert shuffled.max() < 0.5, shuffled.max()


def test_trained_model_beats_its_random_init_copy(mix_run, mix_table):
    last, deepest = mix_run.steps[-1], "blocks.1.hook_resid_post"
    t = f1(mix_table, step=last, hook=deepest).pivot(index="position", columns="control", values="value")
    # at SEP nothing is known: everyone is at chance
    assert t.loc[0].max() < 0.45, t
    # once the answer has started, the trained model's residual stream knows the kind far better than an untrained copy
    gap = (t["none"] - t["random_init"]).loc[2:]
    assert gap.mean() > 0.1 and (gap > 0).all(), t
    # and better than it did at initialisation (step 0 is an untrained model too)
    t0 = f1(mix_table, step=0, hook=deepest, control="none").set_index("position").value
    assert (t["none"].loc[2:] - t0.loc[2:]).mean() > 0.1


def test_shuffled_texts_at_chance_and_informative_texts_decoded():
    model = make_model(model_config(ModelSettings(n_layers=1, d_model=16, d_head=8), SortTask(list_len=8, max_value=9)), 0)
    rng = random.Random(0)
    texts = ["".join(rng.choice("0123") for _ in range(10)) for _ in range(200)] + \
            ["".join(rng.choice("6789") for _ in range(10)) for _ in range(200)]
    labels = ["low"] * 200 + ["high"] * 200
    tab = probe_texts(model, texts, labels, tokenizer=lambda t: [int(c) for c in t])
    assert (f1(tab, control="none").value == 1).all()
    assert (f1(tab, control="shuffled_labels").value.between(0.35, 0.65)).all(), tab


def test_user_model_tokenizer_and_texts():
    "A HookedTransformer built without the toolkit, a tokenizer returning a dict of tensors (like Hugging Face's)."
    from transformer_lens import HookedTransformerConfig
    tok = CharTokenizer()
    cfg = HookedTransformerConfig(n_layers=2, d_model=32, d_head=8, n_heads=4, d_mlp=64, n_ctx=40, d_vocab=len(tok),
                                  act_fn="gelu", normalization_type="LN", device="cpu")
    torch.manual_seed(0)
    model = HookedTransformer(cfg).eval()
    hf_like = lambda text: {"input_ids": torch.tensor([tok(text)])}
    chunks = chunk_texts(genre_texts(24, seed=3), 24, per_genre=60)
    tab = probe_texts(model, chunks.text, chunks.genre, tokenizer=hf_like, hooks=["blocks.1.hook_resid_post", "blocks.0.hook_mlp_out"])
    assert set(tab.hook) == {"blocks.1.hook_resid_post", "blocks.0.hook_mlp_out"}
    assert set(tab.layer) == {2, 0}
    none, shuffled = f1(tab, control="none").value, f1(tab, control="shuffled_labels").value
    assert (none > 0.4).all() and (shuffled < 0.35).all(), tab          # 5 genres: chance is 0.2
    fig = plot_probes(tab)
    assert len(fig.axes) == 1


def test_padding_changes_no_activation():
    "Right padding is exact for causal models: pooled activations of a text do not depend on its batch mates."
    model = make_model(model_config(ModelSettings(n_layers=2, d_model=16, d_head=8), SortTask(list_len=8, max_value=9)), 1)
    ids = lambda t: [int(c) for c in t]
    texts = ["12", "3456789012", "55555"]
    tokens, mask = tokenize_texts(texts, ids, 17)
    assert mask.sum(1).tolist() == [2, 10, 5]
    together = collect_activations(model, tokens, mask[None], resid_hooks(model))
    for i, t in enumerate(texts):
        tk, mk = tokenize_texts([t], ids, 17)
        alone = collect_activations(model, tk, mk[None], resid_hooks(model))
        for h in resid_hooks(model):
            np.testing.assert_allclose(together[h][0, i], alone[h][0, 0], atol=1e-5)


def test_random_init_copy_of_a_pretrained_style_config():
    "Configs of pretrained models say init_weights=False; the control must still be a properly initialised model."
    from transformer_lens import HookedTransformerConfig
    cfg = HookedTransformerConfig(n_layers=1, d_model=16, d_head=8, n_heads=2, n_ctx=8, d_vocab=10, attn_only=True,
                                  init_weights=False, device="cpu")
    copy = random_init_copy(HookedTransformer(cfg), seed=3)
    for w in (copy.W_Q, copy.W_E, copy.W_U):
        assert torch.isfinite(w).all() and 0.01 < w.std() < 1


@pytest.mark.parametrize("call, message", [
    (lambda m, t, l, k: probe_texts(m, t, l[:-1], tokenizer=k), "labels: 39 labels for 40 texts"),
    (lambda m, t, l, k: probe_texts(m, t, ["a"] * 40, tokenizer=k), "labels: need at least 2 classes, got 1 ('a')"),
    (lambda m, t, l, k: probe_texts(m, t, l, tokenizer=k, hooks=["blocks.3.hook_resid_post"]),
     "hook 'blocks.3.hook_resid_post' does not exist in this model; valid hooks: hook_embed, hook_pos_embed, blocks.<l>.{"),
    (lambda m, t, l, k: probe_texts(m, t, l, tokenizer=k, hooks=["blocks.0.attn.hook_pattern"]), "attention patterns"),
    (lambda m, t, l, k: probe_texts(m, t, l, tokenizer=k, pooling="max"), "pooling: must be one of mean, last, got 'max'"),
    (lambda m, t, l, k: probe_texts(m, t[:-1] + ["1" * 18], l, tokenizer=k), "more than the model's context of 17"),
    (lambda m, t, l, k: probe_texts(m, t[:-1] + [5], l, tokenizer=k), "texts: item 39 is of type int, not a string"),
    (lambda m, t, l, k: probe_texts(m, "0123", ["a"], tokenizer=k), "texts: expected a list of texts, got a single string"),
    (lambda m, t, l, k: probe_texts(m, t, "ab" * 20, tokenizer=k), "labels: expected one label per item, got a single string"),
    (lambda m, t, l, k: probe_texts(m, t, l, tokenizer=lambda s: None), "tokenizer: must return token ids"),
    (lambda m, t, l, k: probe_texts(m, t, l), "tokenizer: this model has none"),
    (lambda m, t, l, k: probe_texts(m, t, l, tokenizer=k, test_size=0), "test_size: must be between 0 and 1, got 0"),
])
def test_bad_inputs_get_one_line(call, message):
    model = make_model(model_config(ModelSettings(n_layers=2, d_model=16, d_head=8), SortTask(list_len=8, max_value=9)), 0)
    texts = [str(i % 10) * (i % 5 + 1) for i in range(40)]
    labels = ["even" if i % 2 == 0 else "odd" for i in range(40)]
    with pytest.raises(ProbeError) as e: call(model, texts, labels, lambda t: [int(c) for c in t])
    assert message in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_runs_without_kinds_are_refused(tmp_path, tiny):
    run = train(load_settings(overrides=tiny + ["train.steps=2", "train.checkpoints=2", "train.log_checkpoints=0"]),
                tmp_path/"plain", progress=False)
    with pytest.raises(ProbeError, match=r"task is 'sort' \(train a mixture with --set task.name=mix\)"): probe_run(run)


def test_genre_corpus_is_generated_reproducibly():
    a, b = genre_texts(5, seed=7), genre_texts(5, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert sorted(a.genre.unique()) == sorted(GENRES)
    assert set("".join(a.text)) <= set(ALPHABET)
    assert not genre_texts(5, seed=8).equals(a)


def test_cli_probe_writes_table_and_prints_scores(mix_run, tmp_path, capsys):
    from llc_nb.cli import main
    from llc_nb.store import Run
    path = shutil.copytree(mix_run.path, tmp_path/"mix")
    last = mix_run.steps[-1]
    assert main(["probe", str(path), "--lists", "300", "--positions", "0,3", "--steps", str(last), "--no-progress"]) == 0
    out = capsys.readouterr().out
    tab = Run(path).table("probes")
    assert set(tab.step) == {last} and set(tab.position) == {0, 3} and set(tab.control) == {"none", *CONTROLS}
    assert f"macro F1 on held-out sequences at step {last}" in out and str(path/"probes.csv") in out
    assert (path/"probes.png").is_file()


@pytest.mark.parametrize("args, message", [
    (["--positions", "0,7"], "positions: output positions are 0..3, got 7"),
    (["--positions", "a"], "--positions: expected comma-separated integers, got 'a'"),
    (["--hooks", "blocks.9.hook_resid_post"], "hook 'blocks.9.hook_resid_post' does not exist in this model"),
    (["--lists", "3"], "--lists: must be >= 10, got 3"),
])
def test_cli_probe_bad_inputs_exit_2_with_one_line(mix_run, capsys, args, message):
    from llc_nb.cli import main
    assert main(["probe", str(mix_run.path), "--no-progress", "--steps", str(mix_run.steps[0]), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err, err


def test_cli_probe_refuses_a_run_of_one_task(tmp_path, tiny, capsys):
    from llc_nb.cli import main
    train(load_settings(overrides=tiny + ["train.steps=2", "train.checkpoints=2", "train.log_checkpoints=0"]),
          tmp_path/"plain", progress=False)
    assert main(["probe", str(tmp_path/"plain"), "--no-progress"]) == 2
    assert "train a mixture with --set task.name=mix" in capsys.readouterr().err


def test_cli_probe_genre_trains_once_and_probes(tmp_path, monkeypatch, capsys):
    "`llc-nb probe --genre RUN` trains the genre profile's run once (an ordinary run), then probes it; so does a plain probe of it."
    from llc_nb import settings
    from llc_nb.cli import main
    from llc_nb.store import Run
    small = ["model.n_layers=1", "model.d_model=16", "model.d_head=8", "model.n_heads=2", "task.n_train=640", "task.n_val=64",
             "task.context=32", "train.steps=20", "train.checkpoints=2", "train.log_checkpoints=0", "train.eval_size=64"]
    monkeypatch.setitem(settings.PROFILES, "genre", settings.PROFILES["genre"] + small)
    out = tmp_path/"genre"
    assert main(["probe", "--genre", str(out), "--no-progress"]) == 0
    tab = pd.read_csv(out/"probes.csv")
    assert set(tab.step) == {0, 20} and set(tab.control) == {"none", *CONTROLS} and (out/"probes.png").is_file()
    assert "macro F1 on held-out sequences at step 20" in capsys.readouterr().out
    assert Run(out).task.name == "genre" and Run(out).info["status"] == "complete"
    first = (out/"checkpoints"/"step_00000020.safetensors").stat().st_mtime_ns
    assert main(["probe", str(out), "--no-progress", "--steps", "20"]) == 0     # a genre run probes for genre; no retraining
    assert (out/"checkpoints"/"step_00000020.safetensors").stat().st_mtime_ns == first
    assert set(pd.read_csv(out/"probes.csv").step) == {20}
    assert main(["analyze", str(out), "--no-progress"]) == 1                   # unusable for circuits: no lists of numbers
    assert "a genre run has none" in capsys.readouterr().err


def test_pipeline_on_a_genre_run_skips_circuits_and_estimates_the_llc(tmp_path):
    "`llc-nb run --profile genre`: trained like any run, no circuits or report (no lists), an LLC with verdicts."
    from llc_nb.pipeline import run
    small = ["model.n_layers=1", "model.d_model=16", "model.d_head=8", "model.n_heads=2", "task.n_train=640", "task.n_val=64",
             "task.context=16", "train.steps=20", "train.checkpoints=3", "train.log_checkpoints=1", "train.eval_size=64",
             "llc.chains=2", "llc.max_steps=0", "llc.draws=10", "llc.burnin=5", "llc.init_loss_batches=2", "llc.batch_size=32", "llc.every=1",
             "llc.workers=1", "llc.hessian_probes=2"]
    said = []
    r = run(load_settings(profile="genre", overrides=small), tmp_path/"genre", progress=False, log=said.append)
    assert any("circuits     none: a genre run has no lists of numbers" in m for m in said)
    assert not (r.path/"circuits.csv").exists() and not (r.path/"report.html").exists()
    llc = r.table("llc")
    assert sorted(set(zip(llc.step, llc.component))) == [(s, c) for s in (0, 1, 20) for c in ("full", "l0h0", "l0h1")]
    assert llc.verdict.notna().all() and (r.path/"llc.png").is_file()
