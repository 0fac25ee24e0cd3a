"""A/B of packaged builds and settings in one browser, end to end: each configuration runs one job
on the benchmark track (bench.py's, cut with --seconds) in a fresh browser, once per round,
alternated (the order reversed every other round), and is reported as the median over rounds of
its per-round ratio to the first configuration: by wall time and by the CPU time of the browser's
whole process tree (/proc ticks, which a machine busy with other work distorts less than wall
time). Each configuration: a name, a dist folder (a `builder.cli package` output: chrome/ and the
.xpi) and the settings to store (extension/shared/settings.js), e.g.

    .venv/bin/python scripts/ab_builds.py --browser chromium --rounds 3 --seconds 60 \\
        --config old /tmp/dist-old '{}' --config new dist '{}'
    .venv/bin/python scripts/ab_builds.py --browser chromium --config threads dist '{"workers": 1}' \\
        --config workers dist '{"workers": 2}'
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pids: list[int]) -> dict[int, int]:
    """utime + stime of each process, in clock ticks."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[pid] = int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            continue
    return found


def run_job(kind: str, dist: Path, settings: dict, song: Path, workdir: Path) -> dict:
    """One job in a fresh browser: wall seconds, CPU seconds of the browser tree, the job's split."""
    session, pid = bench.start_browser(kind, dist, workdir)
    try:
        session.open("page/page.html")
        session.call("await ext.storage.local.set({settings: args[0]});", settings)
        before = _cpu_ticks(bench._tree_pids(pid))
        started = time.perf_counter()
        session.pick_file(song)
        while True:
            jobs = session.jobs()
            if jobs and jobs[0]["state"] in ("done", "failed", "cancelled"):
                break
            time.sleep(0.1)
        wall = time.perf_counter() - started
        after = _cpu_ticks(bench._tree_pids(pid))
        job = jobs[0]
        if job["state"] != "done":
            raise RuntimeError(f"{kind}: {job}")
        cpu = sum(ticks - before.get(p, 0) for p, ticks in after.items()) * TICK_S
        split = {k: round(v, 2) for k, v in job["timings"].items()}
        return {"seconds": round(wall, 2), "cpu_s": round(cpu, 2), "threads": job["threads"], "split": split}
    finally:
        session.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--browser", choices=["chromium", "firefox"], default="chromium")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60, help="the track's first seconds (0: all of it)")
    parser.add_argument("--config", nargs=3, action="append", metavar=("NAME", "DIST", "SETTINGS"), required=True)
    parser.add_argument("--out", type=Path, help="write the runs and ratios here (JSON)")
    args = parser.parse_args()
    configs = [(name, Path(dist), json.loads(settings)) for name, dist, settings in args.config]
    load = [subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()]
    print(f"load before: {load[0]}", flush=True)
    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        song = bench.cut_track(args.seconds, tmp / "ab.flac")
        for round_ in range(args.rounds):
            order = configs if round_ % 2 == 0 else configs[::-1]
            for name, dist, settings in order:
                run = run_job(args.browser, dist, settings, song, tmp / f"r{len(runs)}")
                runs.append({"round": round_, "config": name, **run})
                print(f"  round {round_ + 1}/{args.rounds} {name:16} {run['seconds']:7.2f} s wall, "
                      f"{run['cpu_s']:7.2f} s CPU, threads {run['threads']}, {run['split']}", flush=True)  # fmt: skip
    load.append(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(f"load after: {load[1]}")
    first = configs[0][0]
    ratios = {}
    for name, _, _ in configs[1:]:
        for key in ("seconds", "cpu_s"):
            per_round = [next(r[key] for r in runs if r["round"] == i and r["config"] == name)
                         / next(r[key] for r in runs if r["round"] == i and r["config"] == first)
                         for i in range(args.rounds)]  # fmt: skip
            ratios[f"{name} ÷ {first} ({'wall' if key == 'seconds' else 'CPU'})"] = (
                round(statistics.median(per_round), 3),
                [round(r, 3) for r in per_round],
            )
    for label, (value, per_round) in ratios.items():
        print(f"  {label:40} {value:6.3f}  per round {per_round}")
    if args.out:
        args.out.write_text(json.dumps({"browser": args.browser, "seconds": args.seconds, "load": load,
                                        "ratios": ratios, "runs": runs}, indent=1) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
