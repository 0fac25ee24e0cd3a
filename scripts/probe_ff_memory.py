"""Probe: what Firefox's extension process holds while a long track separates (a probe).

    .venv/bin/python scripts/probe_ff_memory.py [--minutes 20] [--every 8] [--stop-after 70] [--gc]
        [--pref javascript.options.mem.gc_low_frequency_heap_growth=110 ...] [--tag=-x]

A streamed job (over `streamAboveS`) on the benchmark track played back to back (bench_long.py's
track, `--minutes` long), shipped defaults otherwise (2 model workers on 2 cores). Every
`--every` s, Firefox's own memory reports (nsIMemoryReporterManager.getReports, the figures of
about:memory) are taken from the chrome context, per process, with the PSS of each process of
the tree; the extension process's explicit allocations are summed by path prefix (the URL in
window-objects/... and the zone/compartment names dropped) and heap-unclassified computed as
about:memory does (heap-allocated less the explicit heap reports). The snapshots at the highest
and lowest PSS of the extension process while separating are written whole, with their
difference by prefix: what the sawtooth is made of. Writes bench/probe-ff-memory-<date><tag>.json.
`--gc` asks for a full GC after each snapshot and takes another (what was garbage); `--pref`
starts Firefox with a preference changed (e.g. the GC's heap growth: how much of the page's
memory is garbage left to the GC's trigger). A probe (scripts/README.md), not a benchmark.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench import _pss_by_pid, _tree_pids, package_built_model, start_browser  # noqa: E402
from scripts.bench_long import _long_track  # noqa: E402
from tests.e2e.firefox import FirefoxSession  # noqa: E402

# All reports of every process, summed in the chrome context: [process, path, kind, units, amount]
# lists would be ~100k rows; per process, bytes by path only (amounts of one path are summed).
REPORTS = """
const done = arguments[arguments.length - 1];
const byProcess = {};
const manager = Cc["@mozilla.org/memory-reporter-manager;1"].getService(Ci.nsIMemoryReporterManager);
manager.getReports(
  (process, path, kind, units, amount) => {
    if (units !== Ci.nsIMemoryReporter.UNITS_BYTES) return;
    const rows = (byProcess[process || 'parent'] ??= {});
    const key = kind + '|' + path;
    rows[key] = (rows[key] ?? 0) + amount;
  }, null,
  () => done(byProcess), null, false);
"""

# What about:memory's "GC" button does: a full GC (and cycle collection) in every child process.
GC = """
Services.obs.notifyObservers(null, "child-gc-request");
Services.obs.notifyObservers(null, "child-cc-request");
"""

# Path parts that name one instance (a window's URL, a zone or compartment's address/name):
# dropped so that the same kind of memory sums under one prefix.
INSTANCE = re.compile(r"(?<!class)\(.*?\)|0x[0-9a-f]+|moz-extension://[^/]*|top\[[^\]]*\]")


def prefix(path: str, depth: int) -> str:
    """``path`` cut to ``depth`` levels, instance names dropped."""
    parts = [INSTANCE.sub("*", part) for part in path.split("/")]
    return "/".join(parts[:depth])


def summarize(rows: dict[str, int], depth: int = 4) -> dict[str, float]:
    """MB by explicit/ prefix, heap-unclassified computed, and a few totals."""
    sums: dict[str, float] = {}
    explicit_heap = 0
    totals = {}
    for key, amount in rows.items():
        kind, path = key.split("|", 1)
        if path.startswith("explicit/"):
            sums[prefix(path, depth)] = sums.get(prefix(path, depth), 0) + amount
            if kind == "1":  # KIND_HEAP
                explicit_heap += amount
        elif path in ("heap-allocated", "resident", "resident-unique", "vsize", "js-main-runtime-gc-heap"):
            totals[path] = amount
    if "heap-allocated" in totals:
        sums["explicit/heap-unclassified"] = totals["heap-allocated"] - explicit_heap
    mb = {k: round(v / 2**20, 1) for k, v in sorted(sums.items(), key=lambda kv: -kv[1]) if v >= 2**20}
    mb["=explicit"] = round(sum(sums.values()) / 2**20, 1)
    mb.update({f"={k}": round(v / 2**20, 1) for k, v in totals.items()})
    return mb


def extension_process(reports: dict[str, dict]) -> str | None:
    """The process whose reports name the extension's background page (moz-extension windows)."""
    best, most = None, 0
    for process, rows in reports.items():
        size = sum(a for k, a in rows.items() if "moz-extension" in k and k.split("|", 1)[1].startswith("explicit/"))
        if size > most:
            best, most = process, size
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=20)
    parser.add_argument("--every", type=float, default=8.0, help="seconds between snapshots")
    parser.add_argument("--stream-above", type=int, default=600, help="the `streamAboveS` setting")
    parser.add_argument("--depth", type=int, default=12, help="levels of the explicit/ path summed")
    parser.add_argument(
        "--gc",
        action="store_true",
        help="after each snapshot, a full GC of the child processes "
        "(about:memory's button) and a second snapshot: what was garbage, what is live",
    )
    parser.add_argument(
        "--pref",
        action="append",
        default=[],
        metavar="NAME=INT",
        help="a Firefox preference (integer), e.g. of javascript.options.mem.gc_*",
    )
    parser.add_argument("--stop-after", type=float, default=0, help="stop after this many s (0: at the job's end)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    parser.add_argument("--tag", default="", help="suffix of the output file")
    args = parser.parse_args()
    snapshots = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        song = _long_track(args.minutes, tmp / f"{args.minutes}-minutes.flac")
        dist = package_built_model(tmp / "dist")
        if args.pref:
            prefs = {name: int(value) for name, value in (p.split("=", 1) for p in args.pref)}
            session = FirefoxSession.start(next(dist.glob("*-firefox.xpi")), tmp / "firefox", prefs=prefs)
            root = session.runner.process_handler.pid
        else:
            session, root = start_browser("firefox", dist, tmp / "firefox")
        m = session.marionette
        try:
            session.open("page/page.html")
            session.call("await ext.storage.local.set({settings: args[0]});", {"streamAboveS": args.stream_above})
            started = time.perf_counter()
            session.pick_file(song)
            state = None
            while state not in ("done", "failed", "cancelled"):
                time.sleep(args.every)
                state = session.script("return document.querySelector('li.job')?.dataset.state ?? null")
                taken = time.perf_counter()
                with m.using_context("chrome"):
                    reports = m.execute_async_script(REPORTS, script_timeout=120_000)
                pss = _pss_by_pid(_tree_pids(root))
                process = extension_process(reports)
                pid = int(re.search(r"pid (\d+)", process).group(1)) if process and "pid" in process else None
                snap = {"s": round(taken - started, 1), "state": state,
                        "report_s": round(time.perf_counter() - taken, 1),
                        "tree_pss": round(sum(pss.values())), "parent_pss": round(pss.get(root, 0)),
                        "extension_process": process, "extension_pss": round(pss.get(pid, 0)) if pid else None,
                        "extension": summarize(reports[process], args.depth) if process else {}}  # fmt: skip
                if args.gc and process:
                    with m.using_context("chrome"):
                        m.execute_script(GC)
                    time.sleep(3)
                    with m.using_context("chrome"):
                        reports = m.execute_async_script(REPORTS, script_timeout=120_000)
                    after = _pss_by_pid(_tree_pids(root))
                    snap["after_gc"] = {"extension_pss": round(after.get(pid, 0)) if pid else None,
                                        "extension": summarize(reports.get(process, {}), args.depth)}  # fmt: skip
                snapshots.append(snap)
                ext, gc = snap["extension"], snap.get("after_gc")
                after = f"; after a GC: {gc['extension_pss']} MB" if gc else ""
                print(f"{snap['s']:7.1f} s {state}: tree {snap['tree_pss']} MB, extension process "
                      f"{snap['extension_pss']} MB, explicit {ext.get('=explicit')}, "
                      f"heap-unclassified {ext.get('explicit/heap-unclassified')}{after}", flush=True)  # fmt: skip
                if args.stop_after and snap["s"] > args.stop_after:
                    break
        finally:
            session.quit()
    # Separating: the pool's workers are there (released once the last model run is done).
    separating = [
        s for s in snapshots if s["extension_pss"] and any(k.startswith("explicit/workers/") for k in s["extension"])
    ]
    result = {"date": datetime.date.today().isoformat(), "minutes": args.minutes, "snapshots": snapshots}
    if separating:
        high = max(separating, key=lambda s: s["extension_pss"])
        low = min(separating[len(separating) // 4 :], key=lambda s: s["extension_pss"])
        keys = set(high["extension"]) | set(low["extension"])
        diff = {k: round(high["extension"].get(k, 0) - low["extension"].get(k, 0), 1) for k in keys}
        result["high_minus_low"] = dict(
            sorted(((k, v) for k, v in diff.items() if abs(v) >= 2), key=lambda kv: -abs(kv[1]))
        )
        result["high"], result["low"] = high, low
        print("high - low (MB):", json.dumps(result["high_minus_low"], indent=1))
        print("high:", json.dumps(dict(list(high["extension"].items())[:30]), indent=1))
    args.out.mkdir(exist_ok=True)
    result["prefs"] = args.pref
    out = args.out / f"probe-ff-memory-{result['date']}{args.tag}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
