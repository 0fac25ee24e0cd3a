"""The PyTorch port against Deezer's TensorFlow graph, on real music (scripts/make_golden.py)."""

import numpy as np
import torch

from builder.audio_io import load_audio
from builder.separate import separate
from builder.validate import stem_sdrs
from models import catalog
from tests.conftest import DATA


def test_port_reproduces_tensorflow_stems(checkpoint, excerpt):
    entry = catalog.get("spleeter-2stems")
    model = entry.load(entry.spec, checkpoint)

    def core(magnitude):
        with torch.no_grad():
            return model(torch.from_numpy(magnitude)).numpy()

    golden = np.stack([load_audio(DATA / f"golden-tf-{s}.flac").waveform for s in entry.spec.stems])
    sdrs = stem_sdrs(entry.spec, golden, separate(excerpt, entry.spec, core))
    assert all(value >= entry.spec.tolerances.port_sdr_db for value in sdrs.values()), sdrs
