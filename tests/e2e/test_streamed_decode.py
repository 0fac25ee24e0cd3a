"""Streamed decode (inference/decode.js: mediabunny + WebCodecs, resample.js) against the browser's
whole-file Web Audio decode of the same bytes, in the extension's own page: the streamed path is
taken, and gives the same samples at the same times. Chromium only: this comparison moves decoded
arrays between the test and the page, which Firefox's Marionette sandbox forbids (Xray typed
arrays); in Firefox the streamed path is proven by whole jobs instead (test_separation.py: the
stems' parity with the native reference, and `decoder: streamed` in the job's record)."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import DATA
from tests.e2e.chromium import ChromiumSession

pytestmark = pytest.mark.browser

# In the page: decode one file both ways at 44.1 kHz; planar float32 as base64 (and the path taken).
COMPARE = """
const { openAudio, decodeToStereo } = await import('/inference/decode.js');
const bytes = Uint8Array.from(atob(args[0]), (c) => c.charCodeAt(0));
const blob = new Blob([bytes]);
const audio = await openAudio(blob, 44100, { streamAboveS: 0 });
const parts = [];
for await (const chunk of audio.chunks) parts.push(chunk);
const n = parts.reduce((k, p) => k + p[0].length, 0);
const streamed = new Float32Array(2 * n);
let at = 0;
for (const [l, r] of parts) { streamed.set(l, at); streamed.set(r, n + at); at += l.length; }
const [l, r] = await decodeToStereo(blob, 44100);
const whole = new Float32Array(2 * l.length);
whole.set(l); whole.set(r, l.length);
const b64 = (a) => { let s = ''; const u = new Uint8Array(a.buffer);
  for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
  return btoa(s); };
return { streamedPath: audio.streamed, estimated: audio.estimatedSamples, streamed: b64(streamed), whole: b64(whole) };
"""


def _planar(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), np.float32).reshape(2, -1)


def _sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    n = min(reference.shape[1], estimate.shape[1])
    ref, est = reference[:, :n].astype(np.float64), estimate[:, :n].astype(np.float64)
    return float(10 * np.log10(np.sum(ref**2) / max(np.sum((ref - est) ** 2), 1e-30)))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """name -> (file, minimum SDR of streamed vs whole-file decode, the source's samples or None)."""
    folder = tmp_path_factory.mktemp("decode-inputs")
    excerpt, rate = sf.read(DATA / "excerpt.flac", dtype="float32")
    clip = excerpt[: rate * 8]
    sf.write(folder / "song.ogg", clip, rate, format="OGG", subtype="VORBIS")
    sf.write(folder / "song-48k.wav", clip, 48000)  # any 48 kHz signal will do
    sf.write(folder / "mono-22k.flac", clip[::2, 0], 22050)
    sf.write(folder / "song.mp3", clip, rate, format="MP3", subtype="MPEG_LAYER_III")
    source = clip.T  # what the 44.1 kHz stereo files hold, before their codec
    return {
        "flac-44k": (DATA / "excerpt.flac", 90.0, excerpt.T),
        "vorbis-44k": (folder / "song.ogg", 90.0, source),
        "wav-48k": (folder / "song-48k.wav", 60.0, None),
        "flac-mono-22k": (folder / "mono-22k.flac", 60.0, None),
        "mp3-44k": (folder / "song.mp3", 60.0, source),
        "webm-opus-48k": (DATA / "video-clip.webm", 40.0, None),
        # AAC's 1024 priming samples are skipped by the MP4's edit list (scripts/make_aac_clip.py)
        "m4a-aac-44k": (DATA / "excerpt-aac.m4a", 40.0, source),
    }


def test_streamed_decode_matches_the_whole_file_decode(packaged, inputs, tmp_path):
    session = ChromiumSession.start(packaged() / "chrome", tmp_path)
    try:
        session.open("page/page.html")
        _compare(session, inputs)
    finally:
        session.quit()


def _compare(session, inputs):
    for name, (path, floor, source) in inputs.items():
        out = session.call(COMPARE, base64.b64encode(path.read_bytes()).decode())
        streamed, whole = _planar(out["streamed"]), _planar(out["whole"])
        sdr = _sdr(whole, streamed)
        print(f"{session.name} {name}: streamed={out['streamedPath']} length {streamed.shape[1]} "
              f"vs {whole.shape[1]} (estimated {out['estimated']}), SDR vs whole-file decode {sdr:.1f} dB")  # fmt: skip
        assert out["streamedPath"], name
        # Same start (the SDR); the end within 20 ms: WebM's Opus end padding (DiscardPadding) is
        # not applied by the streamed path (+13 ms), Web Audio drops 0.4 ms too many there.
        assert abs(streamed.shape[1] - whole.shape[1]) <= 0.020 * 44100, name
        assert abs(out["estimated"] - streamed.shape[1]) <= 0.020 * 44100, name
        assert sdr > floor, name
        if source is not None:  # and it starts where the source starts (no codec delay left)
            fidelity = _sdr(source, streamed)
            print(f"  vs the source before encoding: SDR {fidelity:.1f} dB")
            assert fidelity > 10.0, name
