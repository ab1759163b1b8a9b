"""Real-browser tests in headless Chromium (Playwright driving Debian's /usr/bin/chromium, see tests/browser.py):
(a) the checkpoint explorer in a live JupyterLab: Play, the slider and a typed list change what is shown;
(b) report.html from file://: the slider swaps frames, with no console error and no network request.

Chromium comes from the `chromium` fixture of conftest.py. Screenshots are written to a pytest temp dir (its path is
printed; pytest keeps the last few such dirs as artifacts). Every server started here is stopped in its fixture's
finalizer (`jupyter_lab` of tests/browser.py): JupyterLab is asked to shut down (its kernels with it), then any
process of it still alive is killed by pid. Outside CI a missing Chromium or Playwright skips these tests; with `CI`
set they fail.
"""
import json

import matplotlib
matplotlib.use("Agg")
import pandas as pd
import pytest

from browser import LAB_START_S, descendants, explorer_notebook, jupyter_lab, open_page, require_chromium, run_notebook
from conftest import TINY
from llc_nb.pipeline import circuits_step
from llc_nb.pipeline import report_step
from llc_nb.report import run_slider
from llc_nb.settings import load_settings
from llc_nb.train import train


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    require_chromium()                   # skip (or fail in CI) before training anything
    s = load_settings(overrides=TINY + ["train.steps=60", "train.checkpoints=4", "train.log_checkpoints=2"])
    run = train(s, tmp_path_factory.mktemp("browser")/"tiny", progress=False)
    circuits_step(run, n_lists=200, progress=False)
    # a susceptibility table at the last step only (its computation is tested in tests/test_susceptibility_cli.py): the
    # explorer's panel shows it there, and says at the other steps that there is none
    run.write_table("susceptibility", pd.DataFrame([dict(step=run.steps[-1], component=c, observable=f"outputs_{k}", se=0.1,
                                                         value=(k - 4.5) * (1 if c == "l0h0" else -1)) for c in ["full", "l0h0", "l0h1"] for k in range(10)]))
    return run


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    d = tmp_path_factory.mktemp("screenshots")
    print(f"\nscreenshots: {d}")
    return d


@pytest.fixture(scope="module")
def lab(tmp_path_factory, tiny_run):
    "A JupyterLab (tests/browser.py) in a temp dir, holding a notebook that opens the explorer on the tiny run."
    root = tmp_path_factory.mktemp("lab")
    (root/"explore.ipynb").write_text(json.dumps(explorer_notebook(tiny_run.path, interval_ms=700)))
    with jupyter_lab(root) as lab:                             # a RuntimeError with the server's log if it fails to start
        yield {**lab, "url": f"{lab['base']}/lab/tree/explore.ipynb?token={lab['token']}"}


def _text(page, selector) -> str:
    return page.locator(selector).first.inner_text()


def test_explorer_in_jupyterlab(lab, chromium, shots, tiny_run):
    n = len(tiny_run.steps)
    ctx = chromium.new_context(viewport=dict(width=1400, height=1600))
    page = ctx.new_page()
    page_errors = []
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.goto(lab["url"])
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=LAB_START_S * 1000)
    try:
        run_notebook(page)
        lab["pids"].update(descendants(lab["proc"].pid))         # the kernel, to be sure it is stopped at the end
    except Exception:
        page.screenshot(path=str(shots/"lab_failed.png"), full_page=True)
        raise AssertionError(f"the explorer did not appear; page: {page.inner_text('.jp-Notebook')[-1500:]}; "
                             f"server log: {lab['log'].read_text()[-1500:]}")
    page.wait_for_function("() => document.querySelector('img.llcnb-explorer-heads') && document.querySelector('img.llcnb-explorer-heads').naturalWidth > 0")
    assert f"step 0 · checkpoint 1 of {n}" in _text(page, ".llcnb-explorer-readout")
    img0 = page.locator("img.llcnb-explorer-heads").get_attribute("src")
    sus0 = page.locator("img.llcnb-explorer-susceptibility").get_attribute("src")
    pixels0 = page.locator("img.llcnb-explorer-heads").screenshot()
    page.locator(".llcnb-explorer").screenshot(path=str(shots/"lab_step0.png"))

    # Play runs the slider through every checkpoint (jslink in the browser); the kernel redraws each step
    page.locator(".llcnb-explorer-play button").first.click()
    page.wait_for_function(f"() => document.querySelector('.llcnb-explorer-readout').innerText.includes('checkpoint {n} of {n}')",
                           timeout=60_000)
    page.wait_for_function("src => document.querySelector('img.llcnb-explorer-heads').getAttribute('src') !== src", arg=img0)
    assert page.locator("img.llcnb-explorer-heads").screenshot() != pixels0
    page.wait_for_function("src => document.querySelector('img.llcnb-explorer-susceptibility').getAttribute('src') !== src", arg=sus0)
    assert page.locator("img.llcnb-explorer-susceptibility").evaluate("i => i.naturalWidth") > 200
    assert f"step {tiny_run.steps[-1]} ·" in _text(page, ".llcnb-explorer-readout")
    page.wait_for_function(f"() => document.querySelector('.llcnb-explorer-answer').innerText.includes('at step {tiny_run.steps[-1]}:')",
                           timeout=60_000)                       # the last panel the kernel updates for a step
    page.locator(".llcnb-explorer").screenshot(path=str(shots/"lab_played.png"))

    # the slider: the keyboard moves its handle one checkpoint back
    img_last = page.locator("img.llcnb-explorer-heads").get_attribute("src")
    page.locator(".llcnb-explorer-checkpoint .noUi-handle").first.focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => document.querySelector('.llcnb-explorer-readout').innerText.includes('checkpoint {n - 1} of {n}')",
                           timeout=60_000)
    page.wait_for_function("src => document.querySelector('img.llcnb-explorer-heads').getAttribute('src') !== src", arg=img_last)

    # an invalid list is a message in the widget, not a traceback; a valid one is accepted
    box = page.locator(".llcnb-explorer-example input")
    box.fill("1 2 3")
    box.press("Enter")
    page.wait_for_function("() => document.querySelector('.llcnb-explorer-message').innerText.includes('expected 4 numbers, got 3')",
                           timeout=60_000)
    page.locator(".llcnb-explorer").screenshot(path=str(shots/"lab_bad_list.png"))
    box.fill("9 0 4 2")
    box.press("Enter")
    page.wait_for_function("() => document.querySelector('.llcnb-explorer-message').innerText === ''", timeout=60_000)
    assert "model's answer at step" in _text(page, ".llcnb-explorer-answer")
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert "Traceback" not in page.inner_text(".jp-Notebook")
    assert not page_errors, page_errors
    ctx.close()


def test_report_offline(tiny_run, chromium, shots, tmp_path):
    path = report_step(tiny_run, tmp_path/"report.html")
    page, problems = open_page(chromium, path.as_uri(), screenshot=shots/"report_step0.png",
                               viewport=dict(width=1300, height=1000))
    frame_img = "() => document.querySelector('.llcnb-frame:not([hidden]) img:nth-of-type(1)').getAttribute('src')"
    label = lambda: page.locator(".llcnb-step").first.inner_text()
    steps = tiny_run.steps
    assert label() == f"step {steps[0]}" and page.locator(".llcnb-frame:not([hidden])").count() == 1
    first = page.evaluate(frame_img)
    page.locator(".llcnb-range").fill("2")                       # dragging the slider
    assert label() == f"step {steps[2]}" and page.evaluate(frame_img) != first
    page.locator(".llcnb-range").focus(); page.keyboard.press("ArrowRight")
    assert label() == f"step {steps[3]}"
    page.locator(".llcnb-prev").click()
    assert label() == f"step {steps[2]}"
    page.locator(".llcnb-slider").first.screenshot(path=str(shots/"report_step2.png"))
    page.locator(".llcnb-play").click()                          # play runs to the last frame and stops there
    page.wait_for_function(f"() => document.querySelector('.llcnb-step').innerText === 'step {steps[-1]}'", timeout=10_000)
    page.wait_for_function("() => document.querySelector('.llcnb-play').innerText.includes('play')", timeout=10_000)
    resources = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert all(r.startswith(("data:", "file:")) for r in resources), resources
    assert not problems, problems                                # no console error, no request leaving the machine


def test_two_sliders_on_one_page(tiny_run, chromium, tmp_path):
    a, b = run_slider(tiny_run), run_slider(tiny_run, steps=tiny_run.steps[1:])
    (tmp_path/"two.html").write_text(f"<!doctype html><meta charset='utf-8'><body>{a}{b}</body>")
    page, problems = open_page(chromium, (tmp_path/"two.html").as_uri())
    labels = lambda: page.locator(".llcnb-step").all_inner_texts()
    steps = tiny_run.steps
    assert labels() == [f"step {steps[0]}", f"step {steps[1]}"]
    page.locator(".llcnb-next").nth(1).click()
    assert labels() == [f"step {steps[0]}", f"step {steps[2]}"]
    page.locator(".llcnb-range").nth(0).fill("3")
    assert labels() == [f"step {steps[3]}", f"step {steps[2]}"]
    assert not problems, problems
