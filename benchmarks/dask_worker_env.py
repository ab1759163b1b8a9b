"""Training speed of the reference model in a plain process and inside a Dask worker, with Dask's default worker
environment and with the one `llc_nb.sweep` gives its LocalCluster (no MALLOC_TRIM_THRESHOLD_). One torch thread
everywhere. Run on an otherwise idle machine:

    python benchmarks/dask_worker_env.py [--steps 150]
"""
import argparse, time


def train_speed(steps: int) -> float:
    "Optimiser steps per second of the default settings' model (2 heads, batch 512), one torch thread."
    from llc_nb.model import make_model, model_config, torch_threads
    from llc_nb.settings import load_settings
    from llc_nb.tasks import answer_loss
    from llc_nb.train import TrainData, batch_indices, make_optimizer
    s = load_settings()
    with torch_threads(1):
        data = TrainData(s)
        model = make_model(model_config(s.model, data.task), 0)
        opt = make_optimizer(model, s.train)
        t0 = time.perf_counter()
        for step in range(steps):
            b = data.train[batch_indices(step, s.task.n_train, s.train.batch_size, 0)]
            loss = answer_loss(data.task, model(b), b)
            opt.zero_grad(); loss.backward(); opt.step()
        return steps / (time.perf_counter() - t0)


def in_worker(steps: int, ours: bool) -> float:
    "`train_speed` in the one worker of llc_nb.sweep's LocalCluster (`ours`), or of Dask's default one."
    from distributed import Client, LocalCluster
    from llc_nb.sweep import _local_client
    client = _local_client(1) if ours else Client(LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0"))
    try: return client.submit(train_speed, steps, pure=False).result()
    finally: client.close(); client.cluster.close()


if __name__ == "__main__":
    import dask, distributed  # noqa: F401  (distributed puts its defaults into dask.config)
    from llc_nb.sweep import WORKER_ENV
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150, help="optimiser steps timed in each setting")
    a = ap.parse_args()
    default_env = dask.config.get("distributed.nanny.pre-spawn-environ")
    rows = [("plain process", train_speed(a.steps)),
            (f"Dask worker, Dask's default environment {default_env}", in_worker(a.steps, False)),
            (f"Dask worker of llc_nb.sweep's LocalCluster, environment changed by {WORKER_ENV}", in_worker(a.steps, True))]
    for what, v in rows: print(f"{v:6.2f} steps/s  {what}")
