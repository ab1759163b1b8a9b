"""What does the SGLD batch size buy and cost? ms per chain-step at each batch size, and the minibatch gradient noise
against the noise SGLD injects.

    python benchmarks/llc_batch_size.py runs/default [--step 474,3000] [--batch 64,128,256] [--steps 30] [--reps 3]

For each batch size b:

* **cost**: the whole model's and a head's chains as the engine runs them (passes of `sampling.PASS_CHAINS` chains in
  lockstep; with `--corrected` also as `llc.batch_noise = corrected` runs them, each batch in two halves, compiled as the engine compiles long jobs, RMSProp-SGLD with the run's [llc] settings, one torch thread),
  ms per chain-step, median of `--reps` runs of `--steps` steps; at the smallest b also with the control variate
  (`sgld.ControlVariate`, SGLD-CV), which adds one read of the batch's rows of the lists' gradient table per step;
* **noise**: at each checkpoint of `--step`, the gradient of 64 independent batches of b lists at the checkpoint (one
  batched pass: 64 copies of the weights, one batch each) gives each weight's minibatch gradient variance Var(g_b).
  An SGLD step moves a weight by (ε/2)·P·nβ·g_b plus √(εP)·ξ, so the minibatch part of its variance against the injected
  part is r = (ε/4)·nβ²·P·Var(g_b), with RMSProp's P = 1/(√E[g_b²] + eps). r is the fraction by which the batch raises
  the chains' temperature along that weight; what that heating adds to λ̂ is r's sum weighted by how much each
  direction adds to the loss, at most ½·Σr (not the trace's own reading bias from the streams:
  benchmarks/llc_batch_bias.py). Reported: ½·Σr and the mean and largest r over the
  whole model's weights. Then 4 chains walk `--walk` SGLD steps from the checkpoint (plain batches of llc.batch_size) and
  the same is measured at their weights, plain and with the control variate: what the chains see. `--steps 0`: only this.

Nothing else should run on the machine meanwhile (see the thread policy in nbs/04_train.ipynb).
"""
import argparse, statistics, time
from dataclasses import replace

import torch

from llc_nb import fused
from llc_nb.sampling import PASS_CHAINS, control_variate, sampling_data, sgld_loss_fn
from llc_nb.sgld import ChainSpec, _Part, compiled_loss, epoch_batches, flat_weights, run_parts, stacked, unflat_weights
from llc_nb.store import Run


def noise_ratio(fm, model, data, s, b: int, n_batches: int = 64, seed: int = 0, at=None, cv=None) -> tuple[float, float]:
    "Mean and largest r = (ε/4)·nβ²·P·Var(g_b) over the whole model's weights at `model` (or at flat weights `at`), batches of b lists."
    center = stacked(model, n_batches)
    flat = (flat_weights(center) if at is None else at[None].repeat(n_batches, 1)).requires_grad_(True)
    g = torch.Generator().manual_seed(seed)
    idx = torch.stack([torch.randperm(len(data), generator=g)[:b] for _ in range(n_batches)])
    loss = fused.full_model_loss(fm, data)(unflat_weights(flat, center), idx)
    (grad,) = torch.autograd.grad(loss.sum(), flat)
    if cv is not None: grad = grad - cv.offsets(idx)[1]
    var, ms = grad.var(0), (grad ** 2).mean(0)
    P = 1.0 / (ms.sqrt() + ChainSpec.rmsprop_eps) if s.sampler == "rmsprop_sgld" else torch.ones_like(ms)
    r = s.step_size / 4 * s.n_beta ** 2 * P * var
    return float(r.mean()), float(r.max())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run"); ap.add_argument("--step", default=None, help="checkpoints for the noise, e.g. 474,3000 (default: the last)")
    ap.add_argument("--batch", default="64,128,256"); ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--reps", type=int, default=3); ap.add_argument("--chains", type=int, default=8)
    ap.add_argument("--walk", type=int, default=300, help="SGLD steps before the noise at the chains' weights is measured")
    ap.add_argument("--corrected", action="store_true", help="also time llc.batch_noise = corrected (fresh batches, each split in two halves)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    run = Run(a.run)
    s = run.settings.llc
    steps = [int(x) for x in a.step.split(",")] if a.step else [run.steps[-1]]
    sizes = [int(x) for x in a.batch.split(",")]
    model, data = run.model(steps[-1]), sampling_data(run, s)[0]
    fm = fused.FusedModel.of(model, run.task.list_len)
    n_heads = run.config["n_heads"]
    print(f"{run.path}: {len(data)} lists in the sampling set, {s.sampler}, ε {s.step_size:g}, nβ {s.n_beta:g}")
    d = flat_weights(stacked(model, 1)).shape[1]
    spec = lambda i: ChainSpec(step_size=s.step_size, n_beta=s.n_beta, localization=s.localization, method=s.sampler, seed=i,
                               integrator=s.integrator)
    b0 = min(sizes)
    for step in steps:
        m = run.model(step)
        print(f"  step {step}, at the checkpoint: ½Σr (the bound on what the heating adds to λ̂), mean r / largest r over the {d} weights: " +
              ", ".join("b={}: {:.1f}, {:.2e} / {:.2e}".format(b, d / 2 * (r := noise_ratio(fm, m, data, s, b))[0], *r) for b in sizes), flush=True)
        cv = control_variate(m, sgld_loss_fn(run.task), data, replace(s, control_variate=True))
        part = _Part(fused.full_model_loss(fm, data), stacked(m, 4), {}, [spec(i) for i in range(4)])
        gen = torch.Generator().manual_seed(0)
        for t in range(a.walk):                   # where the chains go: the noise at their weights after `--walk` steps
            part.step(epoch_batches(len(data), s.batch_size, [sp.seed for sp in part.specs], t)[:, 0], gen, True)
        for b in sizes:
            for name, c in (("plain", None), ("with the control variate", cv)):
                rs = [noise_ratio(fm, m, data, s, b, at=part.flat.detach()[k], cv=c) for k in range(4)]
                print(f"    b={b} at 4 chains' weights after {a.walk} steps, {name}: ½Σr " +
                      ", ".join(f"{d / 2 * r[0]:.1f}" for r in rs) + "; largest r " + ", ".join(f"{r[1]:.1e}" for r in rs), flush=True)

    hc = fused.head_constants(fm, model, data)
    if a.steps == 0: return                       # --steps 0: the noise only
    cv = control_variate(model, sgld_loss_fn(run.task), data, replace(s, control_variate=True))
    losses = {}
    def parts(comp: str, C: int, with_cv: bool = False) -> list[tuple]:
        out = []
        for lo in range(0, C, PASS_CHAINS):
            ids = list(range(lo, min(C, lo + PASS_CHAINS)))
            heads = [lo // PASS_CHAINS % n_heads] * len(ids)       # one head per pass, as the engine runs them
            if comp == "full": key, center = ("full", len(ids)), stacked(model, len(ids))
            else: key, center = ("head", tuple(heads)), fused.head_weights(model, heads)
            if key not in losses:
                losses[key] = compiled_loss(fused.full_model_loss(fm, data) if comp == "full" else fused.head_loss(fm, hc, heads))
            part_cv = None if not with_cv else cv if comp == "full" else cv.columns(fused.head_columns(model, heads[0]))
            out.append((losses[key], center, {}, [spec(i) for i in ids], part_cv))
        return out

    res = {}
    for b in sizes:
        cases = {comp: parts(comp, a.chains) for comp in ("full", "head")}
        if b == b0: cases.update({f"{comp} cv": parts(comp, a.chains, True) for comp in ("full", "head")})
        if a.corrected: cases.update({f"{comp} corrected": parts(comp, a.chains) for comp in ("full", "head")})
        kw = lambda k: dict(correct=True, fresh=True) if k.endswith("corrected") else {}
        for k, p in cases.items(): run_parts(p, len(data), b, 3, **kw(k))        # warm-up and compiling at this shape
        times = {k: [] for k in cases}
        for _ in range(a.reps):
            for k, p in cases.items():
                t0 = time.perf_counter()
                run_parts(p, len(data), b, a.steps, **kw(k))
                times[k].append((time.perf_counter() - t0) / a.steps / a.chains * 1e3)
        res[b] = {k: statistics.median(v) for k, v in times.items()}
        print(f"  batch {b:4d}: " + ", ".join(f"{k} {v:.2f} ms" for k, v in res[b].items()) +
              f" per chain-step ({a.chains} chains, step {steps[-1]})", flush=True)
    top = res[max(res)]
    for b, r in res.items():
        print(f"  batch {b:4d} against {max(res)}: " + ", ".join(f"{k} {v / top[k.split()[0]]:.2f}×" for k, v in r.items()))


if __name__ == "__main__":
    main()
