"""Speed of the LLC estimate: the batched engine against devinterp at identical settings, and against the matmul ceiling.

    python benchmarks/llc_speed.py runs/default [--step S] [--steps 100] [--reps 1] [--set llc.KEY=VALUE ...]

Measures, on one checkpoint of RUN (default: the last), with the run's [llc] settings (sampler, chains, batch size)
but `--steps` SGLD steps per chain:

1. seconds per checkpoint for the full model plus every head, batched engine vs devinterp, one torch thread;
2. ms per SGLD step of one full-model chain against the matmul-limited ceiling: the step's matrix-multiply FLOPs
   (forward and backward, counted from the shapes) divided by the rate of one float32 matmul at the model's shapes;
3. the batched engine at 1 thread, 2 threads, and 2 worker processes (two checkpoints side by side).

Nothing else should run on the machine meanwhile (see the thread policy in nbs/04_train.ipynb).
"""
import argparse, json, multiprocessing as mp, statistics, time
from dataclasses import replace

import torch

from llc_nb.fused import FusedModel, full_model_loss
from llc_nb.model import components
from llc_nb.sampling import as_dataset, component_settings, devinterp_traces, param_masks, sample_components, \
    sampling_data, sgld_loss_fn
from llc_nb.settings import parse_overrides, settings_from_dict
from llc_nb.sgld import ChainSpec, compiled_loss, run_chains, stacked
from llc_nb.store import Run


def matmul_gflops(m=5376, k=96, n=288, reps=200) -> float:
    "Rate of one float32 matmul at the model's shapes (batch 256 × 21 positions, d_model, 3 heads' worth of QKV)."
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(10): a @ b
    t0 = time.perf_counter()
    for _ in range(reps): a @ b
    return 2 * m * k * n * reps / (time.perf_counter() - t0) / 1e9


def step_flops(cfg: dict, batch: int, list_len: int) -> tuple[float, float]:
    "Matmul FLOPs of one full-model SGLD step (forward + backward ≈ 3× forward): the fused engine's, and a plain full-sequence pass's."
    D, H, E, V = cfg["d_model"], cfg["n_heads"], cfg["d_head"], cfg["d_vocab"]
    P, Q = 2 * list_len, list_len                      # key positions used, answer positions
    if cfg.get("normalization_type") == "LN":          # `fused._ln_tables`: products of the V token rows and P position rows
        tables = (V + P) * D * 2 * H * E + (V + Q) * D * H * E
    else: tables = P * V * D * 2 * H * E + Q * V * D * H * E      # every (position, token) row of the first layer's input
    fused = tables + batch * (2 * H * Q * P * E + Q * H * E * D + Q * D * V)
    seq = 2 * list_len + 1
    plain = batch * (seq * D * 3 * H * E + 2 * H * seq * seq * E + seq * H * E * D + seq * D * V)
    return 3 * 2 * fused, 3 * 2 * plain


def time_batched(run, step, comps, s, data, threads=1):
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    sample_components(run.model(step), run.task, data[0], comps, s)
    return time.perf_counter() - t0


def time_devinterp(run, step, comps, s, data):
    torch.set_num_threads(1)
    model, t = run.model(step), {}
    for c in comps:
        sc = component_settings(s, c)
        t0 = time.perf_counter()
        devinterp_traces(model, as_dataset(data[0]), sgld_loss_fn(run.task), sc, param_masks(model, c))
        t[c] = time.perf_counter() - t0
    return t


def _worker(args):
    path, step, comps, s = args
    torch.set_num_threads(1)
    run = Run(path)
    return time_batched(run, step, comps, s, sampling_data(run, s))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run"); ap.add_argument("--step", type=int); ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--set", action="append"); ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--reps", type=int, default=1, help="section 1 this many times, the engines taking turns; medians reported")
    a = ap.parse_args()
    run = Run(a.run)
    s = settings_from_dict(parse_overrides(a.set or []), base=run.settings).llc
    s = replace(s, burnin=0, draws=a.steps, hessian_probes=0, max_steps=0, batch_noise="raw")   # devinterp walks its batches raw
    step = a.step if a.step is not None else run.steps[-1]
    comps = components(s.components, run.config["n_layers"], run.config["n_heads"])
    data = sampling_data(run, s)
    out = dict(run=str(run.path), step=step, components=comps, chains=s.chains, sgld_steps=a.steps, batch=s.batch_size,
               sampler=s.sampler)
    print(f"{run.path} step {step}: {comps}, {s.chains} chains × {a.steps} SGLD steps, batch {s.batch_size}, {s.sampler}")

    # 1. batched vs devinterp, one thread
    time_batched(run, step, comps, replace(s, compile="on"), data)                 # compiles (timed in section 2)
    tbs, tcs, tds = [], [], []
    for _ in range(a.reps):                        # taking turns, so that a slow spell of the machine hits both engines
        tbs.append(time_batched(run, step, comps, replace(s, compile="off"), data))
        tcs.append(time_batched(run, step, comps, replace(s, compile="on"), data))
        tds.append(time_devinterp(run, step, comps, s, data))
    med = statistics.median
    tb, tc, td = med(tbs), med(tcs), {c: med([t[c] for t in tds]) for c in tds[0]}
    ratios = [sum(d.values()) / c for d, c in zip(tds, tcs)]
    out.update(batched_s=tb, batched_compiled_s=tc, devinterp_s=td, devinterp_total_s=sum(td.values()), compiled_ratios=ratios)
    print(f"per checkpoint (full + heads){f', medians of {a.reps}' if a.reps > 1 else ''}: batched {tb:.1f} s (compiled, after "
          f"compiling: {tc:.1f} s), devinterp {sum(td.values()):.1f} s ({', '.join(f'{c} {v:.1f}' for c, v in td.items())}): "
          f"{sum(td.values()) / tb:.1f}× faster ({sum(td.values()) / tc:.1f}× compiled)" +
          (f"; compiled, rep by rep: {', '.join(f'{r:.1f}×' for r in ratios)}" if a.reps > 1 else ""), flush=True)

    # 2. one full-model chain's step against the matmul ceiling, eager and compiled
    torch.set_num_threads(1)
    model = run.model(step)
    fm = FusedModel.of(model, run.task.list_len)
    specs = [ChainSpec(step_size=s.step_size, n_beta=s.n_beta, localization=s.localization, method=s.sampler, seed=i) for i in range(s.chains)]
    loss = full_model_loss(fm, data[0])
    closs = compiled_loss(loss)
    t0 = time.perf_counter()
    run_chains(closs, stacked(model, s.chains), {}, specs, len(data[0]), s.batch_size, 3)
    out["compile_s"] = time.perf_counter() - t0
    rate = matmul_gflops()
    fused, plain = step_flops(run.config, s.batch_size, run.task.list_len)
    for name, fn in (("eager", loss), ("compiled", closs)):
        run_chains(fn, stacked(model, s.chains), {}, specs, len(data[0]), s.batch_size, 3)
        t0 = time.perf_counter()
        run_chains(fn, stacked(model, s.chains), {}, specs, len(data[0]), s.batch_size, a.steps)
        ms = (time.perf_counter() - t0) / a.steps / s.chains * 1e3
        out[f"ms_per_chain_step_{name}"] = ms
        print(f"full-model step ({name}): {ms:.1f} ms per chain; one matmul runs at {rate:.0f} GFLOP/s; the fused step's matmuls "
              f"are {fused / 1e9:.2f} GFLOP (ceiling {fused / rate / 1e6:.1f} ms, {ms / (fused / rate / 1e6):.1f}×), a plain "
              f"full-sequence step's {plain / 1e9:.2f} GFLOP (ceiling {plain / rate / 1e6:.1f} ms, {ms / (plain / rate / 1e6):.2f}×)",
              flush=True)
    out.update(ms_per_chain_step=out["ms_per_chain_step_eager"], matmul_gflops=rate, fused_gflop=fused / 1e9, plain_gflop=plain / 1e9,
               ceiling_ms=fused / rate / 1e6, plain_ceiling_ms=plain / rate / 1e6)
    print(f"compiling took {out['compile_s']:.0f} s (once per process and batch shape)")

    # 2b. how the cost per chain-step scales with the number of chains in one batch (compiled, as the engine runs long jobs)
    from llc_nb.fused import head_constants, head_loss, head_weights
    hc = head_constants(fm, model, data[0])
    scan = {}
    for C in (4, 8, 16, 32, 64):
        sp = [replace(specs[0], seed=i) for i in range(C)]
        heads = [i % run.config["n_heads"] for i in range(C)]
        row = {}
        for name, fn, center in (("full", compiled_loss(full_model_loss(fm, data[0])), stacked(model, C)),
                                 ("head", compiled_loss(head_loss(fm, hc, heads)), head_weights(model, heads))):
            run_chains(fn, center, {}, sp, len(data[0]), s.batch_size, 3)
            t0 = time.perf_counter()
            run_chains(fn, center, {}, sp, len(data[0]), s.batch_size, 10)
            row[f"{name}_ms"] = (time.perf_counter() - t0) / 10 / C * 1e3
        scan[C] = row
        print(f"  {C:4d} chains in one batch: {row['full_ms']:.1f} ms per full-model chain-step, {row['head_ms']:.1f} ms per head "
              f"chain-step (compiled)", flush=True)
    out["chains_scan"] = scan

    # 3. threads and processes
    t2 = time_batched(run, step, comps, s, data, threads=2)
    other = run.steps[-2]
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(2) as pool:
        pool.map(_worker, [(str(run.path), st, comps, s) for st in (step, other)])
    tp = (time.perf_counter() - t0) / 2
    out.update(threads1_s=tb, threads2_s=t2, workers2_s_per_checkpoint=tp)
    print(f"batched, seconds per checkpoint: 1 thread {tb:.1f}, 2 threads {t2:.1f}, 2 worker processes {tp:.1f} "
          "(two checkpoints at once, wall time / 2, process start-up included)")
    if a.json:
        with open(a.json, "w") as f: json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
