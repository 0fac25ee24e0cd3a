"""Faults: nothing is lost (docs/reliability.md), in Chromium and Firefox: the background stopped
or unloaded mid-job, the popup reopened, cancel, a queue, a browser restart, removal and the sweep
of audio left behind."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
import soundfile as sf

from models.spec import Precision
from tests.conftest import DATA
from tests.e2e.conftest import (
    STEMS,
    finished_job,
    long_song,
    stored_counts,
    wait_for,
    wait_running,
    wake_background,
)
from tests.protocol import STORE, open_db_js, to_background

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_firefox_event_page_is_kept_alive_through_a_long_job(packaged, tmp_path):
    """With the idle timeout at 5 s, a 60-second track (about 8 s of work, single-threaded)
    outlives it; without the heartbeat the page is unloaded mid-job and the job never ends."""
    from tests.e2e.firefox import FirefoxSession

    excerpt, rate = sf.read(DATA / "excerpt.flac", dtype="float32")
    song = tmp_path / "minute.flac"
    sf.write(song, np.tile(excerpt, (5, 1)), rate)
    xpi = next(packaged(Precision.INT8_WEIGHTS).glob("*-firefox.xpi"))
    session = FirefoxSession.start(xpi, tmp_path, {"extensions.background.idle.timeout": 5000})
    try:
        session.open("page/page.html")
        session.pick_file(song)
        job = finished_job(session, timeout=180)
        assert abs(job["durationS"] - 60.0) < 0.1
    finally:
        session.quit()


def test_chromium_results_survive_a_browser_restart(packaged, tmp_path):
    """Jobs and stems live in storage.local and IndexedDB of the profile: quit, start again on
    the same profile, the finished job is listed and its stems download. (Firefox: a temporary
    add-on, the only kind installable here unsigned, is removed with its storage at shutdown.)"""
    from tests.e2e.chromium import ChromiumSession

    extension = packaged(Precision.INT8_WEIGHTS) / "chrome"
    session = ChromiumSession.start(extension, tmp_path)
    try:
        session.open("page/page.html")
        session.pick_file(DATA / "excerpt.flac")
        before = finished_job(session)
    finally:
        session.quit()
    session = ChromiumSession.start(extension, tmp_path)
    try:
        session.open("page/page.html")
        jobs = wait_for(session.jobs, 30, what="the stored jobs")
        assert [(j["id"], j["state"]) for j in jobs] == [(before["id"], "done")]
        assert wait_for(lambda: session.click_all("button.download"), 10, what="download buttons") == len(STEMS)
        paths = session.wait_downloads([f"excerpt-{s}.wav" for s in STEMS])
        assert all(sf.info(p).frames == sf.info(DATA / "excerpt.flac").frames for p in paths)
    finally:
        session.quit()


def test_background_stopped_mid_job_the_job_finishes_once(browser, tmp_path):
    """Chrome: the service worker is stopped mid-job (the offscreen document keeps working and
    the restarted worker catches up). Firefox: the event page, and with it the inference, is
    unloaded; the restarted page resumes the job from its stored input. Either way it finishes,
    once, and the popup shows it."""
    session = browser()
    session.open("page/page.html")
    session.pick_file(long_song(tmp_path))
    wait_running(session, 0.1)
    session.stop_background()
    session.open("popup/popup.html")  # the popup's message wakes the background
    wake_background(session)
    job = finished_job(session, timeout=240)
    assert len(session.jobs()) == 1 and abs(job["durationS"] - 60.0) < 0.1
    shown = wait_for(lambda: session.script("return document.querySelector('li.job')?.dataset.state"), 10)
    assert shown == "done"


def test_cancel_stops_the_job_and_keeps_no_partial_stems(browser, tmp_path):
    session = browser()
    session.open("page/page.html")
    session.pick_file(long_song(tmp_path, repeats=15))  # 3 minutes: the cancel lands mid-job
    job = wait_running(session, 0.05)
    assert session.click_all("li.job button.cancel") == 1
    assert session.click_all("li.job button.confirm") == 1  # the list asks first (nothing lost by accident)
    state = wait_for(lambda: (s := session.jobs()[0]["state"]) != "running" and s, 60, what="the job to stop")
    assert state == "cancelled"
    stored = stored_counts(session, job["id"])
    assert stored == {"inputs": 0, "chunks": 0, "stems": 0}


def test_two_jobs_queue_and_both_finish(browser, tmp_path):
    session = browser()
    session.open("page/page.html")
    session.pick_file(DATA / "excerpt.flac")
    session.pick_file(long_song(tmp_path, repeats=2))
    wait_for(lambda: len(session.jobs()) == 2, 30, what="two jobs")

    def both_finished():
        states = [j["state"] for j in session.jobs()]
        return states if all(s in ("done", "failed", "cancelled") for s in states) else None

    assert wait_for(both_finished, 240, what="both jobs to finish") == ["done", "done"]


def test_popup_reopened_mid_job_shows_progress_then_the_stems(browser, tmp_path):
    session = browser()
    session.open("page/page.html")
    session.pick_file(long_song(tmp_path, repeats=15))  # 3 minutes: still running when we look
    wait_running(session, 0.05)
    session.open("popup/popup.html")  # the page that started it is gone; a fresh popup
    text = wait_for(
        lambda: session.script(
            "return document.querySelector('li.job[data-state=running] .progress-text')?.textContent"
        ),
        30,
        what="progress in the popup",
    )
    assert "%" in text and "left" in text
    finished_job(session)
    buttons = wait_for(lambda: session.script("return document.querySelectorAll('button.download').length"), 10)
    assert buttons == len(STEMS)


def test_remove_deletes_everything_stored_for_the_job(browser):
    session = browser()
    session.open("page/page.html")
    session.pick_file(DATA / "excerpt.flac")
    job = finished_job(session)
    assert stored_counts(session, job["id"]) == {"inputs": 0, "chunks": 0, "stems": len(STEMS)}
    assert session.click_all("li.job button.remove") == 1
    assert session.jobs() != []  # asked first: the stems are still there
    assert session.click_all("li.job button.keep") == 1
    assert session.click_all("li.job button.remove") == 1
    assert session.click_all("li.job button.confirm") == 1
    wait_for(lambda: session.jobs() == [], 20, what="the job to be removed")
    assert stored_counts(session, job["id"]) == {"inputs": 0, "chunks": 0, "stems": 0}


def test_audio_left_by_ended_or_removed_jobs_is_swept_when_the_background_starts(browser):
    """A full disk can fail a job's cleanup too (test_disk_full.py): what a failed job left, and
    chunks and stems of a job no longer listed, are deleted when the background starts again;
    a done job's stems and the input of a job not listed yet (a page stores its file before it
    asks for the job) stay."""
    session = browser()
    session.open("page/page.html")
    records = ("failed", "done", "removed", "pending")

    def counts():
        return {job: stored_counts(session, job) for job in records}

    # the extension creates its database (removing a job that does not exist opens it) before
    # the test's records go in
    session.call("await " + to_background("CLEAR_JOB", "{jobId: 'none'}") + ";")
    inputs, chunks, stems = (json.dumps(STORE[k]) for k in ("INPUTS", "CHUNKS", "STEMS"))
    session.call(
        "const now = Date.now();"
        "await ext.storage.local.set({jobs: ['failed', 'done'].map((state) => ({id: state, state,"
        " name: state, source: {kind: 'stored'}, createdAt: now, updatedAt: now, error: 'x',"
        " stems: [{stem: 'vocals', bytes: 1}]}))});"
        + open_db_js()
        + "const put = (store, key) => new Promise((ok, ko) => {"
        " const tx = db.transaction(store, 'readwrite'); tx.objectStore(store).put('x', key);"
        " tx.oncomplete = ok; tx.onerror = ko; });"
        f"await put({inputs}, 'failed'); await put({chunks}, ['failed', 'vocals', 0]);"
        f"await put({stems}, ['done', 'vocals']); await put({inputs}, 'pending');"
        f"await put({chunks}, ['removed', 'vocals', 0]); await put({stems}, ['removed', 'vocals']);"
    )
    assert counts() == {
        "failed": {"inputs": 1, "chunks": 1, "stems": 0},
        "done": {"inputs": 0, "chunks": 0, "stems": 1},
        "removed": {"inputs": 0, "chunks": 1, "stems": 1},
        "pending": {"inputs": 1, "chunks": 0, "stems": 0},
    }
    session.stop_background()
    wake_background(session)
    swept = {
        "failed": {"inputs": 0, "chunks": 0, "stems": 0},
        "done": {"inputs": 0, "chunks": 0, "stems": 1},
        "removed": {"inputs": 0, "chunks": 0, "stems": 0},
        "pending": {"inputs": 1, "chunks": 0, "stems": 0},
    }
    with contextlib.suppress(TimeoutError):
        wait_for(lambda: counts() == swept, 20, what="the sweep")
    assert counts() == swept
