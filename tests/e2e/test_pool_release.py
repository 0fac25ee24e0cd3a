"""inference/host.js: after a streamed (long) track's last model run, the worker pool is let go
before the stems are saved (the saving of a 60-minute track's stems is Firefox's memory peak),
and the next job loads it again; a short track keeps it for the next job. Firefox only: its
default is the pool (Chromium's, one session with onnxruntime's threads, is kept as it was)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.e2e.conftest import finished_job
from tests.e2e.firefox import FirefoxSession

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# Two workers' onnxruntime heaps and code are ~440 MB (Firefox's memory reports); a job's
# uncollected garbage moves the extension process by up to ~150 MB either way.
MIN_FREED_MB = 200


def _tree_pss_mb(root: int) -> dict[int, float]:
    """PSS (MB) of each process under ``root`` (its descendants), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, stack = {}, list(children.get(root, []))
    while stack:
        pid = stack.pop()
        stack += children.get(pid, [])
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        found[pid] = next(int(line.split()[1]) / 1024 for line in rollup.splitlines() if line.startswith("Pss:"))
    return found


def _job(session, tmp_path, name: str, stream_above_s: int) -> float:
    """Runs ``name`` (the 12-s excerpt) with ``streamAboveS``; the extension process's PSS after it."""
    session.call("await ext.storage.local.set({settings: {streamAboveS: args[0]}});", stream_above_s)
    song = tmp_path / f"{name}.flac"
    shutil.copy(DATA / "excerpt.flac", song)
    session.pick_file(song)
    job = finished_job(session, name=name)
    assert job["state"] == "done", job
    assert job["threads"] == 2, job  # the pool (the test machine has 2 cores)
    time.sleep(2)  # the workers' ends
    # the biggest child: the extension's process (background page and its model workers)
    return max(_tree_pss_mb(session.runner.process_handler.pid).values())


def test_a_streamed_job_lets_the_pool_go_and_a_short_one_keeps_it(packaged, tmp_path):
    session = FirefoxSession.start(next(packaged().glob("*-firefox.xpi")), tmp_path)
    try:
        session.open("page/page.html")
        if session.call("return navigator.hardwareConcurrency") < 2:
            pytest.fail("the worker pool needs 2 cores to be tested (CI has 2)")
        streamed = _job(session, tmp_path, "streamed", 5)
        short = _job(session, tmp_path, "short", 600)  # loads the pool again, and keeps it
    finally:
        session.quit()
    print(f"extension process after a streamed job {streamed:.0f} MB, after a short one {short:.0f} MB")
    assert short - streamed >= MIN_FREED_MB, (streamed, short)
