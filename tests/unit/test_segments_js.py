"""extension/inference/families/htdemucs.js (HTDemucs's STFT and iSTFT in the browser) against demucs's own
``HTDemucs._spec``/``_magnitude`` and ``_mask``/``_ispec``, run under Node on a staged build."""

import subprocess

import numpy as np
import pytest
import torch

from models import htdemucs
from tests.node_tree import staged_script

pytestmark = pytest.mark.slow  # builds an HTDemucs (seconds) and stages the extension
SCRIPT = """
import { DemucsSpectrogram } from './inference/families/htdemucs.js';
import fs from 'node:fs';
const L = Number(process.argv[2]);
const read = (name) => new Float32Array(fs.readFileSync(name).buffer.slice(0));
const x = read('x.f32');
const specOut = read('spec_out.f32');
const sp = await DemucsSpectrogram.create({ nFft: 4096, nHop: 1024 }, L, 2);
fs.writeFileSync('spec.f32', sp.analyse([x.subarray(0, L), x.subarray(L)]).data);
const all = new Float32Array(8 * L);
for (let s = 0; s < 4; s++) {
  const out = [all.subarray((2 * s) * L, (2 * s + 1) * L), all.subarray((2 * s + 1) * L, (2 * s + 2) * L)];
  sp.synthesiseInto(specOut, s, out);
}
fs.writeFileSync('wave.f32', all);
"""


def test_browser_transforms_match_demucs(tmp_path):
    model = htdemucs.random_htdemucs(seed=7)
    length = int(model.segment * model.samplerate)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, length)) * 0.1).astype(np.float32)
    spec_out = (rng.standard_normal((1, 4, 4, 2048, length // 1024 + 1)) * 0.1).astype(np.float32)
    with torch.no_grad():
        spec = htdemucs.spectrogram(model, torch.from_numpy(x)[None]).numpy()
        wave = htdemucs.spectral_waveform(model, torch.from_numpy(spec_out), length).numpy()
    staged_script(tmp_path, SCRIPT)
    x.tofile(tmp_path / "x.f32")
    spec_out.tofile(tmp_path / "spec_out.f32")
    subprocess.run(["node", "check.mjs", str(length)], cwd=tmp_path, check=True)
    ours_spec = np.fromfile(tmp_path / "spec.f32", np.float32).reshape(spec.shape)
    ours_wave = np.fromfile(tmp_path / "wave.f32", np.float32).reshape(wave.shape)
    assert np.max(np.abs(ours_spec - spec)) < 1e-5 * np.max(np.abs(spec))
    assert np.max(np.abs(ours_wave - wave)) < 1e-5 * np.max(np.abs(wave))
