"""`llc-nb llc`: LLC rows for every checkpoint and component, cached, settings errors, diverging sampler reported."""
import pandas as pd
import pytest

from conftest import TINY, llc_nb, set_args
from llc_nb.llc import VERDICTS
from llc_nb.settings import load_settings
from llc_nb.train import train

SAMPLER = ["llc.step_size=1e-4", "llc.n_beta=10", "llc.localization=100", "llc.head_step_size=1e-4", "llc.head_n_beta=10",
           "llc.head_localization=100", "llc.workers=1", "llc.chains=2", "llc.draws=20", "llc.burnin=5", "llc.sampler=sgld",
           "llc.hessian_probes=2", "llc.every=1", "llc.batch_size=32", "llc.init_loss_batches=4"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    s = load_settings(overrides=TINY + ["train.steps=20", "train.checkpoints=3", "train.log_checkpoints=0"] + SAMPLER)
    return train(s, tmp_path_factory.mktemp("llc")/"r", progress=False).path


def test_llc_every_checkpoint_and_component(run_dir):
    r = llc_nb("llc", run_dir, "--no-progress")
    assert r.returncode == 0, r.stderr
    tab = pd.read_csv(run_dir/"llc.csv")
    assert sorted(set(zip(tab.step, tab.component))) == [(s, c) for s in (0, 10, 20) for c in ("full", "l0h0", "l0h1")]
    assert (tab.chains_ok == 2).all() and (tab.n_beta == 10).all()
    assert tab.verdict.isin(VERDICTS).all() and {"llc_half_gamma", "gamma_change", "gradient_llc", "rhat_steps"} <= set(tab.columns)
    assert "full" in r.stdout and "l0h1" in r.stdout and "verdicts " in r.stdout
    # the same command again reuses every cached trace: identical numbers
    r2 = llc_nb("llc", run_dir, "--no-progress")
    assert r2.returncode == 0
    pd.testing.assert_frame_equal(tab, pd.read_csv(run_dir/"llc.csv"))


def test_adaptive_stopping_records_the_steps_used(run_dir):
    "With llc.max_steps the chains run in blocks until stationary or the cap: each row says how many steps it used."
    r = llc_nb("llc", run_dir, "--no-progress", "--steps", "20", "--set", "llc.max_steps=105", "--set", "llc.block=40")
    assert r.returncode == 0, r.stderr
    tab = pd.read_csv(run_dir/"llc.csv").query("step == 20 and max_steps == 105")
    assert len(tab) == 3 and set(tab.sgld_steps) <= {25, 65, 105}                # burnin + draws, then blocks of 40, at most the cap
    assert (tab.burnin_used >= 5).all() and (tab.sgld_steps - tab.burnin_used >= 20).all()   # draws: at least `draws`
    assert "adaptive, at most 105" in r.stdout
    r = llc_nb("llc", run_dir, "--set", "llc.max_steps=10")
    assert r.returncode == 2 and "llc.max_steps: the cap must be at least burnin + draws = 25" in r.stderr
    r = llc_nb("llc", run_dir, "--set", "llc.max_steps=105", "--set", "llc.block=200")
    assert r.returncode == 2 and "llc.block: a block of 200 steps does not fit under llc.max_steps = 105" in r.stderr


def test_llc_settings_errors(run_dir):
    r = llc_nb("llc", run_dir, "--set", "train.steps=5")
    assert r.returncode == 2 and "only [llc] settings can change" in r.stderr
    r = llc_nb("llc", run_dir, "--set", "llc.components=l0h7")
    assert r.returncode == 2 and "l0h7 does not exist" in r.stderr
    r = llc_nb("llc", run_dir, "--steps", "7")
    assert r.returncode == 1 and "no checkpoint at step(s) [7]" in r.stderr


def test_diverging_sampler_is_reported_as_failed_chains(run_dir, tmp_path):
    r = llc_nb("llc", run_dir, "--no-progress", "--steps", "20", "--set", "llc.components=full",
               "--set", "llc.step_size=100", "--set", "llc.n_beta=100000", "--set", "llc.localization=0",
               "--set", "llc.max_gradient_share=1e9")     # else the gradient test decides before sampling (γ = 0: no minimum)
    assert r.returncode == 0, r.stderr
    row = pd.read_csv(run_dir/"llc.csv").query("step == 20 and component == 'full'").iloc[0]
    assert row.chains_ok == 0 and pd.isna(row.llc_mean)
    assert "diverged" in row.warnings and row.verdict == "diverged"
    assert "with diverged chains" in r.stderr and "[diverged]" in r.stdout


def test_calibrate_writes_table_figure_and_settings(run_dir):
    "The grid screens, the certificate decides: only a setting certified at every checkpoint is written."
    from llc_nb.store import Run
    before = Run(run_dir).settings.llc
    r = llc_nb("calibrate", run_dir, "--components", "full", "--steps", "10,20", "--samplers", "sgld", "--step-size-scale", "1e-3",
               "--n-beta", "5,10", "--localization", "50,100", "--chains", "2", "--burnin", "5", "--draws", "10", "--certify", "1",
               "--set", "llc.max_steps=105", "--set", "llc.block=40", "--write", "--no-progress")
    assert r.returncode == 0, r.stderr
    tab = pd.read_csv(run_dir/"calibration.csv")
    assert len(tab) == 2 * 2 * 2 * 2 * 2 and set(tab.component) == {"full"} and set(tab.step) == {10, 20}
    assert {"verdict", "n_beta_slope", "localization_halved", "step_size_halved", "accepted", "recommended"} <= set(tab.columns)
    assert (run_dir/"calibration.png").stat().st_size > 10_000
    assert "full  screen's best sgld" in r.stdout
    cert = pd.read_csv(run_dir/"calibration_certified.csv")
    assert set(cert.step) == {10, 20} and set(cert.candidate) == {0, 1}          # the run's own setting and the screen's best
    screen_best = tab[tab.recommended].iloc[0]
    assert cert[cert.candidate == 1].n_beta.iloc[0] == screen_best.n_beta
    for _, g in cert.groupby("candidate"):
        assert g.certified.all() == (g.verdict == "likelihood").all()
    s = Run(run_dir).settings.llc
    if cert.recommended.any():
        rec = cert[cert.recommended].iloc[0]
        assert (s.step_size, s.n_beta, s.localization) == (rec.step_size, rec.n_beta, rec.localization)
    else:
        assert s == before and "nothing is recommended" in r.stdout and "settings.ini unchanged" in r.stdout


def test_calibrate_bad_input(run_dir):
    r = llc_nb("calibrate", run_dir, "--step-size-scale", "fast", "--samplers", "sgld")
    assert r.returncode == 2 and "--step-size-scale: expected comma-separated numbers" in r.stderr
    r = llc_nb("calibrate", run_dir, "--samplers", "adam")
    assert r.returncode == 2 and "--samplers: unknown sampler" in r.stderr
    r = llc_nb("calibrate", run_dir, "--steps", "9")
    assert r.returncode == 1 and "no checkpoint at step(s) [9]" in r.stderr
    r = llc_nb("calibrate", run_dir, "--components", "full,l0h7")
    assert r.returncode == 2 and "l0h7 does not exist" in r.stderr
    r = llc_nb("calibrate", run_dir, "--certify", "-1")
    assert r.returncode == 2 and "--certify: must be >= 0" in r.stderr


def test_llc_on_subsets_writes_the_refined_table(run_dir):
    "`llc-nb llc --subset gap`: the data-refined LLC of every component on each subset, with verdicts, in llc_refined.csv."
    before = pd.read_csv(run_dir/"llc.csv") if (run_dir/"llc.csv").is_file() else None
    r = llc_nb("llc", run_dir, "--subset", "gap", "--steps", "20", "--no-progress")
    assert r.returncode == 0, r.stderr
    tab = pd.read_csv(run_dir/"llc_refined.csv")
    assert sorted(set(zip(tab.subset, tab.component))) == [(s, c) for s in ("large_gap", "small_gap") for c in ("full", "l0h0", "l0h1")]
    assert (tab.step == 20).all() and tab.verdict.notna().all() and (run_dir/"llc_refined.png").is_file()
    assert "small_gap:" in r.stdout and "large_gap:" in r.stdout
    if before is not None: pd.testing.assert_frame_equal(before, pd.read_csv(run_dir/"llc.csv"))   # llc.csv untouched
    r = llc_nb("llc", run_dir, "--subset", "short_lists")
    assert r.returncode == 2 and "subset 'short_lists': unknown" in r.stderr
    r = llc_nb("llc", run_dir, "--subset", "regions")
    assert r.returncode == 1 and "region subsets need the circuits" in r.stderr
