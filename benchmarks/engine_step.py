"""What does compiling buy one estimate? ms per SGLD step of one checkpoint's chains, exactly as the engine runs them.

    python benchmarks/engine_step.py runs/default [--step 3000] [--steps 100] [--reps 3] [--set llc.KEY=VALUE ...] [--profile]

For the whole model and for a head, the chains of one estimate at the run's [llc] settings (`chains` at γ and as many
at γ/2, passes of `sampling.PASS_CHAINS`, `llc.batch_noise` as set, with `corrected` the loss-only control variate,
RMSProp-SGLD, one torch thread) run `--steps` steps (`sgld.run_parts`) three ways, taking turns `--reps` times
(medians reported):

* eager: nothing compiled;
* loss compiled: the chain loss through `torch.compile`, the update element-wise in eager PyTorch;
* loss and update compiled: as `llc.compile` compiles a job today (a part with a compiled loss compiles its update).

Compiling happens in a warm-up of 3 steps that is not timed. With `--profile`, the whole model's chains then run
`--steps` more steps (loss and update compiled) under the torch profiler, with inductor's per-kernel profile, and its
table by self time is printed: where a step's time goes (the kernel profile is on from the start, so that run's
timings carry its small overhead). Nothing else should run on the machine meanwhile (see
the thread policy in nbs/04_train.ipynb).
"""
import argparse, statistics, time

import torch
import torch._inductor.config

from llc_nb import fused
from llc_nb.sampling import PASS_CHAINS, component_settings, ladder_specs, sampling_data
from llc_nb.settings import settings_from_dict
from llc_nb.sgld import ControlVariate, compiled_loss, run_parts
from llc_nb.store import Run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run"); ap.add_argument("--step", type=int); ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--set", action="append", default=[], metavar="llc.KEY=VALUE", help="override an [llc] setting")
    ap.add_argument("--profile", action="store_true", help="then profile the whole model's compiled step")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.profile: torch._inductor.config.cpp.enable_kernel_profile = True    # generated kernels by name in the profile
    run = Run(a.run)
    over = {}
    for kv in a.set:
        k, v = kv.split("=", 1)
        sec, key = k.split(".", 1)
        over.setdefault(sec, {})[key] = v
    s = settings_from_dict(over, run.settings).llc if over else run.settings.llc
    step = a.step if a.step is not None else run.steps[-1]
    model, data = run.model(step), sampling_data(run, s)[0]
    fm = fused.FusedModel.of(model, run.task.list_len)
    hc = fused.head_constants(fm, model, data)
    corrected = s.batch_noise == "corrected"
    cv = ControlVariate.of(fused.fused_item_losses(fm, model, data)) if corrected else None
    print(f"{run.path} step {step}: batches of {s.batch_size}, batch_noise {s.batch_noise}, {s.sampler}, {a.steps} steps, "
          f"median of {a.reps}, one thread, passes of {PASS_CHAINS} chains")
    for comp in ("full", "l0h0"):
        sc = component_settings(s, comp)
        specs = ladder_specs(sc)
        plain, _, _ = fused.component_chains(fm, model, data, [comp], PASS_CHAINS, hc)
        comp_loss = compiled_loss(plain)
        losses = {"eager": plain, "loss compiled": lambda p, i: comp_loss(p, i),   # no `.compiled`: the update stays eager
                  "loss and update compiled": comp_loss}
        def parts(loss):
            out = []
            for lo in range(0, len(specs), PASS_CHAINS):
                sp = specs[lo:lo + PASS_CHAINS]
                _, center, masks = fused.component_chains(fm, model, data, [comp], len(sp), hc)
                out.append((loss, center, masks, sp, cv))
            return out
        kw = dict(adapt_steps=sc.burnin, seed=0, correct=corrected, fresh=corrected)
        for loss in losses.values(): run_parts(parts(loss), len(data), sc.batch_size, 3, **kw)      # warm-up, compiling
        times = {k: [] for k in losses}
        for _ in range(a.reps):
            for k, loss in losses.items():
                p = parts(loss)
                t0 = time.perf_counter()
                run_parts(p, len(data), sc.batch_size, a.steps, **kw)
                times[k].append((time.perf_counter() - t0) / a.steps * 1e3)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"  {comp}, {len(specs)} chains: " + ", ".join(f"{k} {v:.1f} ms" for k, v in med.items()) +
              f" per step ({med['eager'] / med['loss and update compiled']:.2f}x eager, "
              f"{med['loss compiled'] / med['loss and update compiled']:.2f}x the loss alone compiled)", flush=True)
        if a.profile and comp == "full":
            from torch.profiler import ProfilerActivity, profile
            p = parts(losses["loss and update compiled"])
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                run_parts(p, len(data), sc.batch_size, a.steps, **kw)
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20, max_name_column_width=60), flush=True)


if __name__ == "__main__":
    main()
