"""Headless Chromium for browser tests: Debian's `/usr/bin/chromium` driven by Playwright (never a downloaded browser).

    from browser import chromium_browser, open_page
    with chromium_browser() as browser:                # or the `chromium` fixture of conftest.py
        page, problems = open_page(browser, "file:///.../index.html")
        assert not problems, problems

Where Chromium is missing the tests skip with the reason, except in CI (`CI` set), where they fail.

The explorer in a live JupyterLab (tests/test_browser.py, benchmarks/explorer_in_lab.py):

    (root/"explore.ipynb").write_text(json.dumps(explorer_notebook(run.path)))
    with jupyter_lab(root) as lab:
        page.goto(f"{lab['base']}/lab/tree/explore.ipynb?token={lab['token']}")
        run_notebook(page)                             # Run All; returns once the explorer is shown
"""
import json, os, secrets, shutil, signal, socket, subprocess, sys, time, urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("LLC_NB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
INSTALL = "apt-get update && apt-get install -y chromium (and pip install playwright; never `playwright install`)"


def require_chromium():
    "Skip (outside CI) or fail (in CI) unless Chromium and Playwright are installed."
    missing = [what for what, ok in [(CHROMIUM, Path(CHROMIUM).exists() or shutil.which(CHROMIUM)),
                                      ("playwright", _has_playwright())] if not ok]
    if missing:
        msg = f"browser test needs {' and '.join(missing)}: {INSTALL}"
        if os.environ.get("CI"): pytest.fail(msg + " (CI is set: not skipping)")
        pytest.skip(msg)


def _has_playwright():
    try: import playwright.sync_api  # noqa: F401
    except ImportError: return False
    return True


@contextmanager
def chromium_browser(**launch):
    "A headless Chromium (Playwright `Browser`), closed on exit."
    require_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **launch)
        try: yield browser
        finally: browser.close()


def _remote(url: str) -> bool:
    "A request that would leave this machine (loopback servers of the tests are local)."
    return url.startswith(("http://", "https://")) and not url.split("://", 1)[1].startswith(("127.0.0.1", "localhost", "[::1]"))


def open_page(browser, url: str, offline: bool = True, screenshot: Path | None = None, **context):
    """Open `url` in a fresh context; returns (page, problems). `problems` lists console errors, uncaught page errors,
    failed requests, images that did not load and, with `offline`, every request that would leave the machine
    (aborted). Keep the page's context alive as long as you use `page`; it closes with the browser."""
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text} ({m.location.get('url', '')})"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def failed(request):
        if not (offline and _remote(request.url)):         # those are reported (and aborted) by `block`
            problems.append(f"request failed: {request.url[:120]} ({request.failure})")

    def block(route):
        problems.append(f"network request: {route.request.url}")
        route.abort()

    page.on("requestfailed", failed)
    if offline: page.route(_remote, block)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    broken = page.evaluate("Array.from(document.images).filter(i => i.complete && i.naturalWidth === 0 || !i.complete)"
                           ".map(i => i.currentSrc || i.src).map(s => s.slice(0, 120))")
    problems += [f"image not loaded: {s}" for s in broken]
    if screenshot: page.screenshot(path=str(screenshot), full_page=True)
    return page, problems


LAB_START_S, KERNEL_S = 90, 180          # generous: 2 shared cores; importing torch in a fresh kernel is slow there


def explorer_notebook(run_path: Path, **options) -> dict:
    "A notebook (nbformat dict) whose one cell shows `CheckpointExplorer(run_path, **options)`."
    args = "".join(f", {k}={v!r}" for k, v in options.items())
    src = f"from llc_nb.explorer import CheckpointExplorer\nex = CheckpointExplorer({str(run_path)!r}{args})\nex"
    return dict(nbformat=4, nbformat_minor=5, cells=[dict(cell_type="code", id="explorer", metadata={}, outputs=[],
                execution_count=None, source=src)], metadata=dict(kernelspec=dict(name="python3", display_name="Python 3",
                language="python")))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    "Every process below `pid` (kernels run in their own session, so a process group does not cover them)."
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try: kids = [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError: kids = []
        out += kids; todo += kids
    return out


def _kill(pids, sig=signal.SIGKILL):
    for p in pids:
        try: os.kill(p, sig)
        except ProcessLookupError: pass


@contextmanager
def jupyter_lab(root: Path):
    """JupyterLab on 127.0.0.1 with a token, serving `root` (its config in root/.jupyter, its log in root/lab.log).
    Yields dict(base, token, log, pids, proc); pids added to `pids` are killed on exit too. On exit the server is asked
    to shut down (its kernels with it), then any process of it still alive is killed by pid. Raises RuntimeError, with
    the log's tail, if the server exits or does not answer within LAB_START_S seconds."""
    cfg = root/".jupyter"
    (cfg/"config"/"labconfig").mkdir(parents=True)
    (cfg/"config"/"labconfig"/"page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(cfg/"config"), "JUPYTER_DATA_DIR": str(cfg/"data"),
           "JUPYTER_RUNTIME_DIR": str(cfg/"runtime"), "PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg"}
    port, token = _free_port(), secrets.token_hex(16)
    log = open(root/"lab.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
                             f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
                             f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
                             "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base, pids = f"http://127.0.0.1:{port}", set()
    tail = lambda: (root/"lab.log").read_text()[-2000:]

    def api(path, method="GET"):
        req = urllib.request.Request(base + path, method=method, headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=10) as r: return r.read()

    try:
        deadline = time.time() + LAB_START_S
        while True:
            if proc.poll() is not None: raise RuntimeError(f"jupyter lab exited with {proc.returncode}: {tail()}")
            try: api("/api/status"); break
            except OSError:
                if time.time() > deadline: raise RuntimeError(f"jupyter lab did not answer in {LAB_START_S} s: {tail()}")
                time.sleep(0.5)
        yield dict(base=base, token=token, log=root/"lab.log", pids=pids, proc=proc)
    finally:
        pids.update(descendants(proc.pid))
        try: api("/api/shutdown", "POST")                      # stops its kernels, then the server
        except OSError: pass
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: _kill([proc.pid])
        proc.wait()
        time.sleep(0.5)
        _kill(pids)                                            # anything of it that outlived the shutdown
        log.close()


KERNEL_READY = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const sc = w && w.sessionContext, k = sc && sc.session && sc.session.kernel;
  return !!(sc && sc.isReady && k && k.connectionStatus === 'connected' && k.status === 'idle'); }"""


def run_notebook(page):
    """Run every cell of the notebook open in `page` once its kernel is connected, until the explorer is shown;
    answer a kernel-selection dialog if one comes. Fails after KERNEL_S seconds."""
    deadline = time.time() + KERNEL_S
    page.wait_for_function(KERNEL_READY, timeout=KERNEL_S * 1000)
    # not awaiting the command's promise, which resolves only when the cells have finished
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    while not page.locator(".llcnb-explorer-readout").count():
        accept = page.locator(".jp-Dialog .jp-mod-accept")
        if accept.count():                                   # "Select Kernel": take the default, then run again
            accept.first.click()
            page.wait_for_function(KERNEL_READY, timeout=KERNEL_S * 1000)
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        assert time.time() < deadline, f"no explorer after {KERNEL_S} s"
        page.wait_for_timeout(500)
