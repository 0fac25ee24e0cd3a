"""builder/live.py, the streaming reference: its declared delay is the delay the output shows, and
with the real model its stems converge to the offline pipeline's where both have full context."""

import json

import numpy as np
import pytest

from builder.live import live_timing, separate_live
from builder.runtime import onnx_core
from builder.separate import separate
from builder.validate import sdr_db
from models import catalog
from models.spec import LiveSpec, MaskExtension

SPEC = catalog.get("spleeter-2stems").spec
SETTINGS = [LiveSpec(256, 32, 32), LiveSpec(256, 64, 0), LiveSpec(128, 16, 48)]


def _unit_core(magnitude):
    """Stem 0 takes everything, stem 1 nothing: with 'average' extension stem 0 is the input."""
    p, c, t, f = magnitude.shape
    return np.stack([np.ones((p, c, t, f)), np.zeros((p, c, t, f))], axis=1).astype(np.float32)


@pytest.mark.parametrize("live", SETTINGS, ids=str)
def test_an_impulse_comes_out_latency_samples_later(live):
    timing = live_timing(SPEC, live)
    x = np.zeros((5 * timing.hop_samples + 123, 2), dtype=np.float32)
    at = 2 * timing.hop_samples + 77
    x[at] = (1.0, -0.5)
    stems = separate_live(x, SPEC, live, _unit_core, mask_extension=MaskExtension.AVERAGE)
    assert stems.shape == (2, 6 * timing.hop_samples, 2)
    expected = np.zeros_like(stems[0])
    expected[at + timing.latency_samples] = (1.0, -0.5)
    np.testing.assert_allclose(stems[0], expected, atol=1e-6)
    assert not stems[1].any()


def test_latency_is_the_overlap_plus_the_look_ahead():
    timing = live_timing(SPEC, LiveSpec(256, 32, 32))
    assert timing.hop_samples == 32 * 1024
    assert timing.latency_samples == 4096 + 31 * 1024  # 0.79 s at 44.1 kHz, before the hop's buffering


def test_live_is_offered_only_by_spectral_models_that_declare_it():
    descriptors = {name: catalog.get(name).spec.descriptor() for name in catalog.names()}
    assert descriptors["spleeter-2stems"]["live"] == {"windowFrames": 256, "hopFrames": 32, "lookaheadFrames": 32}
    assert descriptors["htdemucs"]["live"] is None  # 222 s per 3-minute track: not real time
    for name, descriptor in descriptors.items():
        assert "live" in descriptor, name  # the extension reads null as "not offered"


def test_live_parameters_are_validated():
    with pytest.raises(ValueError, match="multiples of 64"):
        LiveSpec(100, 10, 10)
    with pytest.raises(ValueError, match="must fit"):
        LiveSpec(64, 32, 40)


@pytest.mark.slow
@pytest.mark.parametrize("live", SETTINGS[:2], ids=str)
def test_live_stems_converge_to_offline_ones_with_full_context(built, excerpt, live):
    """Issue #14: live windows vs offline patches gave 16-25 dB per stem in a simulation."""
    files = json.loads((built / "models" / "spleeter-2stems.json").read_text())["files"]
    core = onnx_core(built / "models" / files["int8-weights"]["file"], threads=2)
    offline = separate(excerpt, SPEC, core)
    timing = live_timing(SPEC, live)
    stream = separate_live(excerpt, SPEC, live, core)[:, timing.latency_samples :]
    # Both have full context from the first window on, up to the last offline patch's end.
    lo, hi = live.window_frames * SPEC.stft.n_hop, len(excerpt) - SPEC.stft.n_fft
    sdrs = [sdr_db(offline[s, lo:hi], stream[s, lo:hi]) for s in range(len(SPEC.stems))]
    print(f"{live}: live vs offline SDR per stem {[round(v, 1) for v in sdrs]} dB")
    assert min(sdrs) >= 16
