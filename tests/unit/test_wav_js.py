"""shared/wav.js and shared/bad-samples.js under Node: no stem file holds NaN or infinity, in any
format, and decoded samples that are not sound are replaced and counted (issue #18, finding 3)."""

import io
import json
import subprocess

import numpy as np
import pytest
import soundfile as sf

from tests.node_tree import NODE, node_tree

# JSON has no NaN or Infinity: the values travel as JS source text
ODD_JS = "Float32Array.from([NaN, Infinity, -Infinity, 1e30, -1e30, 0.5, -2.0, 1e-3])"


def _node(script: str):
    out = subprocess.run([*NODE, "--input-type=module", "-e", script], cwd=node_tree(), capture_output=True, text=True,
                         check=True, timeout=60)  # fmt: skip
    return json.loads(out.stdout)


@pytest.mark.parametrize("fmt", ["pcm16", "pcm24", "float32"])
def test_every_format_writes_finite_samples(fmt):
    wav = _node(
        "import { encodeSamples, wavHeader } from './extension/shared/wav.js';"
        f"const left = {ODD_JS};"
        "const right = left.map((v) => -v);"
        f"const data = new Uint8Array(encodeSamples([left, right], '{fmt}'));"
        f"const head = new Uint8Array(wavHeader(data.length, 44100, 2, '{fmt}'));"
        "console.log(JSON.stringify([...head, ...data]));"
    )
    samples, _ = sf.read(io.BytesIO(bytes(wav)), dtype="float64")
    assert np.isfinite(samples).all()
    left = samples[:, 0]
    assert left[0] == 0  # NaN -> silence
    if fmt == "float32":
        big = float(np.finfo(np.float32).max)
        assert list(left[1:3]) == [big, -big] and left[6] == -2.0  # a float stem may exceed full scale
        assert list(left[3:5]) == [pytest.approx(1e30, rel=1e-6), pytest.approx(-1e30, rel=1e-6)]
    else:
        assert list(np.round(left[1:5])) == [1, -1, 1, -1] and left[6] == -1.0
    assert left[5] == pytest.approx(0.5, abs=1e-4) and left[7] == pytest.approx(1e-3, abs=1e-4)


def test_sample_check_replaces_counts_and_refuses():
    result = _node(
        "import { SampleCheck, replacedWarning } from './extension/shared/bad-samples.js';"
        f"const odd = {ODD_JS};"
        "const mono = new Float32Array(1000); mono.set(odd, 100);"
        "const check = new SampleCheck(1e9);"
        "check.clean([mono, mono]);"  # a mono file as stereo: one array, counted once
        "check.verdict(true);"
        "const huge = new SampleCheck(1e9); huge.clean([new Float32Array(100).fill(32767)]);"
        "let refused = ''; try { huge.verdict(true); } catch (e) { refused = e.message; }"
        "const early = new SampleCheck(1e9); early.clean([new Float32Array(100).fill(NaN)]); early.verdict(false);"
        "console.log(JSON.stringify({notNumbers: check.notNumbers, outOfRange: check.outOfRange,"
        " cleaned: [...mono.subarray(100, 108)], warning: replacedWarning(check), refused}));"
    )
    assert result["notNumbers"] == 3 and result["outOfRange"] == 2
    assert result["cleaned"] == [0, 0, 0, 0, 0, 0.5, -2, pytest.approx(1e-3)]
    assert result["warning"] == (
        "3 samples were not numbers and were replaced by silence. "
        "2 samples were beyond \u00b11000 and were replaced by silence."
    )
    assert "100% of the samples are not numbers or beyond \u00b11000 (peak 3.28e+4)" in result["refused"]
