"""Each family's browser pipeline against its native twin, under Node, on real music (the 12 s
orchestra-and-choir excerpt), at float precision: ``families/spectral-masks.js`` vs
``builder/separate.py`` and ``families/htdemucs.js`` vs ``builder/segments.py``.

The model core is replaced on both sides by the same deterministic function of its input, so
everything around the model (STFT, patches, mask extension, iSTFT and overlap-add; HTDemucs's
normalisation, segments, demucs's transforms and triangle blending) is compared, and nothing
else: the browser runs catch only a 30 dB regression (their floors), these catch 1e-5.
"""

import json
import subprocess

import numpy as np
import pytest

from builder import families
from builder.audio_io import to_stereo
from builder.segments import OVERLAP, separate_segments
from builder.separate import last_patch_frames, separate
from builder.validate import sdr_db
from models import catalog, htdemucs
from models.spec import MaskExtension, ModelFamily
from tests.node_tree import NODE, staged_script

pytestmark = pytest.mark.slow  # stages the extension; HTDemucs: builds a (random) demucs model
FULL_SCALE = 1.0
TOLERANCE = 1e-5 * FULL_SCALE
# The stand-in cores, the same on both sides (the JS below): input-dependent, so a misplaced
# frame, bin or segment shows.
MASK_BIAS = 0.5  # spectral masks: stem 0 m / (m + MASK_BIAS) of the magnitude m, the others share 1 - that
WAVE_GAINS = [0.5, 0.25, 0.125, 0.0625]  # HTDemucs: time branch = mix * gain, spectral branch = spec * gain'
SPEC_GAINS = [0.1, 0.2, 0.3, 0.4]

SCRIPT = """
import { SampleWindow } from './inference/samples.js';
import { familyBlocks } from './inference/families/index.js';
import fs from 'node:fs';
const [MASK_BIAS, WAVE_GAINS, SPEC_GAINS] = JSON.parse(fs.readFileSync('cores.json', 'utf8'));
const descriptor = JSON.parse(fs.readFileSync('descriptor.json', 'utf8'));
const x = new Float32Array(fs.readFileSync('x.f32').buffer.slice(0));
const n = x.length / 2;
async function* chunks() {  // as decode.js delivers them: a few seconds at a time
  for (let at = 0; at < n; at += 100000) {
    const end = Math.min(n, at + 100000);
    yield [x.slice(at, end), x.slice(n + at, n + end)];
  }
}
const S = descriptor.stems.length;
const calls = [];
const runner = {
  run: async (data, [P, C, T, F]) => {
    calls.push([P, C, T, F]);
    const out = new Float32Array(P * S * C * T * F);
    const size = C * T * F;
    for (let p = 0; p < P; p++) {
      for (let i = 0; i < size; i++) {
        const m = data[p * size + i] / (data[p * size + i] + MASK_BIAS);
        out[(p * S) * size + i] = m;
        for (let s = 1; s < S; s++) out[(p * S + s) * size + i] = (1 - m) / (S - 1);
      }
    }
    return out;
  },
  runNamed: async ({ mix, spec }) => {
    const wave = new Float32Array(S * mix.data.length);
    const specOut = new Float32Array(S * spec.data.length);
    for (let s = 0; s < S; s++) {
      for (let i = 0; i < mix.data.length; i++) wave[s * mix.data.length + i] = mix.data[i] * WAVE_GAINS[s];
      for (let i = 0; i < spec.data.length; i++) specOut[s * spec.data.length + i] = spec.data[i] * SPEC_GAINS[s];
    }
    return { wave, spec_out: specOut };
  },
};
// mode 'chunked': one window of chunks, kept for HTDemucs's second pass; 'streamed': the track is
// "decoded" again for it (reopen), as separator.js does with a streamed track; 'whole': one chunk.
const mode = process.argv[2] ?? 'chunked';
const held = { first: 0, second: 0 }; // the most samples a window held while the model ran
/** @type {SampleWindow | null} */
let second = null;
const reopen = mode === 'streamed' ? async () => (second = new SampleWindow(chunks())) : null;
const first = new SampleWindow(mode === 'whole' ? [[x.slice(0, n), x.slice(n)]].values() : chunks());
const oom = async () => { throw new RangeError('Array buffer allocation failed'); }; // wasm's words
const runNamed = mode === 'oom' ? oom : runner.runNamed;
runner.runNamed = (feeds) => {
  const size = (w) => (w ? w.chunks.reduce((k, c) => k + c.channels[0].length, 0) : 0);
  held.first = Math.max(held.first, size(first));
  held.second = Math.max(held.second, size(second));
  return runNamed(feeds);
};
const stems = descriptor.stems.map(() => [[], []]);
try {
  for await (const block of familyBlocks(descriptor)(first, descriptor, runner, () => {}, reopen)) {
    block.forEach((channels, s) => channels.forEach((c, ch) => { for (const v of c) stems[s][ch].push(v); }));
  }
} catch (error) {
  fs.writeFileSync('error.txt', String(error.message));
  process.exit(3);
}
fs.writeFileSync('stems.f32', new Float32Array(stems.flat(2)));
fs.writeFileSync('held.json', JSON.stringify(held));
fs.writeFileSync('calls.json', JSON.stringify(calls));
"""


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    path = staged_script(tmp_path_factory.mktemp("twins"), SCRIPT)
    (path / "cores.json").write_text(json.dumps([MASK_BIAS, WAVE_GAINS, SPEC_GAINS]))
    return path


def _browser_stems(staged, waveform: np.ndarray, descriptor: dict, mode: str = "chunked") -> np.ndarray:
    """(nb_stems, nb_samples, nb_channels), as the native side returns them."""
    np.ascontiguousarray(waveform.T, np.float32).tofile(staged / "x.f32")
    (staged / "descriptor.json").write_text(json.dumps(descriptor))
    subprocess.run([*NODE, "check.mjs", mode], cwd=staged, check=True, timeout=600)
    stems = np.fromfile(staged / "stems.f32", np.float32)
    return stems.reshape(len(descriptor["stems"]), 2, -1).transpose(0, 2, 1)


def _mask_core(nb_stems: int, calls: list | None = None):
    def core(magnitude: np.ndarray) -> np.ndarray:
        if calls is not None:
            calls.append(list(magnitude.shape))
        m = magnitude / (magnitude + np.float32(MASK_BIAS))
        rest = [(1 - m) / (nb_stems - 1)] * (nb_stems - 1)
        return np.stack([m, *rest], axis=1).astype(np.float32)

    return core


def _compare(ours: np.ndarray, native: np.ndarray, what: str) -> None:
    assert ours.shape == native.shape, (ours.shape, native.shape)
    error = float(np.max(np.abs(ours - native)))
    print(f"{what}: browser vs native, max |error| {error:.1e} of full scale (peak {np.max(np.abs(native)):.2f})")
    assert np.max(np.abs(native)) > 0.05  # the stems carry the music
    assert error <= TOLERANCE, error


@pytest.mark.parametrize("extension", list(MaskExtension), ids=lambda e: e.value)
def test_spectral_masks_twin_on_real_music(staged, excerpt, extension):
    spec = catalog.get(catalog.DEFAULT_MODEL).spec
    family = families.get(ModelFamily.SPECTRAL_MASKS)
    waveform = to_stereo(excerpt).astype(np.float32)
    descriptor = family.descriptor(spec, {**families.spectral_masks.descriptor_fields(spec),
                                          "maskExtension": extension.value})  # fmt: skip
    calls: list = []
    native = separate(waveform, spec, _mask_core(len(spec.stems), calls), mask_extension=extension)
    _compare(_browser_stems(staged, waveform, descriptor), native, f"spectral-masks, {extension.value}")
    # The track's last patch runs short on both sides (builder/separate.py's last_patch_frames),
    # at the same length; the stand-in core is pointwise, so only the shapes can show it.
    browser_calls = json.loads((staged / "calls.json").read_text())
    T = spec.stft.nb_frames
    rest = -(-(len(waveform) + spec.stft.n_fft) // spec.stft.n_hop) % T or T
    assert browser_calls[-1][2] == calls[-1][2] == last_patch_frames(rest, T) < T, (browser_calls, calls)


def _htdemucs_core(mix: np.ndarray, spec_in: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    wave = np.stack([mix[:, None] * np.float32(g) for g in WAVE_GAINS], axis=1)[:, :, 0]
    spec_out = np.stack([spec_in * np.float32(g) for g in SPEC_GAINS], axis=1)
    return wave, spec_out


def _htdemucs_descriptor(model) -> dict:
    fields = {"stft": {"nFft": model.nfft, "nHop": model.hop_length},
              "segmentLength": int(model.segment * model.samplerate), "overlap": OVERLAP}  # fmt: skip
    return families.get(ModelFamily.HTDEMUCS).descriptor(catalog.get("htdemucs").spec, fields)


def test_htdemucs_twin_on_real_music(staged, excerpt):
    model = htdemucs.random_htdemucs(seed=7)  # only its transforms and segment length are used
    waveform = to_stereo(excerpt).astype(np.float32)
    native = separate_segments(waveform, model, _htdemucs_core)
    _compare(_browser_stems(staged, waveform, _htdemucs_descriptor(model)), native, "htdemucs")


def test_htdemucs_streamed_in_two_passes_equals_the_whole_track_and_holds_a_segment(staged, excerpt):
    """A streamed track: statistics in a first pass that drops what it read, separation in a
    second over the track decoded again, which holds one segment and the chunks under it (not
    the track), and stems equal to the whole track's in memory. A 3 s segment (the reduced
    model's), so that the 12 s excerpt takes five segments across 100 000-sample chunks."""
    model = htdemucs.random_htdemucs(seed=7, **htdemucs.REDUCED_HTDEMUCS)
    waveform = to_stereo(excerpt).astype(np.float32)
    descriptor = _htdemucs_descriptor(model)
    whole = _browser_stems(staged, waveform, descriptor, "whole")
    streamed = _browser_stems(staged, waveform, descriptor, "streamed")
    held = json.loads((staged / "held.json").read_text())
    sdr = sdr_db(whole, streamed)
    print(f"htdemucs streamed vs whole track: SDR {sdr:.1f} dB, held {held} samples "
          f"(track {len(waveform)}, segment {descriptor['segmentLength']})")  # fmt: skip
    assert sdr >= 60.0
    assert held["first"] == 0  # the first pass dropped the track as it went
    assert held["second"] <= descriptor["segmentLength"] + 2 * 100_000 < len(waveform)
    _compare(streamed, separate_segments(waveform, model, _htdemucs_core), "htdemucs streamed")


def test_an_unknown_family_is_an_error_naming_the_known_ones(staged):
    script = ("import('./inference/families/index.js').then((m) => { try { m.familyBlocks({family: 'wavenet'}); }"
              " catch (e) { console.log(e.message); } })")  # fmt: skip
    out = subprocess.run(["node", "-e", script], cwd=staged, capture_output=True, text=True, check=True).stdout
    assert '"wavenet"' in out and all(name in out for name in families.names()), out


def test_htdemucs_segment_that_does_not_fit_is_refused_saying_so(staged, excerpt):
    descriptor = _htdemucs_descriptor(htdemucs.random_htdemucs(seed=7, **htdemucs.REDUCED_HTDEMUCS))
    with pytest.raises(subprocess.CalledProcessError):
        _browser_stems(staged, to_stereo(excerpt).astype(np.float32), descriptor, "oom")
    message = (staged / "error.txt").read_text()
    assert message.startswith("The model htdemucs needs more memory for one segment than this browser"), message
    assert "Array buffer allocation failed" in message
