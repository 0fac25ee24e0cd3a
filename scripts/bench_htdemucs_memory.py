"""HTDemucs in Chromium: peak memory on a 60-minute track against a 3-minute one (issue #16: within 1.2x).

    .venv/bin/python scripts/bench_htdemucs_memory.py [--limit-s 600] [--full]

The model is by default the reduced seeded random HTDemucs (models/htdemucs.py
``REDUCED_HTDEMUCS``: the same layers and the same extension code path, 0.4 M parameters and 3 s
segments instead of 41.5 M and 7.8 s), built and packaged fp32 into a temporary dist/: at full size
the 60-minute track would take over an hour here (``--full``: the published architecture,
time-limited). The 3-minute track is bench.py's (decoded whole, the default for tracks under 10
minutes); the 60-minute one is that track looped by ffmpeg (streamed: statistics in a first
decode, segments in a second). Each job runs in a fresh Chromium; the peak resident memory of its
process tree is sampled every 0.1 s (PSS every 2 s), as bench.py does. A job that has not ended
after ``--limit-s`` seconds is stopped there and its figures are those of the part it did (the
fraction is reported): memory is flat once the first segments are out, so a plateau needs no
whole run. Memory figures hold under load; the seconds do not (the machine is shared).
Writes bench/htdemucs-memory-<date>.json.
"""

from __future__ import annotations

import argparse
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
from scripts.bench import TRACK, _tree_pids, _tree_pss_mb, _tree_rss_mb, start_browser  # noqa: E402

LONG_S = 60 * 60


def long_track(path: Path) -> Path:
    """TRACK looped to 60 minutes, without re-encoding (Vorbis in Ogg, as the 3-minute one)."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(TRACK), "-t", str(LONG_S),
                    "-c", "copy", str(path)], check=True)  # fmt: skip
    return path


def chromium_job(dist: Path, song: Path, workdir: Path, limit_s: float) -> dict:
    """One job in a fresh Chromium: peak memory, a trace (s, MB, fraction done), how far it got."""
    session, pid = start_browser("chromium", dist, workdir)
    try:
        session.open("page/page.html")
        session.call("await ext.storage.local.set({settings: args[0]});", {"threads": os.cpu_count() or 1})
        started = time.perf_counter()
        session.pick_file(song)
        peak = peak_pss = 0.0
        trace, job, count = [], {}, 0
        while time.perf_counter() - started < limit_s:
            pids = _tree_pids(pid)
            rss = _tree_rss_mb(pids)
            peak = max(peak, rss)
            if count % 20 == 0:
                peak_pss = max(peak_pss, _tree_pss_mb(pids))
                jobs = session.jobs()
                job = jobs[0] if jobs else {}
                done = job.get("done", 0) / max(job.get("total", 0), 1)
                trace.append([round(time.perf_counter() - started, 1), round(rss), round(done, 4)])
                if job.get("state") in ("done", "failed", "cancelled"):
                    break
            count += 1
            time.sleep(0.1)
        if job.get("state") not in (None, "done", "running", "queued"):
            raise RuntimeError(f"{song.name}: {job}")
        finished = job.get("state") == "done"
        return {"seconds": round(time.perf_counter() - started, 1), "finished": finished,
                "fraction_separated": 1.0 if finished else trace[-1][2], "decoder": job.get("decoder"),
                "peak_rss_mb": round(peak), "peak_pss_mb": round(peak_pss), "trace": trace}  # fmt: skip
    finally:
        session.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit-s", type=float, default=600.0, help="stop a job after this long (default 600)")
    parser.add_argument(
        "--full",
        action="store_true",
        help="the published architecture (41.5 M parameters, 7.8 s segments), not the reduced one",
    )
    args = parser.parse_args()
    from builder.build import build_model

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model = htdemucs.random_htdemucs(seed=7, **({} if args.full else htdemucs.REDUCED_HTDEMUCS))
        checkpoint = htdemucs.save_package(model, tmp / "htdemucs-random.th")
        build_model(BuildConfig("htdemucs", checkpoint, (Precision.FP32,), Paths(dist=tmp)), log=lambda *_: None)
        package(PackageConfig("htdemucs", Precision.FP32, tmp), log=lambda *_: None)
        songs = {"3 min": TRACK, "60 min": long_track(tmp / "long.ogg")}
        rows = [{"track": name, **chromium_job(tmp, song, tmp / name.replace(" ", ""), args.limit_s)}
                for name, song in songs.items()]  # fmt: skip
    ratio = rows[1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
    for row in rows:
        done = f"{100 * row['fraction_separated']:.0f}% separated in {row['seconds']} s"
        print(f"{row['track']:>7}: peak RSS {row['peak_rss_mb']} MB, PSS {row['peak_pss_mb']} MB, {done}")
    print(f"60 min / 3 min peak RSS: {ratio:.2f}x (goal <= 1.2x)")
    stamp = datetime.date.today().isoformat()
    out_path = ROOT / "bench" / f"htdemucs-memory-{stamp}{'-full' if args.full else ''}.json"
    model_name = "published-architecture random HTDemucs" if args.full else "reduced random HTDemucs (REDUCED_HTDEMUCS)"
    out_path.write_text(json.dumps({"date": stamp, "model": f"{model_name}, fp32",
                                    "browser": "chromium", "cores": os.cpu_count(), "limit_s": args.limit_s,
                                    "ratio_60_to_3_min": round(ratio, 3), "rows": rows}, indent=1) + "\n")  # fmt: skip
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
