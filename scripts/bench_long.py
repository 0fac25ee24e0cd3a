"""Peak memory and time of the extension on a 60-minute track (issue #6 item 5; a benchmark).

    .venv/bin/python scripts/bench_long.py [--minutes 60] [--browsers firefox] [--firefox-workers 0 1]

The track is the 3-minute `loyalists.ogg` played back to back (as 16-bit FLAC, written to a
temporary folder), separated by the built default model (int8) in Chromium with all cores and in
Firefox (once per `--firefox-workers` value: the `workers` setting, 0 = the shipped default, one
per core); wall time and peak RSS/PSS of the browser's process tree as in bench.py, with the
biggest processes at the PSS peak. Writes bench/long-<date>.json. Needs `make build` first.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scripts.bench as bench  # noqa: E402
from scripts.bench import TRACK, _browser_run, package_built_model  # noqa: E402

SERIES_EVERY_S = 5.0


class SeriesMemory(bench.PeakMemory):
    """bench.PeakMemory that also keeps a PSS series every SERIES_EVERY_S: [s, tree, root process
    (Firefox's parent), biggest child (the extension's process while separating)] in MB."""

    last: SeriesMemory | None = None

    def __init__(self, pid: int) -> None:
        super().__init__(pid)
        self.series: list[list[float]] = []
        self._series_thread = threading.Thread(target=self._sample, daemon=True)
        SeriesMemory.last = self

    def _sample(self) -> None:
        started = time.perf_counter()
        while not self._stop.wait(SERIES_EVERY_S):
            by_pid = bench._pss_by_pid(bench._tree_pids(self.pid))
            children = [mb for pid, mb in by_pid.items() if pid != self.pid]
            self.series.append([round(time.perf_counter() - started), round(sum(by_pid.values())),
                                round(by_pid.get(self.pid, 0)), round(max(children, default=0))])  # fmt: skip

    def __enter__(self):
        self._series_thread.start()
        return super().__enter__()

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self._series_thread.join()


def separating_stats(series: list[list[float]]) -> dict:
    """Median/max of the tree and of the biggest child while separating: from the first sample
    where the biggest child passes 400 MB (the model loaded) to the last before the parent grows
    by 200 MB over its median so far (the saving of the first stem copies it through the parent),
    or the end; and the tree's max from there on (saving)."""
    start = next((i for i, row in enumerate(series) if row[3] > 400), len(series))
    end = len(series)
    for i in range(start, len(series)):
        before = sorted(row[2] for row in series[start : i + 1])
        if series[i][2] > before[len(before) // 2] + 200:
            end = i
            break
    phase = series[start:end]
    if not phase:
        return {}
    median = lambda values: sorted(values)[len(values) // 2]  # noqa: E731
    tree, ext = [r[1] for r in phase], [r[3] for r in phase]
    saving = series[end:]
    return {"separating_samples": len(phase), "tree_median": median(tree), "tree_max": max(tree),
            "extension_median": median(ext), "extension_max": max(ext),
            "saving_tree_max": max((r[1] for r in saving), default=None),
            "saving_extension_max": max((r[3] for r in saving), default=None)}  # fmt: skip


def _long_track(minutes: int, path: Path) -> Path:
    audio, rate = sf.read(TRACK, dtype="float32")
    needed = minutes * 60 * rate
    with sf.SoundFile(path, "w", rate, audio.shape[1], format="FLAC", subtype="PCM_16") as out:
        written = 0
        while written < needed:
            block = audio[: needed - written]
            out.write(block)
            written += len(block)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--browsers", nargs="+", default=["chromium", "firefox"], choices=["chromium", "firefox"])
    parser.add_argument("--firefox-workers", type=int, nargs="+", default=[0], help="`workers` settings to run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    parser.add_argument("--tag", default="", help="suffix of the output file: long-<date><tag>.json")
    parser.add_argument(
        "--dist",
        type=Path,
        help="a packaged build to measure (a `builder.cli package --dist` "
        "folder; default: the built model packaged from this tree), for A/Bs of builds",
    )
    args = parser.parse_args()
    bench.PeakMemory = SeriesMemory  # _browser_run measures with it
    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        song = _long_track(args.minutes, tmp / f"{args.minutes}-minutes.flac")
        dist = args.dist or package_built_model(tmp / "dist")
        runs = [("chromium", cores, 0)] if "chromium" in args.browsers else []
        if "firefox" in args.browsers:
            runs += [("firefox", 1, workers) for workers in args.firefox_workers]
        for kind, threads, workers in runs:
            run = _browser_run(kind, dist, threads, tmp / f"{kind}{workers}", song, workers=workers)
            series = SeriesMemory.last.series if SeriesMemory.last else []
            rows.append({"runtime": f"extension, {kind}", "precision": "int8-weights", "workers_setting": workers,
                         **run, **separating_stats(series), "series_5s": series})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    stamp = datetime.date.today().isoformat()
    args.out.mkdir(exist_ok=True)
    out = args.out / f"long-{stamp}{args.tag}.json"
    out.write_text(
        json.dumps(
            {
                "date": stamp,
                "dist": str(args.dist or "this tree"),
                "minutes": args.minutes,
                "cores": cores,
                "rows": rows,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
