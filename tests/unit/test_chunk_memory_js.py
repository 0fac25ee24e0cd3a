"""families/spectral-masks.js SpectralChunker's memory (issue #17 item 6, the Firefox 60-minute
peak) under Node: with the 'zeros' mask extension a chunk's spectrum keeps only the model's F bins
of each frame (nothing above reaches the inverse FFT), and a spectrum handed back by recycle() is
filled again by the next analyse() of the same size instead of a new one being allocated, with
the values a fresh one gets."""

import json
import subprocess

import pytest

from tests.node_tree import staged_script

SCRIPT = """
import { SpectralChunker } from './inference/families/spectral-masks.js';
const stft = { nFft: 256, nHop: 64, nbFrames: 16, nbBins: 64 };
const nbFrames = 20;
const segment = [0, 1].map((c) => Float32Array.from({ length: (nbFrames - 1) * 64 + 256 },
  (_, i) => Math.sin(i * (0.05 + 0.03 * c)) + 0.1 * Math.cos(i * 1.7)));
const result = {};
for (const extension of ['zeros', 'average']) {
  const chunker = await SpectralChunker.create(stft, 2, 2, extension);
  const first = chunker.analyse(segment, nbFrames);
  const fresh = first.map(({ re, im }) => ({ re: re.slice(), im: im.slice() }));
  for (const { re, im } of first) { re.fill(7); im.fill(7); }  // a reused spectrum's old values must not show
  chunker.recycle(first);
  const again = chunker.analyse(segment, nbFrames);
  const other = chunker.analyse(segment, nbFrames - 1);  // no spare of its size left: a new one
  result[extension] = {
    binsPerFrame: first[0].re.length / nbFrames,
    reused: again === first,
    sameValues: again.every(({ re, im }, c) =>
      re.every((v, i) => v === fresh[c].re[i]) && im.every((v, i) => v === fresh[c].im[i])),
    otherIsNew: other !== first && other[0].re.length === (nbFrames - 1) * first[0].re.length / nbFrames,
  };
}
console.log(JSON.stringify(result));
"""


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    return staged_script(tmp_path_factory.mktemp("stage"), SCRIPT)


def test_spectra_keep_the_bins_the_masks_reach_and_are_reused(staged):
    out = subprocess.run(["node", "check.mjs"], cwd=staged, check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    assert result["zeros"]["binsPerFrame"] == 64  # F, not nFft / 2 + 1
    assert result["average"]["binsPerFrame"] == 129  # every bin: the mask's mean reaches them
    for extension in ("zeros", "average"):
        assert result[extension]["reused"], extension
        assert result[extension]["sameValues"], extension
        assert result[extension]["otherIsNew"], extension
