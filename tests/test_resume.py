"""A run killed with SIGKILL mid-training and resumed ends bitwise identical to an uninterrupted run."""
import signal, subprocess, sys, time

import pandas as pd
import torch

from conftest import llc_nb, set_args

STEPS = 1500


def _final_state(run_dir):
    from llc_nb.store import Run
    run = Run(run_dir)
    state, _ = run.load_state(STEPS)
    return run, state


def test_resume_after_kill_is_bitwise_identical(tmp_path, tiny):
    args = set_args(tiny + [f"train.steps={STEPS}", "train.checkpoints=16", "train.log_checkpoints=4"])
    ref = tmp_path/"uninterrupted"
    r = llc_nb("train", "--out", ref, "--no-progress", *args)
    assert r.returncode == 0, r.stderr

    killed = tmp_path/"killed"
    exe = [sys.executable, "-c", "from llc_nb.cli import main; raise SystemExit(main())"]
    proc = subprocess.Popen(exe + ["train", "--out", str(killed), "--no-progress", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpts = killed/"checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if ckpts.is_dir() and len(list(ckpts.glob("step_*.safetensors"))) >= 9: break
        time.sleep(0.01)
    assert proc.poll() is None, "training finished before it could be killed; make the run longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    from llc_nb.store import Run
    partial = Run(killed)
    assert partial.info["status"] == "training"              # really interrupted
    assert 0 < partial.steps[-1] < STEPS

    r = llc_nb("train", "--resume", killed, "--no-progress")
    assert r.returncode == 0, r.stderr
    run_a, a = _final_state(ref)
    run_b, b = _final_state(killed)
    assert run_b.info["status"] == "complete"
    assert a.keys() == b.keys()
    for k in a: assert torch.equal(a[k], b[k]), k             # bitwise identical weights
    assert run_a.steps == run_b.steps
    cols = ["step", "train_loss", "val_loss", "val_acc", "lr"]
    pd.testing.assert_frame_equal(run_a.metrics[cols], run_b.metrics[cols])
    assert not list(killed.rglob("*.tmp"))                    # no temporary left that looks like a file
