"""shared/mix.js under Node: the mixer's gains (level, mute, solo, presets) and the exported mix
(the weighted sum of the stems, in chunks, as the encoder receives it) against numpy."""

import json
import subprocess

import numpy as np

from tests.conftest import ROOT


def _node(script: str, args=None):
    prelude = f"import * as mix from './extension/shared/mix.js'; const args = {json.dumps(args)};"
    out = subprocess.run(["node", "--input-type=module", "-e", prelude + script],
                         cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    return json.loads(out.stdout)


def test_gains_follow_mute_solo_and_presets():
    result = _node(
        "const stems = ['vocals', 'drums', 'bass', 'other'];"
        "const strip = (level, muted = false, soloed = false) => ({level, muted, soloed});"
        "console.log(JSON.stringify({"
        " plain: mix.effectiveGains([strip(1), strip(0.5, true), strip(2), strip(0)]),"
        " solo: mix.effectiveGains([strip(1), strip(0.5, true, true), strip(2, false, true), strip(1)]),"
        " karaoke: mix.effectiveGains(mix.presetStrips('karaoke', stems)),"
        " acappella: mix.effectiveGains(mix.presetStrips('acappella', stems)),"
        " original: mix.effectiveGains(mix.presetStrips('original', stems)),"
        " noVocals: mix.effectiveGains(mix.presetStrips('karaoke', ['left', 'right'])),"
        " recognised: mix.presetOf([strip(1), strip(1, true), strip(1, true), strip(1, true, false)]"
        "   .map((s, i) => i === 0 ? {...s, soloed: true} : s), stems),"
        " custom: mix.presetOf([strip(0.5), strip(1), strip(1), strip(1)], stems),"
        " rate: [mix.sampleRateOf(new Uint8Array([82,73,70,70,0,0,0,0,87,65,86,69,0,0,0,0,0,0,0,0,0,0,0,0,"
        "   0x80,0xbb,0,0])), mix.sampleRateOf(new Uint8Array(32))],"
        " clock: [mix.clockText(0), mix.clockText(61.9), mix.clampTime(-3, 10), mix.clampTime(12, 10)],"
        "}));"
    )
    assert result["plain"] == [1, 0, 2, 0]
    assert result["solo"] == [0, 0.5, 2, 0]  # solo wins over mute; the others fall silent
    assert result["karaoke"] == [0, 1, 1, 1]
    assert result["acappella"] == [1, 0, 0, 0]
    assert result["original"] == [1, 1, 1, 1]
    assert result["noVocals"] == [1, 1]
    assert result["recognised"] == "acappella" and result["custom"] is None
    assert result["rate"] == [48000, None]
    assert result["clock"] == ["0:00", "1:01", 0, 10]


def test_exported_mix_is_the_weighted_sum_across_chunk_boundaries(tmp_path):
    # 150_000 frames: over two export chunks (65_536); a mono stem and a shorter stem
    frames = 150_000
    rng = np.random.default_rng(7)
    stereo = rng.uniform(-0.3, 0.3, (2, frames)).astype(np.float32)
    mono = rng.uniform(-0.3, 0.3, (1, frames)).astype(np.float32)
    short = rng.uniform(-0.3, 0.3, (2, 70_000)).astype(np.float32)
    gains = [0.5, 1.0, 1.5]
    for name, stem in (("stereo", stereo), ("mono", mono), ("short", short)):
        stem.tofile(tmp_path / f"{name}.f32")
    out = tmp_path / "mix.f32"
    lengths = _node(
        "const fs = await import('node:fs');"
        "const stem = (name, n) => {"
        " const all = new Float32Array(fs.readFileSync(`${args.dir}/${name}.f32`).buffer.slice(0));"
        " const frames = all.length / n;"
        " return Array.from({length: n}, (_, c) => all.subarray(c * frames, (c + 1) * frames)); };"
        "const stems = [stem('stereo', 2), stem('mono', 1), stem('short', 2)];"
        "const { nbChannels, chunks } = mix.mixChunks(stems, args.gains);"
        "const parts = [...chunks];"
        "const planar = Array.from({length: nbChannels}, (_, c) => parts.map((p) => p[c]));"
        "fs.writeFileSync(args.out, Buffer.concat(planar.flat().map((a) => Buffer.from(a.buffer))));"
        "console.log(JSON.stringify(parts.map((p) => p[0].length)));",
        {"dir": str(tmp_path), "gains": gains, "out": str(out)},
    )
    ours = np.fromfile(out, np.float32).reshape(2, frames)
    expected = gains[0] * stereo + gains[1] * np.vstack([mono, mono])
    expected[:, : short.shape[1]] += gains[2] * short
    assert lengths == [65_536, 65_536, frames - 2 * 65_536]  # chunks: only one is held at a time
    np.testing.assert_allclose(ours, expected, atol=1e-6)
