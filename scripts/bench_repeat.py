"""Ten jobs in a row: does memory come back? (issue #5; a benchmark, not a timed test)

    .venv/bin/python scripts/bench_repeat.py [--jobs 10]

Packages the built default model (int8) into a temporary dist/, then in each browser runs the
12-second real-music excerpt N times, one job after the other, and after each job records the
summed RSS of the browser's whole process tree (the inference page's JS heap and wasm memory are
inside it). Prints each figure and the ratio of the last to the first; writes
bench/repeat-<date>.json. Needs `make build` first.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench import _tree_memory_mb, package_built_model, start_browser  # noqa: E402

SONG = ROOT / "tests" / "data" / "excerpt.flac"
SETTLE_S = 3.0  # after a job, before sampling: let the page drop its buffers


def _run(kind: str, dist: Path, workdir: Path, jobs: int) -> list[float]:
    session, pid = start_browser(kind, dist, workdir)
    figures = []
    try:
        session.open("page/page.html")
        for n in range(jobs):
            session.pick_file(SONG)
            while True:
                states = [j["state"] for j in session.jobs()]
                if len(states) == n + 1 and states[0] in ("done", "failed", "cancelled"):
                    break
                time.sleep(0.2)
            if states[0] != "done":
                raise RuntimeError(f"{kind}: job {n + 1} ended {states[0]}")
            time.sleep(SETTLE_S)
            rss, pss = _tree_memory_mb(pid)
            figures.append({"rss_mb": round(rss), "pss_mb": round(pss)})
            print(
                f"{kind} after job {n + 1}: RSS {figures[-1]['rss_mb']} MB, PSS {figures[-1]['pss_mb']} MB", flush=True
            )
    finally:
        session.quit()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10)
    args = parser.parse_args()
    result = {"date": datetime.date.today().isoformat(), "song": SONG.name, "jobs": args.jobs, "browsers": {}}
    with tempfile.TemporaryDirectory() as tmp_name:
        dist = package_built_model(Path(tmp_name))
        for kind in ("chromium", "firefox"):
            figures = _run(kind, dist, dist / kind, args.jobs)
            ratio = {k: round(figures[-1][k] / figures[0][k], 3) for k in ("rss_mb", "pss_mb")}
            result["browsers"][kind] = {"after_each_job": figures, "last_over_first": ratio}
            print(f"{kind}: after job 1 {figures[0]}, after job {args.jobs} {figures[-1]}, ratio {ratio}")
    out = ROOT / "bench" / f"repeat-{result['date']}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
