"""Does batching pay in the engine? ms per chain-step with C chains, as one fused pass and as the engine runs them.

    python benchmarks/engine_batching.py runs/default [--step 3000] [--steps 20] [--chains 4,8,16,32,64] [--reps 3]

For each C, the whole model's and a head's chains (`fused.full_model_loss`, `fused.head_loss`, compiled as the engine
compiles long jobs, RMSProp-SGLD with the run's [llc] settings, batches of `llc.batch_size`, one torch thread) run
`--steps` steps two ways, taking turns `--reps` times (medians reported):

* one pass: all C chains in one batched forward and backward (`sgld.run_chains`);
* the engine: what `sampling.sample_components` runs on CPU, passes of `sampling.PASS_CHAINS` chains each, all of them
  in lockstep (`sgld.run_parts`), so that adaptive stopping sees every chain after every block.

The issue's batching target compares the cost per chain-step at 32 chains with the cost at 4. With `--profile`, the whole
model's chains at the first C then run once more, as the engine runs them, under the torch profiler, and its table by
self time is printed: the two compiled graphs (inductor's generated loops, forward and backward), the products left to
`bmm`/`baddbmm`, and the RMSProp-SGLD update's element-wise ops. Nothing else should run on the machine meanwhile (see
the thread policy in nbs/04_train.ipynb).
"""
import argparse, json, statistics, time

import torch

from llc_nb import fused
from llc_nb.sampling import PASS_CHAINS, sampling_data
from llc_nb.sgld import ChainSpec, compiled_loss, run_parts, stacked
from llc_nb.store import Run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run"); ap.add_argument("--step", type=int); ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--chains", default="4,8,16,32,64"); ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--profile", action="store_true", help="then profile the whole model's chains at the first --chains")
    a = ap.parse_args()
    torch.set_num_threads(1)
    run = Run(a.run)
    s, step = run.settings.llc, a.step if a.step is not None else run.steps[-1]
    model, data = run.model(step), sampling_data(run, s)[0]
    fm = fused.FusedModel.of(model, run.task.list_len)
    hc = fused.head_constants(fm, model, data)
    n_heads = run.config["n_heads"]
    print(f"{run.path} step {step}: batches of {s.batch_size}, {s.sampler}, {a.steps} steps, compiled, median of {a.reps}, "
          f"one thread; the engine's passes hold {PASS_CHAINS} chains")
    spec = lambda i: ChainSpec(step_size=s.step_size, n_beta=s.n_beta, localization=s.localization, method=s.sampler, seed=i,
                               integrator=s.integrator)
    losses = {}                                    # (component, chains in a pass) -> compiled loss: one per batch shape

    def parts(comp: str, C: int, size: int) -> list[tuple]:
        out = []
        for lo in range(0, C, size):
            ids = list(range(lo, min(C, lo + size)))
            heads = [i % n_heads for i in ids]
            if comp == "full": key, center = ("full", len(ids)), stacked(model, len(ids))
            else: key, center = ("head", tuple(heads)), fused.head_weights(model, heads)
            if key not in losses:
                losses[key] = compiled_loss(fused.full_model_loss(fm, data) if comp == "full" else fused.head_loss(fm, hc, heads))
            out.append((losses[key], center, {}, [spec(i) for i in ids]))
        return out

    res = {}
    for C in map(int, a.chains.split(",")):
        cases = {(comp, how): parts(comp, C, C if how == "one pass" else PASS_CHAINS) for comp in ("full", "head")
                 for how in ("one pass", "engine")}
        for p in cases.values(): run_parts(p, len(data), s.batch_size, 3)            # warm-up and compiling
        times = {k: [] for k in cases}
        for _ in range(a.reps):
            for k, p in cases.items():
                t0 = time.perf_counter()
                run_parts(p, len(data), s.batch_size, a.steps)
                times[k].append((time.perf_counter() - t0) / a.steps / C * 1e3)
        res[C] = {f"{comp} {how}": statistics.median(v) for (comp, how), v in times.items()}
        print(f"  {C:3d} chains: " + ", ".join(f"{k} {v:.2f} ms" for k, v in res[C].items()), flush=True)
    base = res[min(res)]
    for C, r in res.items():
        print(f"  {C:3d} chains against {min(res)}: " + ", ".join(f"{k} {v / base[k]:.2f}×" for k, v in r.items()))
    if a.json:
        with open(a.json, "w") as f: json.dump(res, f, indent=1)
    if a.profile:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            run_parts(parts("full", min(res), PASS_CHAINS), len(data), s.batch_size, a.steps)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15, max_name_column_width=50))


if __name__ == "__main__":
    main()
