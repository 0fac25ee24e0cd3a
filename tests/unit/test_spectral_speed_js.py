"""The page thread's rewritten loops (issue #17: less CPU per song outside the model) give the
same bits as the code they replaced, on real music under Node:

- ``SpectralChunker.magnitudePatches`` (plain loops) against the forEach it had;
- ``SpectralChunker.synthesise`` (masks applied straight into the FFT's input by packMaskedPair,
  both channels overlap-added in one loop) against the per-frame extendMask -> maskFrame ->
  synthesisePair path it replaced (those functions stay: the live separator uses them), for both
  mask extensions, over two chunks (the overlap carried between them included);
- ``encodeSamples`` (one typed-array loop per format) against ``encodeSamplesPortable`` (the
  DataView loop it replaced), every format, the music driven past full scale and the edge values
  (NaN, infinities, ±1, ±0, the rounding midpoints).
"""

import json
import subprocess

import numpy as np
import pytest
import soundfile as sf

from tests.node_tree import staged_script

EXCERPT = "tests/data/excerpt.flac"

SCRIPT = """
import fs from 'node:fs';
import { SpectralChunker, extendMask, maskFrame, synthesisePair } from './inference/families/spectral-masks.js';
import { encodeSamples, encodeSamplesPortable } from './shared/wav.js';

const x = new Float32Array(fs.readFileSync('x.f32').buffer.slice(0));
const n = x.length / 2;
const track = [x.subarray(0, n), x.subarray(n)];
const stft = { nFft: 4096, nHop: 1024, nbBins: 1024, nbFrames: 128 };  // T = 128: several patches per chunk
const S = 2;

/** The synthesise() this change replaced, frame by frame through the functions it called. */
function reference(chunker, spectrum, masks, nbFrames) {
  const { nFft, nHop, nbFrames: T, nbBins: F } = chunker.stft;
  const C = chunker.nbChannels;
  const all = nFft / 2 + 1;
  const limit = chunker.extension === 'zeros' ? F : all;
  const mask = new Float32Array(all);
  const ready = nbFrames * nHop;
  return Array.from({ length: S }, (_, s) => {
    const out = Array.from({ length: C }, () => new Float32Array((nbFrames - 1) * nHop + nFft));
    for (let c = 0; c < C; c++) out[c].set(chunker.tails[s][c]);
    for (let frame = 0; frame < nbFrames; frame++) {
      const p = Math.floor(frame / T);
      for (let c = 0; c < 2; c++) {
        extendMask(masks, ((p * S + s) * C + c) * T * F + (frame % T) * F, F, mask, limit);
        maskFrame(spectrum[c], frame * chunker.keptBins, mask, limit, chunker.masked[c]);
      }
      synthesisePair(chunker.fft, chunker.window, chunker.gain, limit, chunker.masked[0], chunker.masked[1],
        out[0], out[1], frame * nHop);
    }
    for (let c = 0; c < C; c++) chunker.tails[s][c] = out[c].slice(ready);
    return out.map((channel) => channel.subarray(0, ready));
  });
}

const same = (a, b) => a.length === b.length && Buffer.compare(
  Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

const result = { synthesise: {}, encode: {} };
for (const extension of ['zeros', 'average']) {
  const fresh = await SpectralChunker.create(stft, S, 2, extension);
  const old = await SpectralChunker.create(stft, S, 2, extension);
  let frames = 0, identical = true, peak = 0;
  for (const nbFrames of [256, 200]) {  // two chunks: the second starts from the first's tails
    const start = frames * stft.nHop;
    const segment = track.map((c) => c.slice(start, start + (nbFrames - 1) * stft.nHop + stft.nFft));
    const spectrum = fresh.analyse(segment, nbFrames);
    const { data, dims } = fresh.magnitudePatches(spectrum, nbFrames);
    const magnitudes = new Float32Array(data.length);  // the loop magnitudePatches had before
    spectrum.forEach(({ re, im }, c) => {
      for (let frame = 0; frame < nbFrames; frame++) {
        const out = ((Math.floor(frame / 128) * 2 + c) * 128 + (frame % 128)) * 1024;
        const at = frame * fresh.keptBins;
        for (let k = 0; k < 1024; k++) {
          magnitudes[out + k] = Math.sqrt(re[at + k] * re[at + k] + im[at + k] * im[at + k]);
        }
      }
    });
    identical &&= same(data, magnitudes);
    // Masks as a model's: in [0, 1], a function of the input, the stems' summing to 1.
    const [P, C, T, F] = dims;
    const masks = new Float32Array(P * S * C * T * F);
    for (let p = 0; p < P; p++) {
      for (let i = 0; i < C * T * F; i++) {
        const m = data[p * C * T * F + i] / (data[p * C * T * F + i] + 0.5);
        masks[(p * S) * C * T * F + i] = m;
        masks[(p * S + 1) * C * T * F + i] = 1 - m;
      }
    }
    const got = fresh.synthesise(spectrum, masks, nbFrames);
    fresh.analyse(segment, nbFrames);  // the FFT's input full of other data, as in the pipeline
    const want = reference(old, spectrum, masks, nbFrames);
    for (let s = 0; s < S; s++) {
      for (let c = 0; c < 2; c++) {
        identical &&= same(got[s][c], want[s][c]) && same(fresh.tails[s][c], old.tails[s][c]);
        for (const v of want[s][c]) peak = Math.max(peak, Math.abs(v));
      }
    }
    frames += nbFrames;
  }
  result.synthesise[extension] = { identical, peak };
}

const edges = Float32Array.from([NaN, Infinity, -Infinity, 1, -1, 0, -0, 1.0000001, -1.0000001, 2, -2, 1e30, -1e30,
  0.5 / 0x7fff, -0.5 / 0x8000, 1.5 / 0x7fff, -1.5 / 0x8000, 0.5 / 0x7fffff, -0.5 / 0x800000, 1e-45, -1e-45]);
const backwards = edges.slice().reverse();
const music = track.map((c) => Float32Array.from(c, (v) => v * 1.5));  // some of it past full scale
for (const format of ['pcm16', 'pcm24', 'float32']) {
  result.encode[format] = {
    music: same(new Uint8Array(encodeSamples(music, format)), new Uint8Array(encodeSamplesPortable(music, format))),
    edges: same(new Uint8Array(encodeSamples([edges, backwards], format)),
      new Uint8Array(encodeSamplesPortable([edges, backwards], format))),
    mono: same(new Uint8Array(encodeSamples([music[0]], format)),
      new Uint8Array(encodeSamplesPortable([music[0]], format))),
  };
}
console.log(JSON.stringify(result));
"""


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    path = staged_script(tmp_path_factory.mktemp("stage"), SCRIPT)
    audio, _ = sf.read(EXCERPT, dtype="float32", always_2d=True)
    np.ascontiguousarray(audio[:, :2].T).tofile(path / "x.f32")
    return path


@pytest.fixture(scope="module")
def result(staged):
    out = subprocess.run(["node", "check.mjs"], cwd=staged, check=True, capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout)


@pytest.mark.parametrize("extension", ["zeros", "average"])
def test_synthesise_gives_the_same_samples_as_before(result, extension):
    got = result["synthesise"][extension]
    assert got["peak"] > 0.1  # real music came out, not silence
    assert got["identical"]


@pytest.mark.parametrize("fmt", ["pcm16", "pcm24", "float32"])
def test_encode_gives_the_same_bytes_as_before(result, fmt):
    assert result["encode"][fmt] == {"music": True, "edges": True, "mono": True}
