"""HTDemucs from a checkpoint file in demucs's own format (a seeded random model of the published
architecture): the builder's ONNX core and segment pipeline against demucs's own ``apply_model``
on real music; a file that is not a checkpoint is a clear error."""

import json
import subprocess
import sys

import pytest

from builder.config import BuildConfig, Paths
from models import htdemucs
from models.catalog import CheckpointFormatError
from models.spec import Precision
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built_htdemucs(tmp_path_factory):
    from builder.build import build_model

    tmp = tmp_path_factory.mktemp("htdemucs")
    checkpoint = htdemucs.save_package(htdemucs.random_htdemucs(seed=7), tmp / "htdemucs-random.th")
    config = BuildConfig("htdemucs", checkpoint, (Precision.FP32, Precision.INT8_WEIGHTS), Paths(dist=tmp / "dist"))
    return build_model(config, log=print), tmp / "dist"


def test_random_model_has_the_published_size_and_sources(built_htdemucs):
    model = htdemucs.random_htdemucs(seed=7)
    params = sum(p.numel() for p in model.parameters())
    assert 41e6 < params < 43e6  # the released htdemucs: ~41.5 M parameters (its .th is fp16)
    descriptor = json.loads((built_htdemucs[1] / "models" / "htdemucs.json").read_text())
    assert descriptor["stems"] == ["drums", "bass", "other", "vocals"]
    assert descriptor["segmentLength"] == 343980 and descriptor["overlap"] == 0.25


def test_onnx_segments_match_demucs_apply_model_on_real_music(built_htdemucs):
    """12 s of orchestra and choir: three segments, the last one short (taken with real audio
    before it, as demucs's TensorChunk does), blended with demucs's triangle weights."""
    report, _ = built_htdemucs
    assert report.onnx_fp32_max_abs_diff < 1e-3
    sdrs = report.onnx_vs_reference_sdr_db
    print(f"htdemucs fp32 ONNX segments vs demucs apply_model, SDR dB: {sdrs}")
    assert len(sdrs) == 4 and min(sdrs.values()) >= 40.0, sdrs


def test_a_file_that_is_not_a_demucs_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "model.th"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(CheckpointFormatError, match="not a readable demucs checkpoint"):
        htdemucs.load_package(bad)
    result = subprocess.run([sys.executable, "-m", "builder.cli", "build", "--model", "htdemucs", "--checkpoint",
                             str(bad), "--dist", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 2 and "demixer: error:" in result.stderr and "Traceback" not in result.stderr


def test_int8_weights_stay_close_to_fp32_at_a_third_of_the_size(built_htdemucs):
    report, _ = built_htdemucs
    fp32, int8 = (next(a for a in report.artifacts if a.precision == p) for p in ("fp32", "int8-weights"))
    print(f"htdemucs int8: {int8.bytes / 1e6:.1f} MB (fp32 {fp32.bytes / 1e6:.1f}), SDR vs fp32 {int8.sdr_vs_fp32_db}")
    assert int8.bytes < 0.4 * fp32.bytes
    assert min(int8.sdr_vs_fp32_db.values()) >= 30.0
