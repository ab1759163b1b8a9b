"""Where a compiled whole-model chain-step spends its time: the torch profiler over a few SGLD steps.

    python benchmarks/profile_step.py runs/default [--step 3000] [--chains 4] [--steps 40]

The run's [llc] settings (batches of `llc.batch_size`), `sgld.compiled_loss` of `fused.full_model_loss`, one torch
thread, after 5 warm-up steps (and compiling). Prints ms per chain-step, then the profiler's table by self time: the
two compiled graphs (inductor's generated loops, forward and backward), the matrix products left to `bmm`/`baddbmm`,
and the RMSProp-SGLD update's element-wise ops. Nothing else should run on the machine meanwhile.
"""
import argparse, sys, time

import torch
from torch.profiler import ProfilerActivity, profile

from llc_nb import fused
from llc_nb.sampling import sampling_data
from llc_nb.sgld import ChainSpec, compiled_loss, run_chains, stacked
from llc_nb.store import Run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run"); ap.add_argument("--step", type=int); ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--steps", type=int, default=40)
    a = ap.parse_args()
    torch.set_num_threads(1)
    run = Run(a.run)
    s, step = run.settings.llc, a.step if a.step is not None else run.steps[-1]
    model, data = run.model(step), sampling_data(run, s)[0]
    specs = [ChainSpec(step_size=s.step_size, n_beta=s.n_beta, localization=s.localization, method=s.sampler, seed=i,
                       integrator=s.integrator) for i in range(a.chains)]
    fn = compiled_loss(fused.full_model_loss(fused.FusedModel.of(model, run.task.list_len), data))
    go = lambda n: run_chains(fn, stacked(model, a.chains), {}, specs, len(data), s.batch_size, n)
    go(5)                                                           # compiling and warm-up
    t0 = time.perf_counter(); go(a.steps)
    print(f"{run.path} step {step}: {(time.perf_counter() - t0) / a.steps / a.chains * 1e3:.2f} ms per chain-step "
          f"({a.chains} chains, compiled, one thread)")
    with profile(activities=[ProfilerActivity.CPU]) as prof: go(a.steps)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15, max_name_column_width=50))


if __name__ == "__main__":
    sys.exit(main())
