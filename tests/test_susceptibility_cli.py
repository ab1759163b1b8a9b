"""`llc-nb susceptibility`: every component's susceptibility to every observable from one set of draws per component,
with its standard error, the LLC verdict beside it, a figure, and bad observables refused before sampling."""
import pandas as pd
import pytest

from conftest import TINY, llc_nb, set_args
from test_llc_cli import SAMPLER
from llc_nb.settings import load_settings
from llc_nb.train import train


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    s = load_settings(overrides=TINY + ["train.steps=40", "train.checkpoints=3", "train.log_checkpoints=0"] + SAMPLER)
    return train(s, tmp_path_factory.mktemp("sus")/"r", progress=False).path


def test_numbers_and_gaps_at_two_checkpoints(run_dir):
    r = llc_nb("susceptibility", run_dir, "--steps", "20,40", "--observables", "numbers,contains,jump,gap", "--probe-lists", "512", "--every", "5",
               "--no-progress")
    assert r.returncode == 0, r.stderr
    tab = pd.read_csv(run_dir/"susceptibility.csv")
    obs = {f"{o}_{k}" for o in ("outputs", "contains") for k in range(10)} | {"jump_top10", "small_gap", "large_gap"}
    assert set(tab.observable) == obs and set(tab.component) == {"full", "l0h0", "l0h1"} and set(tab.step) == {20, 40}
    assert len(tab) == 2 * 3 * len(obs) and tab.value.notna().all() and (tab.se > 0).all()
    assert (tab.draws == 4).all() and (tab.llc_verdict == "no llc.csv row").all()      # (25 steps - 5 burn-in) / 5
    assert (run_dir/"susceptibility.png").stat().st_size > 5000 and "3 component(s) × 23 observable(s)" in r.stdout
    # the LLC's verdict appears beside a row once llc.csv has one, and the rows are replaced, not duplicated
    assert llc_nb("llc", run_dir, "--steps", "40", "--no-progress").returncode == 0
    r = llc_nb("susceptibility", run_dir, "--steps", "40", "--observables", "gap", "--probe-lists", "512", "--every", "5", "--no-progress")
    tab = pd.read_csv(run_dir/"susceptibility.csv")
    assert r.returncode == 0 and len(tab) == 2 * 3 * len(obs)
    assert set(tab[(tab.step == 40) & (tab.observable == "small_gap")].llc_verdict) <= {"likelihood", "prior", "localization", "not-converged",
                                                                                        "not-a-minimum", "left-basin", "diverged"}
    # the explorer's and the report's step table name what each component responds to most
    from llc_nb.view import RunView
    row = RunView(run_dir).step_table(40).loc["most susceptible to"]
    assert row[["full", "l0h0", "l0h1"]].notna().all()                   # every component: its observables, or none beyond 2 SE
    sus = tab[tab.step == 40]
    strong = sus[(sus.value < 0) & (sus.value.abs() > 2 * sus.se)].sort_values("value").groupby("component").observable.first()
    for comp, first in strong.items(): assert row[comp].split(", ")[0] == first.replace("outputs_", "→")


def test_bad_observables_are_refused_before_sampling(run_dir):
    r = llc_nb("susceptibility", run_dir, "--observables", "numbers,colour", "--probe-lists", "512")
    assert r.returncode == 2 and "observable 'colour': unknown; choose from gap, " in r.stderr and "or numbers, contains, jump" in r.stderr
    r = llc_nb("susceptibility", run_dir, "--observables", "numbers", "--probe-lists", "64")
    assert r.returncode == 2 and "fewer than a batch (llc.batch_size = 32)" in r.stderr
    r = llc_nb("susceptibility", run_dir, "--observables", "regions", "--probe-lists", "512")
    assert r.returncode == 1 and "need the circuits" in r.stderr
    r = llc_nb("susceptibility", run_dir, "--probe-lists", "5000")
    assert r.returncode == 2 and "fewer than 5000" in r.stderr
