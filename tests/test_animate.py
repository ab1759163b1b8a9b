"""`llc-nb animate`: a GIF of an analysed run (and an MP4 where ffmpeg exists), bounded in frames and size, embedded in
the report; clear errors for an unanalysed run or an unknown panel."""
import pytest
from PIL import Image

from llc_nb.pipeline import circuits_step
from llc_nb.cli import main
from llc_nb.settings import load_settings
from llc_nb.animate import ffmpeg_exe
from llc_nb.store import Run
from llc_nb.train import train


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    s = load_settings(profile="tiny", overrides=["train.steps=100", "train.checkpoints=10", "train.log_checkpoints=4"])
    return train(s, tmp_path_factory.mktemp("animate")/"tiny", progress=False)


def test_animate_needs_an_analysis_then_writes_a_bounded_gif(run, capsys):
    assert main(["animate", str(run.path)]) == 1
    assert "no circuit analysis to animate" in capsys.readouterr().err
    circuits_step(run, n_lists=200, progress=False)
    assert main(["animate", str(run.path), "--frames", "4", "--what", "ov,regions"]) == 0
    assert "circuits.gif" in capsys.readouterr().out
    gif = Image.open(run.path/"circuits.gif")
    assert gif.n_frames == 4 and gif.size[0] == 540
    assert (run.path/"circuits.gif").stat().st_size < 300_000
    assert Run(run.path).animation() == run.path/"circuits.gif"
    assert not list(run.path.glob(".*.tmp"))                                # written atomically
    assert main(["report", str(run.path)]) == 0
    assert 'src="data:image/gif;base64,' in (run.path/"report.html").read_text()


def test_animate_refuses_unknown_panels_and_frame_bounds(run, capsys):
    assert main(["animate", str(run.path), "--what", "ov,attention"]) == 2
    assert "unknown panel(s) ['attention']" in capsys.readouterr().err
    assert main(["animate", str(run.path), "--frames", "1"]) == 2
    assert "--frames: at least 2" in capsys.readouterr().err


@pytest.mark.skipif(ffmpeg_exe() is None, reason="no ffmpeg on this machine (nor imageio-ffmpeg): the MP4 is not written")
def test_animate_writes_an_mp4_where_ffmpeg_exists(run):
    from llc_nb.pipeline import animate_step
    circuits_step(run, n_lists=200, progress=False)
    paths = animate_step(run, max_frames=5)
    mp4 = run.path/"circuits.mp4"
    assert mp4 in paths and mp4.stat().st_size > 1000 and mp4.read_bytes()[4:8] == b"ftyp"
