"""The track's last patch runs short (builder/separate.py's last_patch_frames, twinned in
families/spectral-masks.js): on real music and the real model, its stems on the frames of track
stay >= 60 dB of the full, zero-padded patch Spleeter runs, at every kind of remainder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from builder.audio_io import load_audio, resample, to_stereo
from builder.runtime import onnx_core
from builder.separate import LAST_PATCH_MARGIN, last_patch_frames, magnitude_patches, padded_stft
from models import catalog
from models.spec import Precision

pytestmark = pytest.mark.slow  # builds the real model (shared `built` fixture)
FLOOR_DB = 60.0
# Frames of track in the last patch: one frame, either side of a FRAME_STEP boundary, the
# largest remainder that still runs short, and one that runs full.
RESTS = (1, 63, 64, 65, 512 - LAST_PATCH_MARGIN - 64, 512 - LAST_PATCH_MARGIN + 1)


@pytest.mark.parametrize("precision", [Precision.FP32, Precision.INT8_WEIGHTS], ids=lambda p: p.value)
def test_short_last_patch_matches_the_full_one_on_real_music(built, wesnoth_track, precision):
    spec = catalog.get(catalog.DEFAULT_MODEL).spec
    files = json.loads((built / "models" / f"{catalog.DEFAULT_MODEL}.json").read_text())["files"]
    core = onnx_core(built / "models" / files[precision.value]["file"])
    audio = load_audio(wesnoth_track("battle-epic.ogg"))  # loud, dense: the hardest measured case
    waveform = resample(to_stereo(audio.waveform), audio.sample_rate, spec.sample_rate)[: spec.sample_rate * 20]
    T = spec.stft.nb_frames
    patch = magnitude_patches(padded_stft(waveform, spec), spec)[1:2]  # a patch of music, not the intro
    assert len(patch) == 1 and patch.shape[2] == T
    shortened = 0
    for rest in RESTS:
        x = patch.copy()
        x[:, :, rest:] = 0  # the track ends after `rest` frames: Spleeter's zero padding
        frames = last_patch_frames(rest, T)
        shortened += frames < T
        full = core(x)[:, :, :, :rest] * x[:, None, :, :rest]
        short = core(np.ascontiguousarray(x[:, :, :frames]))[:, :, :, :rest] * x[:, None, :, :rest]
        sdr = 10 * np.log10(np.sum(full**2) / max(float(np.sum((full - short) ** 2)), 1e-30))
        print(f"{precision.value} rest {rest} frames -> run at {frames}: {sdr:.1f} dB vs the full patch")
        assert sdr >= FLOOR_DB, (rest, frames, sdr)
    assert shortened == len(RESTS) - 1  # all but the last run short
