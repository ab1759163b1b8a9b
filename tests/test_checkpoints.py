"""Bad checkpoint files: truncated, corrupt, foreign shape, pickles (never unpickled). The rest of the run still loads."""
import pickle, shutil

import pytest
import torch

from conftest import llc_nb
from llc_nb.settings import load_settings
from llc_nb.store import CheckpointError, Run
from llc_nb.train import train

STEPS = [0, 1, 5, 10]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from conftest import TINY
    d = tmp_path_factory.mktemp("runs")
    base = TINY + ["train.steps=10", "train.checkpoints=4", "train.log_checkpoints=1"]
    two = train(load_settings(overrides=base + ["model.n_heads=2"]), d/"two", progress=False)
    one = train(load_settings(overrides=base + ["model.n_heads=1"]), d/"one", progress=False)
    assert two.steps == STEPS
    return two, one


@pytest.fixture
def run(runs, tmp_path):
    shutil.copytree(runs[0].path, tmp_path/"r")
    return Run(tmp_path/"r")


def _others_load(run, bad_step):
    for s in run.steps:
        if s != bad_step: assert isinstance(run.model(s).W_Q, torch.Tensor)


def test_truncated(run):
    p = run.checkpoint_path(5); p.write_bytes(p.read_bytes()[:500])
    with pytest.raises(CheckpointError, match=r"step_00000005\.safetensors: not a readable safetensors checkpoint"): run.model(5)
    _others_load(run, 5)


def test_corrupt_bytes(run):
    p = run.checkpoint_path(5); b = bytearray(p.read_bytes()); b[len(b) // 2] ^= 0x55; p.write_bytes(bytes(b))
    with pytest.raises(CheckpointError, match=r"step_00000005\.safetensors: (contents do not match|not a readable)"): run.model(5)
    _others_load(run, 5)


def test_foreign_shape(run, runs):
    one = runs[1]
    shutil.copy(one.checkpoint_path(5), run.checkpoint_path(5))
    with pytest.raises(CheckpointError, match=r"step_00000005\.safetensors: checkpoint is for another model shape: n_heads=1 \(expected 2\)"):
        run.model(5)
    _others_load(run, 5)


def test_empty_and_foreign_safetensors(run):
    from safetensors.torch import save_file
    save_file({"x": torch.zeros(3)}, str(run.checkpoint_path(5)))
    with pytest.raises(CheckpointError, match="not an llc_nb checkpoint"): run.model(5)
    run.checkpoint_path(1).write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"step_00000001\.safetensors"): run.model(1)
    assert sorted(run.check()) == [1, 5]


class _Boom:
    "Unpickling this would create a marker file."
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (open, (self.marker, "w"))


def test_pickle_is_never_unpickled(run, tmp_path):
    marker = tmp_path/"UNPICKLED"
    payload = pickle.dumps({"embed.W_E": _Boom(str(marker))})
    run.checkpoint_path(5).write_bytes(payload)                 # a pickle under a checkpoint name
    (run.path/"checkpoints"/"step_00000007.pt").write_bytes(payload)   # and a torch-style file beside them
    with pytest.raises(CheckpointError, match=r"step_00000005\.safetensors"): run.model(5)
    assert run.steps == STEPS                                   # the .pt file is not a checkpoint
    assert not marker.exists()
    _others_load(run, 5)


def test_cli_info_names_bad_file(run):
    p = run.checkpoint_path(10); p.write_bytes(p.read_bytes()[:-7])
    r = llc_nb("info", run.path)
    assert r.returncode == 3
    assert "step_00000010.safetensors" in r.stdout and "val_acc" in r.stdout


SHORT_LLC = ["--set", "llc.max_steps=0", "--set", "llc.chains=2", "--set", "llc.draws=10", "--set", "llc.burnin=5", "--set", "llc.init_loss_batches=2",
             "--set", "llc.hessian_probes=0", "--set", "llc.workers=1", "--set", "llc.batch_size=64", "--set", "llc.every=1"]


def test_bad_files_are_skipped_by_every_analysis(run):
    "A truncated checkpoint and a valid safetensors file that is not a checkpoint, among good ones: skipped, named, exit 3."
    from safetensors.torch import save_file
    p = run.checkpoint_path(1); p.write_bytes(p.read_bytes()[:400])
    save_file({"x": torch.zeros(3)}, str(run.checkpoint_path(5)))
    good = [0, 10]
    for cmd in (["analyze", run.path, "--lists", "100", "--no-progress"], ["llc", run.path, "--no-progress", *SHORT_LLC],
                ["report", run.path]):
        r = llc_nb(*cmd)
        assert r.returncode == 3, (cmd, r.stderr)
        warned = [l for l in r.stderr.splitlines() if l.startswith("llc-nb: warning: skipping checkpoint")]
        assert len(warned) == 2 and "step_00000001.safetensors" in warned[0] and "step_00000005.safetensors" in warned[1], r.stderr
        assert "2 unreadable checkpoint file(s) skipped" in r.stderr
    assert sorted(Run(run.path).table("circuits").step.unique()) == good
    assert sorted(Run(run.path).table("llc").step.unique()) == good
    page = (run.path/"report.html").read_text()
    assert page.count('class="llcnb-frame"') == len(good)
    assert sorted(Run(run.path).skipped) == [1, 5]
    r = llc_nb("info", run.path)
    assert r.returncode == 3 and "not a readable safetensors checkpoint" in r.stdout and "not an llc_nb checkpoint" in r.stdout
