"""The batched engine on a two-layer model: a head of a deeper model moves through masks, and only its own weights move."""
from dataclasses import replace

import numpy as np
import pytest

from conftest import TINY
from llc_nb.fused import FusedModel, component_chains
from llc_nb.llc import VERDICTS, estimate_step
from llc_nb.sampling import sampling_data
from llc_nb.settings import load_settings
from llc_nb.train import train


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    s = load_settings(overrides=TINY + ["model.n_layers=2", "train.steps=30", "train.checkpoints=2", "train.log_checkpoints=0"])
    return train(s, tmp_path_factory.mktemp("layers")/"two", progress=False)


def test_head_masks_cover_exactly_that_head(run):
    model = run.model(30)
    tokens = sampling_data(run, run.settings.llc)[0]
    _, center, masks = component_chains(FusedModel.of(model, run.task.list_len), model, tokens, ["l1h0"], 2)
    assert set(masks) == set(center)
    for name, m in masks.items():
        if name.startswith("blocks.1.attn.") and name.split(".")[-1] in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V"):
            assert m[:, 0].eq(1).all() and m[:, 1:].eq(0).all(), name      # head 0 of layer 1 only
        else:
            assert m.eq(0).all(), name                                       # everything else frozen (b_O included)


def test_batched_estimate_of_a_deeper_head(run):
    s = replace(run.settings.llc, chains=2, draws=10, burnin=2, batch_size=64, init_loss_batches=4, hessian_probes=2,
                step_size=1e-4, head_step_size=1e-4, n_beta=10.0, head_n_beta=10.0, localization=100.0, head_localization=100.0,
                sampler="sgld", backend="batched", workers=1, every=1)
    (est, row), = estimate_step(run, 30, ["l1h0"], s)
    assert est.chains_ok == 2 and np.isfinite(est.llc_mean) and est.trace.shape == (2, 12)
    assert row["verdict"] in VERDICTS and est.trace_h > 0
