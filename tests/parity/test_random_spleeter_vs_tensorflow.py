"""The 4/5-stem ports against Deezer's TensorFlow graph with the same random checkpoint
(``builder.random_weights`` writes it; ``scripts/make_golden_random.py`` ran TensorFlow on it)."""

import numpy as np
import pytest
import torch

from builder.audio_io import load_audio
from builder.separate import separate
from builder.validate import stem_sdrs
from models import catalog
from tests.conftest import DATA

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("model_name", ["spleeter-4stems", "spleeter-5stems"])
def test_port_reproduces_tensorflow_stems_from_a_random_checkpoint(model_name, random_checkpoint, excerpt):
    entry = catalog.get(model_name)
    model = entry.load(entry.spec, random_checkpoint(model_name))

    def core(magnitude):
        with torch.no_grad():
            return model(torch.from_numpy(magnitude)).numpy()

    golden = np.stack([load_audio(DATA / f"golden-tf-{model_name}-{s}.flac").waveform for s in entry.spec.stems])
    clip = excerpt[: golden.shape[1]]
    sdrs = stem_sdrs(entry.spec, golden, separate(clip, entry.spec, core))
    assert len(sdrs) == len(entry.spec.stems)
    assert all(value >= entry.spec.tolerances.port_sdr_db for value in sdrs.values()), sdrs


def test_five_stem_softmax_model_builds_from_a_checkpoint_folder(random_checkpoint, tmp_path):
    """``demixer build --model spleeter-5stems --checkpoint DIR``: fp32 export validated, 5 stems."""
    import json

    from builder.build import build_model
    from builder.config import BuildConfig, Paths
    from models.spec import Precision

    folder = random_checkpoint("spleeter-5stems").parent
    report = build_model(BuildConfig("spleeter-5stems", folder, (Precision.FP32,), Paths(dist=tmp_path)),
                         log=lambda line: None)  # fmt: skip
    spec = catalog.get("spleeter-5stems").spec
    assert report.onnx_fp32_outlier_fraction <= spec.tolerances.onnx_fp32_outlier_fraction
    descriptor = json.loads((tmp_path / "models" / "spleeter-5stems.json").read_text())
    assert descriptor["stems"] == ["vocals", "piano", "drums", "bass", "other"]
