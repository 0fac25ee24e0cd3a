"""HTDemucs speed and memory on the 3-minute track: the extension (Chromium, Firefox) vs native.

    .venv/bin/python scripts/bench_htdemucs.py

The model is a seeded random HTDemucs of the published architecture (the same work per segment
as the released weights; no released weights can be fetched here), built and packaged fp32 into a
temporary dist/. Native: our segment pipeline with onnxruntime (Python), all cores. Prints a
table and writes bench/htdemucs-<date>.json. Wall time and peak RSS are measured as in bench.py.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from builder.config import BuildConfig, Paths  # noqa: E402
from builder.package import PackageConfig, package  # noqa: E402
from models import htdemucs  # noqa: E402
from models.spec import Precision  # noqa: E402
from scripts.bench import TRACK, PeakMemory, _browser_run  # noqa: E402

NATIVE = """
import sys, json, time
from pathlib import Path
from builder.audio_io import load_audio
from builder.runtime import onnx_waveform_core
from builder.segments import separate_segments
from models import htdemucs
model = htdemucs.load_package(Path(sys.argv[1]))
started = time.perf_counter()
waveform = load_audio(Path(sys.argv[3])).waveform
separate_segments(waveform, model, onnx_waveform_core(Path(sys.argv[2])))
print(json.dumps({"seconds": round(time.perf_counter() - started, 2)}))
"""


def main() -> None:
    from builder.build import build_model

    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        dist = Path(tmp_name)
        checkpoint = htdemucs.save_package(htdemucs.random_htdemucs(seed=7), dist / "htdemucs-random.th")
        report = build_model(BuildConfig("htdemucs", checkpoint, (Precision.FP32,), Paths(dist=dist)),
                             log=lambda *_: None)  # fmt: skip
        package(PackageConfig("htdemucs", Precision.FP32, dist), log=lambda *_: None)
        onnx_path = dist / "models" / report.artifacts[0].file
        process = subprocess.Popen([sys.executable, "-c", NATIVE, str(checkpoint), str(onnx_path), str(TRACK)],
                                   cwd=ROOT, stdout=subprocess.PIPE, text=True)  # fmt: skip
        with PeakMemory(process.pid) as memory:
            out, _ = process.communicate()
        native = json.loads(out.strip().splitlines()[-1])
        rows.append({"runtime": "native onnxruntime (Python)", "threads": cores, **native,
                     "peak_rss_mb": round(memory.peak), "peak_pss_mb": round(memory.peak_pss)})  # fmt: skip
        for kind, threads in (("chromium", cores), ("firefox", 1)):
            rows.append({"runtime": f"extension, {kind}", **_browser_run(kind, dist, threads, dist / kind)})
        size_mb = round(onnx_path.stat().st_size / 1e6, 1)

    print(f"\nHTDemucs fp32 ({size_mb} MB), {TRACK.name} (179.5 s), {cores} cores\n")
    print(f"{'runtime':30} {'thr':>3} {'seconds':>8} {'÷native':>8} {'peak MB':>8}  split")
    for r in rows:
        split = " ".join(f"{k} {v}" for k, v in r.get("split", {}).items())
        print(f"{r['runtime']:30} {r['threads']:>3} {r['seconds']:>8.2f} {r['seconds'] / rows[0]['seconds']:>8.2f} "
              f"{r['peak_rss_mb']:>8}  {split}")  # fmt: skip
    stamp = datetime.date.today().isoformat()
    out_path = ROOT / "bench" / f"htdemucs-{stamp}.json"
    out_path.write_text(json.dumps({"date": stamp, "model_mb": size_mb, "cores": cores, "rows": rows,
                                    "measured_at": time.strftime("%H:%M")}, indent=1) + "\n")  # fmt: skip
    print(f"\nwrote {out_path}")


if __name__ == "__main__":
    main()
