"""Training throughput of the default model (steps/s) at 1 and 2 torch threads, with the second core idle and busy.

    python benchmarks/train_throughput.py [--steps 150]

Each configuration runs in a fresh subprocess (torch's thread pool cannot be resized reliably in-process). "busy"
starts a second process that keeps the other core busy with the same kind of work.
"""
import argparse, json, subprocess, sys, time

WORKER = r"""
import json, sys, time, torch
from llc_nb.settings import Settings
from llc_nb.tasks import make_task, make_dataset, answer_loss
from llc_nb.model import make_model, model_config
from llc_nb.train import make_optimizer, batch_indices
threads, steps = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
s = Settings(); task = make_task(s.task)
data = make_dataset(task, 20_000, 42)
model = make_model(model_config(s.model, task)); opt = make_optimizer(model, s.train)
def step(i):
    b = data[batch_indices(i, len(data), 512, 0)]
    loss = answer_loss(task, model(b), b); opt.zero_grad(); loss.backward(); opt.step()
for i in range(10): step(i)
t0 = time.perf_counter()
for i in range(steps): step(i)
print(json.dumps(dict(threads=threads, steps_per_s=steps / (time.perf_counter() - t0))))
"""

BUSY = "import torch\ntorch.set_num_threads(1)\nx = torch.randn(512, 512)\nwhile True: x = torch.tanh(x @ x / 512)\n"


def measure(threads, steps, busy):
    hog = subprocess.Popen([sys.executable, "-c", BUSY]) if busy else None
    try:
        if hog: time.sleep(1)
        out = subprocess.run([sys.executable, "-c", WORKER, str(threads), str(steps)], capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])["steps_per_s"]
    finally:
        if hog: hog.kill(); hog.wait()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150)
    a = ap.parse_args()
    print("threads  other core  steps/s (default model, batch 512)")
    for busy in (False, True):
        for threads in (1, 2):
            print(f"{threads:>7}  {'busy' if busy else 'idle':>10}  {measure(threads, a.steps, busy):7.2f}", flush=True)
