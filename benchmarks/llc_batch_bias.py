"""Is a chain's loss trace an unbiased reading of the loss where it stands? The trace against the whole sampling set's loss
at the chains' weights.

    python benchmarks/llc_batch_bias.py runs/default --step 3000 --batch 256 [--batches epochs|independent]

The whole model's chains (the run's [llc] sampler, RMSProp's preconditioner adapted during `--burnin` steps, plain
batches, one torch thread) run `--steps` steps from the checkpoint. After the burn-in, λ̂ is read two ways:

* from the trace, as the estimator reads it: nβ·(mean batch loss − L(w*)), each step's loss on the batch it steps with,
  taken before the step;
* from the whole sampling set's loss at the chains' weights every `--every` steps: nβ·(mean L(w) − L(w*)).

With `--batches epochs` (the engine's streams) each chain walks a fresh permutation of the sampling set per epoch, so a
step's batch holds only lists that the chain has not stepped with yet this epoch; with `independent` every step draws
a fresh random batch. The first reading minus the second is the part of λ̂ that comes from where the loss is evaluated,
not from where the chains are.
"""
import argparse, time

import numpy as np
import torch

from llc_nb import fused
from llc_nb.sampling import sampling_data
from llc_nb.sgld import ChainSpec, _Part, epoch_batches, stacked, unflat_weights
from llc_nb.store import Run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run"); ap.add_argument("--step", type=int, default=3000); ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--batches", choices=("epochs", "independent"), default="epochs")
    ap.add_argument("--chains", type=int, default=8); ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--burnin", type=int, default=700); ap.add_argument("--every", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(1)
    run = Run(a.run)
    s = run.settings.llc
    data = sampling_data(run, s)[0]
    model = run.model(a.step)
    loss = fused.full_model_loss(fused.FusedModel.of(model, run.task.list_len), data)
    specs = [ChainSpec(step_size=s.step_size, n_beta=s.n_beta, localization=s.localization, method=s.sampler, seed=i,
                       integrator=s.integrator) for i in range(a.chains)]
    part = _Part(loss, stacked(model, a.chains), {}, specs)
    one = {k: v[:1] for k, v in part.center.items()}
    every_list = torch.arange(len(data))[None]
    with torch.no_grad():
        L0 = float(loss(stacked(model, 1), every_list))
        whole = lambda w: np.mean([float(loss(unflat_weights(w[k:k + 1], one), every_list)) for k in range(a.chains)])
    gen, seeds, n_batches = torch.Generator().manual_seed(0), [sp.seed for sp in specs], len(data) // a.batch
    trace, at_chains, t0 = [], [], time.time()
    for t in range(a.steps):
        if a.batches == "independent": idx = epoch_batches(len(data), a.batch, seeds, 10**6 + t)[:, 0]
        else:
            if t % n_batches == 0: batches = epoch_batches(len(data), a.batch, seeds, t // n_batches)
            idx = batches[:, t % n_batches]
        step_loss = part.step(idx, gen, t < a.burnin)
        if t >= a.burnin:
            trace.append(float(step_loss.mean()))
            if t % a.every == 0: at_chains.append(whole(part.flat.detach()))
    nb = s.n_beta
    print(f"{run.path} step {a.step}, batches of {a.batch} ({a.batches}), {a.chains} chains, {a.steps} steps, burn-in {a.burnin}: "
          f"λ̂ from the trace {nb * (np.mean(trace) - L0):.1f}, from the whole set's loss at the chains "
          f"{nb * (np.mean(at_chains) - L0):.1f} ({len(at_chains)} readings); {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
