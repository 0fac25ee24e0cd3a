"""builder/live.py, the streaming reference: its declared delay is the delay the output shows, and
with the real model its stems converge to the offline pipeline's where both have full context."""

import json

import numpy as np
import pytest

from builder import families
from builder.audio_io import load_audio
from builder.live import live_timing, separate_live
from builder.runtime import onnx_core
from builder.separate import separate
from builder.validate import sdr_db
from models import catalog
from models.spec import LiveSpec, MaskExtension

SPEC = catalog.get(catalog.DEFAULT_MODEL).spec
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
    specs = {name: catalog.get(name).spec for name in catalog.names()}
    descriptors = {name: families.get(spec.family).descriptor(spec, {}) for name, spec in specs.items()}
    live = SPEC.live
    expected = {"windowFrames": live.window_frames, "hopFrames": live.hop_frames,
                "lookaheadFrames": live.lookahead_frames}  # fmt: skip
    assert descriptors[catalog.DEFAULT_MODEL]["live"] == expected
    assert descriptors["htdemucs"]["live"] is None  # 222 s per 3-minute track: not real time
    for name, descriptor in descriptors.items():
        assert "live" in descriptor, name  # the extension reads null as "not offered"


def test_live_parameters_are_validated():
    with pytest.raises(ValueError, match="multiples of 64"):
        LiveSpec(100, 10, 10)
    with pytest.raises(ValueError, match="must fit"):
        LiveSpec(64, 32, 40)


@pytest.mark.slow
@pytest.mark.parametrize(("live", "floors_db"), [(LiveSpec(256, 64, 64), (16.0, 16.0)), (SPEC.live, (10.5, 12.5))],
                         ids=str)  # fmt: skip
def test_live_stems_converge_to_offline_ones_with_full_context(built, wesnoth_track, live, floors_db):
    """Issue #14: live windows vs offline patches gave 16-25 dB per stem in a simulation.

    Real music with a voice (orchestra and choir, 24 s), compared where offline has context on
    both sides too: the middles of its 512-frame patches (64 frames from either edge). Measured
    2026-11-30 (vocals / accompaniment): 256/64/64 17.4 / 18.6 dB; the descriptor's 256/48/0
    13.2 / 14.3 dB (the earlier 256/32/24: 13.1 / 14.2; 256/48/8: 13.6 / 14.8; 256/40/8: 11.8 /
    12.9; the live e2e check asks >= 12 of the accompaniment, the Karaoke preset's). By hand, patch
    0 from frame 320: 256/32/32 14.5 / 15.2, 256/32/16 12.5 / 13.2, 256/64/0 14.2 / 14.8, 128/32/32
    9.6 / 10.2. 2026-11-30 late, this test's region (from the window's end) / from frame 320:
    192/32/0 (the descriptor's) 11.2 / 15.0 and 11.6 / 12.2; 192/48/0 12.3 / 16.2, 13.0 / 13.6;
    192/40/0 10.1 / 14.0, 11.0 / 11.7; 256/40/0 10.9 / 12.0, 11.6 / 12.3; 256/32/0 11.8 / 12.9,
    12.0 / 12.6. The vocals' distance from offline's is not a loss against the true stems
    (192/32/0: 0.30 dB better than offline, scripts/measure_live.py), so each stem has its floor:
    the vocals 10.5, the accompaniment (Karaoke's output, which the e2e test holds to 12) 12.5.
    """
    files = json.loads((built / "models" / "spleeter-2stems.json").read_text())["files"]
    core = onnx_core(built / "models" / files["int8-weights"]["file"], threads=2)
    rate, hop, n_fft = SPEC.sample_rate, SPEC.stft.n_hop, SPEC.stft.n_fft
    music = load_audio(wesnoth_track("nunc_dimittis.ogg")).waveform[156 * rate : 180 * rate]
    offline = separate(music, SPEC, core)
    timing = live_timing(SPEC, live)
    flushed = np.pad(music, ((0, timing.latency_samples), (0, 0)))  # silence brings the end out
    stream = separate_live(flushed, SPEC, live, core)[:, timing.latency_samples :][:, : len(music)]
    # Output sample n is STFT frame position (n + n_fft) / hop; live windows are full from frame W.
    first = max(live.window_frames, 64)
    middles = np.concatenate([np.arange((512 * p + max(first - 512 * p, 64)) * hop, (512 * p + 448) * hop) - n_fft
                              for p in (0, 1)])  # fmt: skip
    sdrs = [sdr_db(offline[s, middles], stream[s, middles]) for s in range(len(SPEC.stems))]
    print(f"{live}: live vs offline SDR per stem {[round(v, 1) for v in sdrs]} dB")
    assert all(sdr >= floor for sdr, floor in zip(sdrs, floors_db, strict=True)), sdrs
