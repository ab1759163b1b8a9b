"""Seconds per checkpoint of the LLC estimate, llc_nb's wrapper against a plain devinterp call with the same settings.

    python benchmarks/llc_speed.py runs/default [--step S] [--set llc.KEY=VALUE ...]

For the full model and each head of one checkpoint, times `llc_nb.llc.estimate_llc` (private store, burn-in
excluded, health checks) and `devinterp.slt.llc.llc` (devinterp's own path: default temporary store, same loss,
masks, sampler settings and seed), one torch thread, in the same process, alternating. Also reports the one-off cost
of building the sampling data, which `llc-nb llc` pays once per run (per worker process) rather than per checkpoint.
"""
import argparse, tempfile, time
from dataclasses import replace
from pathlib import Path

import torch

from llc_nb.llc import (as_dataset, component_settings, components, estimate_llc, param_masks, sampling_data,
                        sgld_loss_fn)
from llc_nb.settings import parse_overrides, settings_from_dict
from llc_nb.store import Run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run"); ap.add_argument("--step", type=int); ap.add_argument("--set", action="append")
    a = ap.parse_args()
    torch.set_num_threads(1)
    from devinterp.slt.llc import llc as devinterp_llc
    run = Run(a.run)
    s = settings_from_dict(parse_overrides(a.set or []), base=run.settings).llc
    step = a.step if a.step is not None else run.steps[-1]
    t0 = time.perf_counter(); tokens, _ = sampling_data(run, s); t_data = time.perf_counter() - t0
    model = run.model(step)
    data, loss_fn = as_dataset(tokens), sgld_loss_fn(run.task)
    comps = components(s.components, run.config["n_layers"], run.config["n_heads"])
    print(f"run {run.path} step {step}; {s.chains} chains x ({s.burnin} burn-in + {s.draws} draws), batch {s.batch_size}, "
          f"{len(tokens)} lists; building the sampling data: {t_data:.1f} s (once per run)")
    print(f"{'component':>10} {'llc_nb s':>9} {'devinterp s':>12} {'llc_nb LLC':>11} {'devinterp LLC (incl. burn-in)':>30}")
    tot_ours = tot_dev = 0.0
    for c in comps:
        cs = component_settings(s, c)
        t0 = time.perf_counter(); est = estimate_llc(model, data, loss_fn, cs, param_masks(model, c)); t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        dev = devinterp_llc(model, data, {}, lr=cs.lr, n_beta=cs.n_beta, localization=cs.localization, param_masks=param_masks(model, c),
                            num_chains=cs.chains, num_draws=cs.draws, num_burnin_steps=cs.burnin, batch_size=cs.batch_size,
                            num_init_loss_batches=cs.init_loss_batches, init_seed=cs.seed, device="cpu", loss_fn=loss_fn)
        t_dev = time.perf_counter() - t0
        tot_ours += t_ours; tot_dev += t_dev
        print(f"{c:>10} {t_ours:9.1f} {t_dev:12.1f} {est.llc_mean:11.2f} {float(dev.llc_mean):30.2f}", flush=True)
    print(f"{'total':>10} {tot_ours:9.1f} {tot_dev:12.1f}   (seconds per checkpoint, one process)")


if __name__ == "__main__":
    main()
