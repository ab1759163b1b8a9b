"""Shared test helpers: tiny settings that train in seconds, and a runner for the `llc-nb` command."""
import os, subprocess, sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]

# tiny models run fastest on one thread (the toolkit's thread policy); tests seed explicitly
torch.set_num_threads(1)

from llc_nb.settings import PROFILES
TINY = PROFILES["tiny"]   # the tiny model and task of every test


def set_args(overrides):
    "['a=b', ...] -> ['--set', 'a=b', ...]"
    return [x for o in overrides for x in ("--set", o)]


def llc_nb(*args, cwd=None, timeout=300, **kw):
    "Run the `llc-nb` console script; returns the CompletedProcess."
    exe = Path(sys.executable).with_name("llc-nb")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from llc_nb.cli import main; raise SystemExit(main())"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(cmd + [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, **kw)


@pytest.fixture
def tiny():
    return list(TINY)


@pytest.fixture(scope="module")
def chromium():
    "Headless Debian Chromium (a Playwright `Browser`, see tests/browser.py); skips where missing, fails so in CI."
    from browser import chromium_browser
    with chromium_browser() as browser:
        yield browser
