"""The LLC of a genre run (a task with no input list: every position after the first is an answer) on both engines."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from llc_nb.llc import VERDICTS, estimate_step
from llc_nb.sampling import sampling_data, sgld_loss_fn
from llc_nb.settings import load_settings
from llc_nb.tasks import answer_loss
from llc_nb.train import train

SMALL = ["model.n_layers=1", "model.d_model=16", "model.d_head=8", "model.n_heads=2", "task.n_train=640", "task.n_val=64",
         "task.context=16", "train.steps=10", "train.checkpoints=2", "train.log_checkpoints=0", "train.eval_size=64",
         "llc.chains=2", "llc.max_steps=0", "llc.draws=4", "llc.burnin=2", "llc.init_loss_batches=2", "llc.batch_size=32", "llc.workers=1",
         "llc.hessian_probes=0", "llc.sampler=sgld", "llc.step_size=1e-4", "llc.n_beta=10", "llc.localization=100",
         "llc.head_step_size=1e-4", "llc.head_n_beta=10", "llc.head_localization=100"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train(load_settings(profile="genre", overrides=SMALL), tmp_path_factory.mktemp("genre")/"g", progress=False)


def test_devinterp_loss_of_a_genre_run_is_its_answer_loss(run):
    "No list (`list_len = 0`): the devinterp per-token loss covers every position and its mean is the training loss."
    assert run.task.list_len == 0
    tokens = sampling_data(run, run.settings.llc)[0]
    model = run.model(run.steps[-1])
    with torch.no_grad():
        per_tok = sgld_loss_fn(run.task)(model, tokens)
        assert torch.allclose(per_tok.mean(), answer_loss(run.task, model(tokens), tokens), atol=1e-5)


@pytest.mark.parametrize("backend", ["devinterp", "batched"])
def test_genre_run_estimates_on_both_engines(run, backend):
    s = replace(run.settings.llc, backend=backend, **(dict(integrator="euler", batch_noise="raw") if backend == "devinterp" else {}))   # its own update
    out = estimate_step(run, run.steps[-1], ["full", "l0h1"], s)
    for est, row in out:
        assert est.chains_ok == 2 and np.isfinite(est.llc_mean) and est.trace.shape == (2, 6), row
        assert row["verdict"] in VERDICTS
    ests = [e for e, _ in out]
    assert abs(ests[0].init_loss - ests[1].init_loss) < 1e-6                 # one sampling set, one loss at the checkpoint
