"""The checkpoint explorer in a real JupyterLab: step through every checkpoint of a run and time each update.

    python benchmarks/explorer_in_lab.py runs/default [--shots DIR] [--timeout S]

Starts JupyterLab on 127.0.0.1 with a token in a temp dir and opens a notebook holding `CheckpointExplorer(run)` in
headless Chromium (both with tests/browser.py, as tests/test_browser.py does), runs it, then presses → on the slider's
handle once per checkpoint. For each step it records the readout, whether the heads and curves images changed (their
pixels versus the previous step, once the kernel has updated every panel), and the browser-side update time: from the
key press until the readout names the new checkpoint and the heads image has a new, loaded source. Then it types an
invalid list (a repeated number) and records the message the widget shows. Screenshots of the first, a middle and the
last step (and of the invalid list) go to --shots. Exits 1 if any step did not update: readout, heads or curves image
unchanged, or no update within --timeout seconds.
"""
import argparse, json, statistics, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]/"tests"))
from browser import LAB_START_S, chromium_browser, explorer_notebook, jupyter_lab, run_notebook
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from llc_nb.store import Run

SHOWN = """([want, old]) => { const h = document.querySelector('img.llcnb-explorer-heads');
  return document.querySelector('.llcnb-explorer-readout').innerText.includes(want) && h.src !== old && h.complete
         && h.naturalWidth > 0; }"""


def step_through(page, steps: list[int], timeout_s: float, shots: Path) -> list[dict]:
    "Press → on the slider once per checkpoint after the first; one record per checkpoint (the first: as it opened)."
    n, ms = len(steps), timeout_s * 1000
    text = lambda s: page.locator(s).first.inner_text()
    pixels = lambda: dict(heads=page.locator("img.llcnb-explorer-heads").screenshot(),
                          curves=page.locator("img.llcnb-explorer-curves").screenshot())
    shot = lambda i: page.locator(".llcnb-explorer").screenshot(path=str(shots/f"checkpoint_{i + 1:02d}_of_{n}.png"))
    answered = lambda step: page.wait_for_function(      # the answer is the last panel the kernel updates for a step
        "want => document.querySelector('.llcnb-explorer-answer').innerText.includes(want) && "
        "Array.from(document.querySelectorAll('.llcnb-explorer img')).every(i => i.complete)", arg=f"at step {step}:", timeout=ms)
    page.wait_for_function(SHOWN, arg=[f"checkpoint 1 of {n}", ""], timeout=ms)
    answered(steps[0])
    records, prev = [dict(readout=text(".llcnb-explorer-readout"), ok=True)], pixels()
    shot(0)
    print(f"  {records[0]['readout']}")
    handle = page.locator(".llcnb-explorer-checkpoint .noUi-handle").first
    for i in range(1, n):
        old = page.locator("img.llcnb-explorer-heads").get_attribute("src")
        handle.focus()
        t0 = time.perf_counter()
        page.keyboard.press("ArrowRight")
        try:
            page.wait_for_function(SHOWN, arg=[f"step {steps[i]} · checkpoint {i + 1} of {n}", old], timeout=ms)
            s = time.perf_counter() - t0
            answered(steps[i])
            all_s, ok = time.perf_counter() - t0, True
        except PlaywrightTimeout:
            s, all_s, ok = float("nan"), float("nan"), False
        now = pixels()
        r = dict(readout=text(".llcnb-explorer-readout"), s=s, all_s=all_s, ok=ok, **{k: now[k] != prev[k] for k in now})
        r["readout_changed"] = r["readout"] != records[-1]["readout"]
        records.append(r)
        prev = now
        if i in (n // 2, n - 1): shot(i)
        print(f"  {r['readout']}: heads {'changed' if r['heads'] else 'SAME'}, curves {'changed' if r['curves'] else 'SAME'}, "
              + (f"{s:.2f} s (all panels {all_s:.2f} s)" if ok else f"NOT UPDATED in {timeout_s:g} s"))
    return records


def bad_list(page, timeout_s: float, shots: Path) -> tuple[str, str]:
    "Type the example list with its first number repeated; returns (what was typed, the message shown)."
    box = page.locator(".llcnb-explorer-example input")
    nums = box.input_value().split()
    typed = " ".join([nums[0], *nums[:-1]])
    box.fill(typed)
    box.press("Enter")
    page.wait_for_function("() => document.querySelector('.llcnb-explorer-message').innerText !== ''", timeout=timeout_s * 1000)
    page.locator(".llcnb-explorer").screenshot(path=str(shots/"bad_list.png"))
    return typed, page.locator(".llcnb-explorer-message").inner_text()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path); ap.add_argument("--shots", type=Path, default=Path("/tmp/explorer_shots"))
    ap.add_argument("--timeout", type=float, default=60, help="seconds to wait for each step's update")
    a = ap.parse_args()
    run = a.run.resolve()
    steps = Run(run).steps
    a.shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, jupyter_lab(Path(tmp)) as lab, chromium_browser() as browser:
        (Path(tmp)/"explore.ipynb").write_text(json.dumps(explorer_notebook(run)))
        page = browser.new_context(viewport=dict(width=1400, height=1600)).new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{lab['base']}/lab/tree/explore.ipynb?token={lab['token']}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=LAB_START_S * 1000)
        t0 = time.perf_counter()
        run_notebook(page)
        print(f"run {run}: {len(steps)} checkpoints; explorer shown {time.perf_counter() - t0:.1f} s after Run All")
        records = step_through(page, steps, a.timeout, a.shots)
        typed, message = bad_list(page, a.timeout, a.shots)
        tracebacks = page.inner_text(".jp-Notebook").count("Traceback")
    moves = records[1:]
    times, all_times = ([r[k] for r in moves if r["ok"]] for k in ("s", "all_s"))
    count = lambda k: sum(bool(r.get(k)) for r in moves)
    print(f"checkpoints: {len(records)}; {len(moves)} moves of the slider: readout changed "
          f"{count('readout_changed')}, heads image changed {count('heads')}, curves image changed {count('curves')}, "
          f"updated in time {count('ok')}")
    if times: print(f"browser-side update time, → pressed until readout and heads image are new: median "
                    f"{statistics.median(times):.2f} s, max {max(times):.2f} s; until every panel is (the answer last): "
                    f"median {statistics.median(all_times):.2f} s, max {max(all_times):.2f} s")
    print(f"invalid list {typed!r}: the widget says {message!r}")
    print(f"page errors: {len(errors)}, tracebacks in the notebook: {tracebacks}; screenshots: {a.shots}")
    failed = [i + 2 for i, r in enumerate(moves) if not (r["ok"] and r["readout_changed"] and r["heads"] and r["curves"])]
    if failed: print(f"FAILED: checkpoints {failed} did not update")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
