"""The batched engine against devinterp on a real run: same settings, independent chains, statistical agreement.

    python benchmarks/llc_equivalence.py runs/default [--chains 8] [--burnin 50] [--draws 100] [--set llc.KEY=VALUE ...]

At three checkpoints (early after the loss drop, middle, last: `calibration_steps`), for the full model and every
head, runs both engines with the run's [llc] sampler and `--chains` independent chains each, and reports per
(checkpoint, component): both means with standard errors, their difference in units of its standard error (pass:
within 3), and how alike the chain-averaged loss traces are (their mean level over the draws, and the largest gap
between the two mean traces over the run, in units of the per-step spread between chains). Writes a CSV with
`--out`.
"""
import argparse, math
from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from llc_nb.calibrate import calibration_steps
from llc_nb.llc import chance_loss, estimate_from_traces
from llc_nb.sampling import component_settings, components, sample_components, sampling_data
from llc_nb.settings import parse_overrides, settings_from_dict
from llc_nb.store import Run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run"); ap.add_argument("--chains", type=int, default=8); ap.add_argument("--burnin", type=int, default=50)
    ap.add_argument("--draws", type=int, default=100); ap.add_argument("--set", action="append"); ap.add_argument("--out")
    a = ap.parse_args()
    torch.set_num_threads(1)
    run = Run(a.run)
    s = settings_from_dict(parse_overrides(a.set or []), base=run.settings).llc
    s = replace(s, chains=a.chains, burnin=a.burnin, draws=a.draws, hessian_probes=0, batch_noise="raw")   # as devinterp samples
    comps = components(s.components, run.config["n_layers"], run.config["n_heads"])
    data = sampling_data(run, s)
    from llc_nb.fused import FusedModel, fused_logits
    from llc_nb.sgld import stacked
    from llc_nb.tasks import answer_logits
    worst = 0.0
    for st in run.steps:                                   # the fused model against the HookedTransformer, every checkpoint
        m = run.model(st)
        with torch.no_grad():
            f = fused_logits(FusedModel.of(m, run.task.list_len), stacked(m, 1), data[0][None, :512])[0]
            worst = max(worst, float((f - answer_logits(run.task, m(data[0][:512]))).abs().max()))
    print(f"fused vs HookedTransformer answer logits, {len(run.steps)} checkpoints × 512 lists: largest difference {worst:.2e}")
    rows = []
    for step in calibration_steps(run):
        res = {b: sample_components(run.model(step), run.task, data[0], comps, replace(s, backend=b)) for b in ("devinterp", "batched")}
        for c in comps:
            sc = component_settings(s, c)
            e = {b: estimate_from_traces(res[b][c][0], res[b][c][1], sc, chance_loss(run.task)) for b in res}
            d, b = e["devinterp"], e["batched"]
            se = math.hypot(d.llc_se, b.llc_se)
            md, mb = np.nanmean(d.trace, axis=0), np.nanmean(b.trace, axis=0)
            spread = np.nanmean(np.nanstd(np.concatenate([d.trace, b.trace]), axis=0)) / math.sqrt(a.chains)
            rows.append(dict(step=step, component=c, devinterp=d.llc_mean, devinterp_se=d.llc_se, batched=b.llc_mean,
                             batched_se=b.llc_se, diff_in_se=(b.llc_mean - d.llc_mean) / se,
                             init_devinterp=d.init_loss, init_batched=b.init_loss,
                             level_devinterp=float(md[s.burnin:].mean()), level_batched=float(mb[s.burnin:].mean()),
                             max_trace_gap_in_se=float(np.nanmax(np.abs(md - mb)) / spread),
                             verdict_devinterp=d.verdict, verdict_batched=b.verdict))
            r = rows[-1]
            print(f"step {step} {c}: devinterp {r['devinterp']:.1f} ± {r['devinterp_se']:.1f}, batched {r['batched']:.1f} ± "
                  f"{r['batched_se']:.1f}, difference {r['diff_in_se']:+.2f} SE; trace level {r['level_devinterp']:.4f} vs "
                  f"{r['level_batched']:.4f}, largest gap between mean traces {r['max_trace_gap_in_se']:.1f} SE", flush=True)
    t = pd.DataFrame(rows)
    print(f"{int((t.diff_in_se.abs() <= 3).sum())}/{len(t)} within 3 standard errors")
    if a.out: t.to_csv(a.out, index=False)


if __name__ == "__main__":
    main()
