"""The fused engine of this checkout against the one of an earlier commit, in one process: ms per chain-step.

    python benchmarks/fused_versions.py runs/default --against e4aa150 [--step 3000] [--steps 20] [--chains 4,16,32] [--reps 3]

For each number of chains in one batch, the whole model's and a head's chain loss (`fused.full_model_loss`,
`fused.head_loss`) run `--steps` RMSProp-SGLD steps of `sgld.run_chains` with the run's [llc] settings (batches of
`llc.batch_size`), eager and compiled (`sgld.compiled_loss`), one torch thread, after 3 warm-up steps; `--reps` times,
the two engines taking turns, and the median is reported (single timings of the same case vary by ±15% here). The earlier
engine is `llc_nb/fused.py` as of `--against` (read with `git show`), everything else is this checkout's. Nothing else
should run on the machine meanwhile (see the thread policy in nbs/04_train.ipynb).
"""
import argparse, importlib.util, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import torch

from llc_nb import fused
from llc_nb.sampling import sampling_data
from llc_nb.sgld import ChainSpec, compiled_loss, run_chains, stacked
from llc_nb.store import Run


def fused_at(rev: str):
    "llc_nb/fused.py as of `rev`, imported as a module of its own."
    text = subprocess.run(["git", "show", f"{rev}:llc_nb/fused.py"], capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp())/"fused_then.py"
    path.write_text(text.replace("from .", "from llc_nb."))
    spec = importlib.util.spec_from_file_location("fused_then", path)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run"); ap.add_argument("--against", required=True); ap.add_argument("--step", type=int)
    ap.add_argument("--steps", type=int, default=20); ap.add_argument("--chains", default="4,16,32")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(1)
    run = Run(a.run)
    s, step = run.settings.llc, a.step if a.step is not None else run.steps[-1]
    model, data = run.model(step), sampling_data(run, s)[0]
    engines = {a.against: fused_at(a.against), "now": fused}
    res = {}
    print(f"{run.path} step {step}: batches of {s.batch_size}, {s.sampler}, {a.steps} steps, median of {a.reps}, one thread")
    for C in map(int, a.chains.split(",")):
        specs = [ChainSpec(step_size=s.step_size, n_beta=s.n_beta, localization=s.localization, method=s.sampler, seed=i,
                           integrator=s.integrator) for i in range(C)]
        heads = [i % run.config["n_heads"] for i in range(C)]
        cases = {}                                  # (component, mode, engine) -> (chain loss, start weights), built once
        for name, mod in engines.items():
            fm = mod.FusedModel.of(model, run.task.list_len)
            hc = mod.head_constants(fm, model, data)
            for comp, make, center in (("full", lambda: mod.full_model_loss(fm, data), lambda: stacked(model, C)),
                                       ("head", lambda: mod.head_loss(fm, hc, heads), lambda: mod.head_weights(model, heads))):
                for how in ("eager", "compiled"):
                    fn = make() if how == "eager" else compiled_loss(make())
                    run_chains(fn, center(), {}, specs, len(data), s.batch_size, 3)       # warm-up (and compiling)
                    cases[comp, how, name] = fn, center
        for _ in range(a.reps):                     # the engines alternate, so that drifts of the machine hit both
            for (comp, how, name), (fn, center) in cases.items():
                t0 = time.perf_counter()
                run_chains(fn, center(), {}, specs, len(data), s.batch_size, a.steps)
                res.setdefault((C, comp, how, name), []).append((time.perf_counter() - t0) / a.steps / C * 1e3)
    res = {k: statistics.median(v) for k, v in res.items()}
    print(f"\n| chains | component | mode | {a.against} (ms) | now (ms) | speed-up |\n|---|---|---|---|---|---|")
    for (C, comp, how, name), ms in res.items():
        if name == "now":
            then = res[C, comp, how, a.against]
            print(f"| {C} | {comp} | {how} | {then:.2f} | {ms:.2f} | {then / ms:.2f}× |")


if __name__ == "__main__":
    sys.exit(main())
