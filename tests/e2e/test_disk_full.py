"""Storage exhaustion (issue #5): the extension holds `unlimitedStorage`, so its quota is the
disk. The browser's profile is put on a small tmpfs filled to a few MB short of the stems' size:
the job must fail with the disk-space message and leave nothing of itself stored. Needs root for
the mount (as in CI's container)."""

from __future__ import annotations

import contextlib
import os
import subprocess

import numpy as np
import pytest
import soundfile as sf

from models.spec import Precision
from tests.conftest import DATA
from tests.e2e.chromium import ChromiumSession
from tests.e2e.conftest import stored_counts, wait_for, wake_background
from tests.e2e.firefox import FirefoxSession

pytestmark = pytest.mark.browser
FREE_MB = 12  # left free for the job: its stems need 2 x 21 MB (60 s, float32)


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs (run as root, as CI does): {result.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill_leaving(mount, free_mb: int) -> None:
    stat = os.statvfs(mount)
    spare = stat.f_bavail * stat.f_frsize - free_mb * 2**20
    with open(mount / "ballast", "wb") as ballast:
        ballast.truncate(0)
        block = b"\0" * 2**20
        for _ in range(max(spare, 0) // 2**20):
            ballast.write(block)


def _console(folder) -> str:
    """The extension's console lines from Firefox's log (Chromium keeps none there)."""
    log = folder / "firefox.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return "\n".join([line for line in lines if "demixer" in line][-20:])


@pytest.mark.parametrize("kind", ["chromium", "firefox"])
def test_a_full_disk_fails_the_job_with_a_clear_message_and_keeps_nothing(packaged, tmp_path, small_disk, kind):
    excerpt, rate = sf.read(DATA / "excerpt.flac", dtype="float32")
    song = tmp_path / "minute.flac"
    sf.write(song, np.tile(excerpt, (5, 1)), rate)
    dist = packaged(Precision.INT8_WEIGHTS)
    if kind == "chromium":
        session = ChromiumSession.start(dist / "chrome", small_disk)
    else:
        session = FirefoxSession.start(next(dist.glob("*-firefox.xpi")), small_disk, log_dir=tmp_path)
    try:
        session.open("page/page.html")
        session.call("await ext.storage.local.set({settings: {format: 'float32'}});")
        _fill_leaving(small_disk, FREE_MB)
        session.pick_file(song)

        def ended():
            jobs = session.jobs()
            return jobs and jobs[0]["state"] in ("done", "failed", "cancelled") and jobs[0]

        try:
            job = wait_for(ended, 300, what="the job to end")
        except TimeoutError as timeout:  # seen in Firefox before every storage wait was bounded
            raise AssertionError(f"{kind}: the job never ended: {session.jobs()}\n{_console(tmp_path)}") from timeout
        print(f"{kind}, {FREE_MB} MB free: {job['state']}: {job.get('error')}")
        assert job["state"] == "failed", job
        assert "Not enough disk space" in job["error"], job["error"]
        (small_disk / "ballast").unlink()  # room again
        nothing = {"inputs": 0, "chunks": 0, "stems": 0}
        left = stored_counts(session, job["id"])
        print(f"stored right after the failure: {left}")
        if left != nothing:
            # A full disk can fail the cleanup too (seen about 1 run in 10 in Chromium, the
            # input kept): the background's next start sweeps what failed jobs left.
            session.stop_background()
            wake_background(session)
            with contextlib.suppress(TimeoutError):
                wait_for(lambda: stored_counts(session, job["id"]) == nothing, 20, what="the sweep")
        assert stored_counts(session, job["id"]) == nothing
    finally:
        session.quit()
