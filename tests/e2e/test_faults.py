"""Faults: nothing is lost (docs/reliability.md), in Chromium and Firefox: the background stopped
or unloaded mid-job, the popup reopened, cancel, a queue, a browser restart, removal, the sweep
of audio left behind, a recording of many parts saved and read whole."""

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


def test_a_question_and_the_focus_outlive_the_row_being_rebuilt(browser):
    """A job's row is rebuilt at each progress update: a Cancel or Remove the user is being asked
    to confirm stays asked, and the keyboard focus stays on the same control (it fell to the
    page, and the confirming button vanished between the two clicks)."""
    session = browser()
    session.open("page/page.html")
    job = {"id": "q", "state": "running", "phase": "separating", "name": "question", "source": {"kind": "stored"},
           "createdAt": 1, "updatedAt": 1, "done": 1, "total": 10}  # fmt: skip
    put = "await ext.storage.local.set({jobs: [args[0]]});"
    session.call(put, job)
    row = "li.job[data-job='q']"
    focused = f'return document.activeElement?.closest("{row}") ? document.activeElement.className : null;'
    wait_for(lambda: session.click_all(f"{row} button.remove"), 10, 0.1, "the row")
    assert session.script(focused) == "keep"
    session.call(put, {**job, "done": 2, "updatedAt": 2})
    wait_for(lambda: session.script(f"return document.querySelector(\"{row} progress\").value") == 0.2, 10, 0.1,
             "the row rebuilt with the new progress")  # fmt: skip
    assert session.script(focused) == "keep"
    assert session.click_all(f"{row} button.confirm") == 1  # still asked: the second click removes
    wait_for(lambda: session.jobs() == [], 10, 0.1, "the job removed")

    # A question whose button is gone is not asked again: Cancel asked, the job fails meanwhile
    # (the focus goes to the row's first button), then a job of the same id runs again.
    session.call(put, job)
    wait_for(lambda: session.click_all(f"{row} button.cancel"), 10, 0.1, "the row again")
    session.call(put, {**job, "state": "failed", "error": "Broken.", "updatedAt": 3})
    wait_for(lambda: session.script(f'return document.querySelector("{row}").dataset.state') == "failed", 10, 0.1)
    assert session.script(focused) == "remove"
    session.call(put, {**job, "updatedAt": 4})
    wait_for(lambda: session.script(f'return document.querySelector("{row}").dataset.state') == "running", 10, 0.1)
    assert session.script(f'return document.querySelectorAll("{row} button.confirm").length') == 0
    assert session.script(f'return document.querySelectorAll("{row} button.cancel").length') == 1


def test_audio_left_by_ended_or_removed_jobs_is_swept_when_the_background_starts(browser):
    """A full disk can fail a job's cleanup too (test_disk_full.py): what a failed job left, and
    chunks and stems of a job no longer listed, are deleted when the background starts again;
    a done job's stems and the input of a job not listed yet (a page stores its file before it
    asks for the job) stay, and so does the recording of a failed job of a recording (a live
    capture's mix, stored or still in chunks; a page recording's input): its only copy."""
    session = browser()
    session.open("page/page.html")
    records = ("failed", "done", "removed", "pending", "live", "page")

    def counts():
        return {job: stored_counts(session, job) for job in records}

    # the extension creates its database (removing a job that does not exist opens it) before
    # the test's records go in
    session.call("await " + to_background("CLEAR_JOB", "{jobId: 'none'}") + ";")
    inputs, chunks, stems = (json.dumps(STORE[k]) for k in ("INPUTS", "CHUNKS", "STEMS"))
    session.call(
        "const now = Date.now();"
        "const sources = {live: {kind: 'recorded'}, page: {kind: 'stored', recorded: true}};"
        "await ext.storage.local.set({jobs: ['failed', 'done', 'live', 'page'].map((id) => ({id,"
        " state: id === 'done' ? 'done' : 'failed', name: id, source: sources[id] ?? {kind: 'stored'},"
        " createdAt: now, updatedAt: now, error: 'x', stems: [{stem: 'vocals', bytes: 1}]}))});"
        + open_db_js()
        + "const put = (store, key) => new Promise((ok, ko) => {"
        " const tx = db.transaction(store, 'readwrite'); tx.objectStore(store).put('x', key);"
        " tx.oncomplete = ok; tx.onerror = ko; });"
        f"await put({inputs}, 'failed'); await put({chunks}, ['failed', 'vocals', 0]);"
        f"await put({stems}, ['done', 'vocals']); await put({inputs}, 'pending');"
        f"await put({chunks}, ['removed', 'vocals', 0]); await put({stems}, ['removed', 'vocals']);"
        f"await put({stems}, ['live', 'recorded-mix']); await put({chunks}, ['live', 'recorded-mix', 0]);"
        f"await put({chunks}, ['live', 'vocals', 0]); await put({stems}, ['live', 'vocals']);"
        f"await put({inputs}, 'page'); await put({chunks}, ['page', 'recording', 0]);"
        f"await put({chunks}, ['page', 'vocals', 0]);"
    )
    assert counts() == {
        "failed": {"inputs": 1, "chunks": 1, "stems": 0},
        "done": {"inputs": 0, "chunks": 0, "stems": 1},
        "removed": {"inputs": 0, "chunks": 1, "stems": 1},
        "pending": {"inputs": 1, "chunks": 0, "stems": 0},
        "live": {"inputs": 0, "chunks": 2, "stems": 2},
        "page": {"inputs": 1, "chunks": 2, "stems": 0},
    }
    session.stop_background()
    wake_background(session)
    swept = {
        "failed": {"inputs": 0, "chunks": 0, "stems": 0},
        "done": {"inputs": 0, "chunks": 0, "stems": 1},
        "removed": {"inputs": 0, "chunks": 0, "stems": 0},
        "pending": {"inputs": 1, "chunks": 0, "stems": 0},
        "live": {"inputs": 0, "chunks": 1, "stems": 1},  # the recording, joined and in chunks
        "page": {"inputs": 1, "chunks": 1, "stems": 0},
    }
    with contextlib.suppress(TimeoutError):
        wait_for(lambda: counts() == swept, 20, what="the sweep")
    assert counts() == swept


# In the extension's page, through its own store.js: args[0] parts of args[1] bytes saved as
# finishStem saves a stem or a live recording, then read back as the downloads, the mixer and a
# recorded job read them (getStem); and a stem stored as one Blob (saved before 2026-12-01).
MANY_PARTS = f"""
const store = await import('/shared/store.js');
const [count, size] = args;
const part = (i) => `${{i}}:`.padEnd(64, '.').repeat(size / 64);
{open_db_js()}
// The parts as putChunk stores them (one transaction for all: a commit each took a minute here).
const chunks = {json.dumps(STORE["CHUNKS"])};
const fill = db.transaction(chunks, 'readwrite');
for (let i = 0; i < count; i++) fill.objectStore(chunks).put(new Blob([part(i)]), ['many', store.RECORDED_MIX, i]);
await new Promise((ok, ko) => {{ fill.oncomplete = ok; fill.onerror = ko; }});
const header = 'RIFF'.padEnd(44, '_');
const bytes = (await store.finishStem('many', store.RECORDED_MIX, new Blob([header]))).size;
const wav = await store.getStem('many', store.RECORDED_MIX);
const text = await wav.text();
let wrong = -1;
for (let i = 0; i < count && wrong < 0; i++) if (text.substr(44 + i * size, size) !== part(i)) wrong = i;
const name = {json.dumps(STORE["STEMS"])};
const record = await new Promise((ok, ko) => {{
  const r = db.transaction(name).objectStore(name).get(['many', store.RECORDED_MIX]);
  r.onsuccess = () => ok(r.result); r.onerror = ko; }});
const tx = db.transaction(name, 'readwrite');
tx.objectStore(name).put(new Blob([header, part(7)], {{type: 'audio/wav'}}), ['many', 'old']);
await new Promise((ok, ko) => {{ tx.oncomplete = ok; tx.onerror = ko; }});
const old = await store.getStem('many', 'old');
return {{bytes, size: wav.size, type: wav.type, header: text.slice(0, 44) === header, wrong,
  stored: record instanceof Blob ? 'one Blob' : typeof record?.file === 'string' ? 'a file' : String(record),
  old: old.size === 44 + size && (await old.text()) === header + part(7)}};
"""
# As platform/<browser>/stem-storage.js says: Firefox saves a stem as an origin-private file (its
# record a marker), Chromium as one Blob: stored as the list of its parts, Firefox would copy a
# stem through its parent process for each object URL (scripts/probe_opfs.py).
STORED_FORM = {"firefox": "a file", "chromium": "one Blob"}


def test_a_recording_of_900_parts_is_saved_and_read_back_whole(browser):
    """More parts than a 10-minute live recording's 810 (Chromium once refused such a record,
    "Failed to write blobs"); the chunks go once the record is stored."""
    session = browser()
    session.open("page/page.html")
    count, size = 900, 16384
    out = session.call(MANY_PARTS, count, size)
    print(f"{session.name}: {count} parts of {size} B saved and read back: {out}")
    wav_bytes = 44 + count * size
    assert out == {"bytes": wav_bytes, "size": wav_bytes, "type": "audio/wav", "header": True, "wrong": -1,
                   "stored": STORED_FORM[session.name], "old": True}  # fmt: skip
    assert stored_counts(session, "many") == {"inputs": 0, "chunks": 0, "stems": 2}


# In the extension's page, through its own store.js: a job's stem and its live recording saved
# (finishStem), read (getStem), its results but the recording deleted (a failed recorded job),
# then all (Remove); and a stem file left without its record (a save or delete interrupted
# between the two).
STEM_FILES = f"""
const store = await import('/shared/store.js');
{open_db_js()}
const request = (name, mode, act) => new Promise((ok, ko) => {{
  const tx = db.transaction(name, mode); const r = act(tx.objectStore(name));
  tx.oncomplete = () => ok(r?.result); tx.onerror = ko; }});
const chunks = {json.dumps(STORE["CHUNKS"])}, stems = {json.dumps(STORE["STEMS"])};
const put = (job, stem, texts) => request(chunks, 'readwrite', (s) => {{
  texts.forEach((text, i) => s.put(new Blob([text]), [job, stem, i])); }});
const files = async (job) => {{
  try {{
    const root = await navigator.storage.getDirectory();
    const dir = await (await root.getDirectoryHandle('stems')).getDirectoryHandle(job);
    const names = [], keys = dir.keys();
    for (let next = await keys.next(); !next.done; next = await keys.next()) names.push(next.value);
    return names.sort();
  }} catch {{ return null; }}
}};
const header = new Blob(['RIFF'.padEnd(44, '_')]);
const music = 'a'.repeat(3000) + 'b'.repeat(5000);
await put('filed', 'vocals', ['a'.repeat(3000), 'b'.repeat(5000)]);
await put('filed', store.RECORDED_MIX, ['m'.repeat(700)]);
const saved = await store.finishStem('filed', 'vocals', header);
await store.finishStem('filed', store.RECORDED_MIX, header);
const record = await request(stems, 'readonly', (s) => s.get(['filed', 'vocals']));
const stem = await store.getStem('filed', 'vocals');
const out = {{saved: saved.size, form: record instanceof Blob ? 'one Blob' : record?.file ? 'a file' : String(record),
  read: stem.size === 44 + music.length && (await stem.text()) === 'RIFF'.padEnd(44, '_') + music,
  type: stem.type, files: await files('filed'),
  chunksLeft: await request(chunks, 'readonly', (s) => s.count(IDBKeyRange.bound(['filed'], ['filed', []])))}};
await store.deleteAllButRecording('filed');
out.afterFailed = {{files: await files('filed'), vocals: (await store.getStem('filed', 'vocals')) ?? null,
  mix: (await store.getStem('filed', store.RECORDED_MIX))?.size}};
await store.deleteJobData('filed');
out.afterRemove = {{files: await files('filed'), mix: (await store.getStem('filed', store.RECORDED_MIX)) ?? null}};
await put('orphan', 'vocals', ['o'.repeat(100)]);
await store.finishStem('orphan', 'vocals', header);
await request(stems, 'readwrite', (s) => s.delete(['orphan', 'vocals']));
out.orphan = {{files: await files('orphan'), listed: (await store.storedJobIds()).results.has('orphan')}};
return out;
"""
# A file of an unlisted job, as STEM_FILES's `files`: null when there is none.
ORPHAN_FILES = STEM_FILES.split("const header")[0] + "return await files('orphan');"


def test_a_stem_is_one_file_deleted_with_its_job(browser):
    """Where stems are files (Firefox: platform/firefox/stem-storage.js), a saved stem is one
    origin-private file read back whole, deleted with its job (but a failed recorded job's
    recording), and a file left without its record is swept when the background starts."""
    session = browser()
    session.open("page/page.html")
    session.call("await " + to_background("CLEAR_JOB", "{jobId: 'none'}") + ";")
    out = session.call(STEM_FILES)
    print(f"{session.name}: {out}")
    as_files = session.name == "firefox"
    mix = "recorded-mix.wav"
    assert out == {
        "saved": 8044, "form": "a file" if as_files else "one Blob", "read": True, "type": "audio/wav",
        "files": [mix, "vocals.wav"] if as_files else None, "chunksLeft": 0,
        "afterFailed": {"files": [mix] if as_files else None, "vocals": None, "mix": 744},
        "afterRemove": {"files": None, "mix": None},
        "orphan": {"files": ["vocals.wav"] if as_files else None, "listed": as_files},
    }  # fmt: skip
    session.stop_background()
    wake_background(session)
    with contextlib.suppress(TimeoutError):
        wait_for(lambda: session.call(ORPHAN_FILES) is None, 20, what="the sweep of the orphan file")
    assert session.call(ORPHAN_FILES) is None


# A job's stems through store.js's openStems, as inference/separator.js writes them: two pieces
# each, counted in the chunks store before `finish`, read back after; then a second writing of the
# same job aborted part-way (a failed or cancelled job), and the first stems read again.
STEMS_AS_MADE = f"""
const store = await import('/shared/store.js');
{open_db_js()}
const count = () => new Promise((ok) => {{
  const r = db.transaction({json.dumps(STORE["CHUNKS"])}).objectStore({json.dumps(STORE["CHUNKS"])})
    .count(IDBKeyRange.bound(['made'], ['made', []]));
  r.onsuccess = () => ok(r.result); }});
const bytes = (text) => new TextEncoder().encode(text).buffer;
const header = bytes('RIFF'.padEnd(44, '_'));
const writer = await store.openStems('made', ['vocals', 'accompaniment'], 44);
await writer.append([bytes('v1'), bytes('a1')]);
await writer.append([bytes('v2'), bytes('a2')]);
const out = {{chunksWhileWriting: await count()}};
const done = await writer.finish(header);
const read = () => Promise.all(['vocals', 'accompaniment'].map(async (s) => (await store.getStem('made', s))?.text()));
out.finished = await Promise.all(done.map((blob) => blob.text()));
out.read = await read();
out.chunksAfter = await count();
const again = await store.openStems('made', ['vocals', 'accompaniment'], 44);
await again.append([bytes('x1'), bytes('y1')]);
await again.abort();
out.afterAbort = await read();
await store.deleteJobData('made');
return out;
"""


def test_stems_are_written_as_they_are_made(browser):
    """Where stems are files (Firefox), each piece goes straight into its file: no parts in the
    chunks store to copy at the end; elsewhere the parts are chunks joined at `finish`. An aborted
    writing leaves the finished stems as they were."""
    session = browser()
    session.open("page/page.html")
    out = session.call(STEMS_AS_MADE)
    print(f"{session.name}: {out}")
    head = "RIFF".ljust(44, "_")
    stems = [head + "v1v2", head + "a1a2"]
    as_files = session.name == "firefox"
    assert out["finished"] == stems and out["read"] == stems and out["chunksAfter"] == 0
    assert out["chunksWhileWriting"] == (0 if as_files else 4)
    assert out["afterAbort"] == stems
