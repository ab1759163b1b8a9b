"""`sweep` on a LocalCluster: a worker killed mid-task does not lose the sweep, and a second sweep redoes nothing."""
import os, signal, threading, time

import pytest

from llc_nb.store import Run
from llc_nb.sweep import read_grid, sweep
from llc_nb.test_utils import tiny_grid

GRID = tiny_grid(steps=300, checkpoints=4)


def _kill_a_worker_running(client, prefix: str, timeout: float = 120) -> str | None:
    "SIGKILL the worker process that is running a task whose key starts with `prefix`; its address."
    pids = client.run(os.getpid)
    deadline = time.time() + timeout
    while time.time() < deadline:
        for worker, keys in client.processing().items():
            if any(str(k).startswith(prefix) for k in keys) and worker in pids:
                os.kill(pids[worker], signal.SIGKILL)
                return worker
        time.sleep(0.02)
    return None


def test_sweep_survives_a_killed_worker_and_restarts_for_free(tmp_path):
    from distributed import Client, LocalCluster
    (tmp_path/"g.ini").write_text(GRID)
    grid = read_grid(tmp_path/"g.ini")
    out = tmp_path/"sw"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, Client(cluster) as client:
        result = {}
        t = threading.Thread(target=lambda: result.update(table=sweep(grid, out=out, client=client, progress=False, log=lambda m: None)))
        t.start()
        killed = _kill_a_worker_running(client, "train-")
        t.join(timeout=600)
        assert killed is not None, "no training task was seen running"
        assert "table" in result, "the sweep did not finish"
        table = result["table"]
        assert list(table.cell) == ["seed-0", "seed-1"]
        for cell in table.cell:
            run = Run(out/cell)
            assert run.info["status"] == "complete" and len(run.steps) == 4
            llc = run.table("llc")
            assert len(llc) == 4 * 3 and not llc.duplicated(["step", "component"]).any()
            assert run.table("metrics").step.tolist() == run.steps           # one metrics row per checkpoint
        assert not list(out.rglob("*.tmp")), "half-written files were left behind"
        traces = {p: p.stat().st_mtime_ns for p in out.rglob("llc/*.safetensors")}
        checkpoints = {p: p.stat().st_mtime_ns for p in out.rglob("checkpoints/*.safetensors")}
        again = sweep(grid, out=out, client=client, progress=False, log=lambda m: None)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("llc/*.safetensors")} == traces           # nothing resampled
    assert {p: p.stat().st_mtime_ns for p in out.rglob("checkpoints/*.safetensors")} == checkpoints  # nothing retrained
    assert again[["cell", "llc_end"]].equals(table[["cell", "llc_end"]])
