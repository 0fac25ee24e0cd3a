"""`demixer separate --model htdemucs`: the built ONNX core between demucs's own STFT and iSTFT,
natively, held to demucs's own ``apply_model`` on real music; refused clearly without demucs."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from builder import cli
from builder.audio_io import load_audio
from builder.config import BuildConfig, Paths
from builder.validate import sdr_db
from models import htdemucs
from models.spec import Precision
from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.slow  # builds a (reduced) HTDemucs: ~20 s


@pytest.fixture(scope="module")
def small_htdemucs(tmp_path_factory):
    """(dist folder, the model): a seeded random HTDemucs of reduced width and a 3 s segment, so
    that the 12 s excerpt takes five segments (the last one short)."""
    from builder.build import build_model

    tmp = tmp_path_factory.mktemp("htdemucs-native")
    model = htdemucs.random_htdemucs(seed=11, **htdemucs.REDUCED_HTDEMUCS)
    checkpoint = htdemucs.save_package(model, tmp / "htdemucs-small.th")
    build_model(BuildConfig("htdemucs", checkpoint, (Precision.FP32,), Paths(dist=tmp / "dist")), log=print)
    return tmp / "dist", model


def test_cli_separates_with_htdemucs_like_demucs_apply_model(small_htdemucs, tmp_path):
    dist, model = small_htdemucs
    song = DATA / "excerpt.flac"
    result = subprocess.run([sys.executable, "-m", "builder.cli", "separate", str(song), "--model", "htdemucs",
                             "--precision", "fp32", "--format", "float", "-o", str(tmp_path), "--dist", str(dist)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    reference = htdemucs.reference_stems(model, load_audio(song).waveform)
    for stem, expected in zip(model.sources, reference, strict=True):
        ours, rate = sf.read(tmp_path / f"excerpt-{stem}.wav", dtype="float32")
        assert rate == 44100 and ours.shape == expected.shape
        sdr = sdr_db(expected, ours)
        print(f"native htdemucs {stem}: vs demucs apply_model SDR {sdr:.1f} dB")
        assert sdr >= 40.0, (stem, sdr)
        assert np.std(ours) > 1e-4  # a silent stem would not say much


def test_without_demucs_separate_is_refused_naming_what_to_install(small_htdemucs, tmp_path, monkeypatch, capsys):
    dist, _ = small_htdemucs
    monkeypatch.setitem(sys.modules, "demucs", None)  # as if not installed: `import demucs...` fails
    monkeypatch.setitem(sys.modules, "openunmix", None)
    code = cli.main(["separate", str(DATA / "excerpt.flac"), "--model", "htdemucs", "--precision", "fp32",
                     "-o", str(tmp_path), "--dist", str(dist)])  # fmt: skip
    error = capsys.readouterr().err
    assert code == 2 and "demixer: error:" in error and "pip install torch demucs==4.0.1" in error, error
    assert not list(tmp_path.glob("*.wav"))
