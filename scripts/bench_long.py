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
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench import TRACK, _browser_run, package_built_model  # noqa: E402


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
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        song = _long_track(args.minutes, tmp / f"{args.minutes}-minutes.flac")
        dist = package_built_model(tmp / "dist")
        runs = [("chromium", cores, 0)] if "chromium" in args.browsers else []
        if "firefox" in args.browsers:
            runs += [("firefox", 1, workers) for workers in args.firefox_workers]
        for kind, threads, workers in runs:
            run = _browser_run(kind, dist, threads, tmp / f"{kind}{workers}", song, workers=workers)
            rows.append({"runtime": f"extension, {kind}", "precision": "int8-weights", "workers_setting": workers,
                         **run})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    stamp = datetime.date.today().isoformat()
    args.out.mkdir(exist_ok=True)
    out = args.out / f"long-{stamp}.json"
    out.write_text(json.dumps({"date": stamp, "minutes": args.minutes, "cores": cores, "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
