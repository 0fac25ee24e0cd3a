"""Time Deezer's original Spleeter 2stems (TensorFlow graph + checkpoint) on one audio file.

Run with a Python that has tensorflow-cpu (see scripts/make_golden.py); called by
scripts/bench.py --tf-python. Prints one JSON line: {"seconds": ..., "end_to_end_seconds": ...,
"peak_rss_mb": ...}. `seconds` is the graph run alone on decoded audio (the scope most favourable
to Spleeter); `end_to_end_seconds` is what `spleeter separate` does for a song once Python and
TensorFlow are imported: read the file, build the graph, restore the checkpoint, run, write the two
stems as 16-bit WAV (the extension's own figure likewise runs from the file to the stored stems,
its model load included).
"""

import json
import resource
import sys
import time
import zipfile
from pathlib import Path

import soundfile as sf
import tensorflow as tf

wheel, song, threads = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
tmp = Path(sys.argv[4])
with zipfile.ZipFile(wheel) as archive:
    archive.extractall(tmp)
sys.path.insert(0, str(tmp))
from spleeter.model import EstimatorSpecBuilder  # noqa: E402
from spleeter.utils.configuration import load_configuration  # noqa: E402

tf.compat.v1.disable_eager_execution()
begun = time.perf_counter()
audio, rate = sf.read(song, dtype="float32", always_2d=True)
config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)
with tf.Graph().as_default(), tf.compat.v1.Session(config=config) as session:
    tf.compat.v1.keras.backend.set_learning_phase(0)
    waveform = tf.compat.v1.placeholder(tf.float32, (None, 2))
    outputs = EstimatorSpecBuilder({"waveform": waveform}, load_configuration()).outputs
    tf.compat.v1.train.Saver().restore(session, str(tmp / "spleeter/pretrained_models/2stems/model"))
    started = time.perf_counter()
    stems = session.run({k: outputs[k] for k in ("vocals", "accompaniment")}, {waveform: audio})
    seconds = time.perf_counter() - started
for name, samples in stems.items():
    sf.write(tmp / f"{name}.wav", samples, rate, subtype="PCM_16")
end_to_end = time.perf_counter() - begun
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
timed = {"seconds": round(seconds, 2), "end_to_end_seconds": round(end_to_end, 2), "peak_rss_mb": round(peak)}
print(json.dumps(timed))
