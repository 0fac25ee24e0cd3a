"""The extension end to end on real music: one scenario, two browsers (Chromium and Firefox)."""

from __future__ import annotations

import contextlib
import json
import shutil
import time

import numpy as np
import pytest
import soundfile as sf

from builder.validate import sdr_db
from models.spec import Precision
from tests.conftest import DATA
from tests.e2e import chromium as chromium_driver
from tests.e2e.conftest import stored_counts, wait_for, wake_background
from tests.e2e.netlog import network_requests
from tests.e2e.servers import CountingProxy, LoginGatedMedia, serve_directory
from tests.protocol import STORE, open_db_js, to_background

pytestmark = [pytest.mark.browser, pytest.mark.slow]
STEMS = ("vocals", "accompaniment")
FLOORS = {Precision.INT8_WEIGHTS: 30.0, Precision.FP32: 40.0}
START_URL_JOB = (
    f"const reply = await {to_background('START_URL_JOB', '{url: args[0], name: args[1]}')};"
    "if (!reply.ok) throw new Error(reply.error);"
)


def finished_job(session, timeout=300):
    def finished():
        jobs = session.jobs()
        return jobs and jobs[0]["state"] in ("done", "failed", "cancelled") and jobs[0]

    job = wait_for(finished, timeout, what="the job to finish")
    assert job["state"] == "done", job
    return job


# Each precision with one of the two decode paths (inference/decode.js): the int8 build streams
# (setting streamAboveS = 0: mediabunny + WebCodecs), the fp32 build decodes the 12 s whole.
@pytest.mark.parametrize(
    ("precision", "decoder"),
    [(Precision.INT8_WEIGHTS, "streamed"), (Precision.FP32, "whole-file")],
    ids=["int8-weights-streamed", "fp32-whole-file"],
)
def test_local_file_stems_match_the_native_reference(browser, native_stems, precision, decoder):
    song = DATA / "excerpt.flac"
    session = browser(precision)
    session.open("page/page.html")
    if decoder == "streamed":
        session.call("await ext.storage.local.set({settings: {streamAboveS: 0}});")
    session.pick_file(song)
    job = finished_job(session)
    assert [s["stem"] for s in job["stems"]] == list(STEMS)
    assert job["threads"] >= 1
    assert job["decoder"] == decoder

    assert session.click_all("button.download") == len(STEMS)
    downloads = session.wait_downloads([f"excerpt-{s}.wav" for s in STEMS])
    reference = native_stems(song, precision)
    for stem, path in zip(STEMS, downloads, strict=True):
        ours, rate = sf.read(path, dtype="float32")
        native, _ = sf.read(reference / f"excerpt-{stem}.wav", dtype="float32")
        assert rate == 44100 and ours.shape == native.shape
        sdr = sdr_db(native, ours)
        print(f"{session.name} {precision.value} {stem}: browser vs native SDR {sdr:.1f} dB, threads {job['threads']}, "
              f"{decoder} decode")  # fmt: skip
        assert sdr >= FLOORS[precision], (stem, sdr)


def test_download_all_is_one_zip_with_every_stem(browser, tmp_path):
    session = browser()
    session.open("page/page.html")
    session.pick_file(DATA / "excerpt.flac")
    finished_job(session)
    assert session.click_all("button.download-all") == 1
    (archive,) = session.wait_downloads(["excerpt-stems.zip"])
    shutil.unpack_archive(archive, tmp_path / "unzipped", "zip")
    names = sorted(p.name for p in (tmp_path / "unzipped").iterdir())
    assert names == sorted(f"excerpt-{s}.wav" for s in STEMS)


def test_context_menu_items_exist(browser):
    session = browser()
    session.open("popup/popup.html")
    # update() rejects for an id that was never created
    session.call("for (const id of args[0]) await ext.contextMenus.update(id, {});", ["demix-media", "demix-link"])
    with pytest.raises(RuntimeError):
        session.call("await ext.contextMenus.update('no-such-item', {});")


def test_audio_element_on_a_web_page_is_demixed(browser, tmp_path):
    """The menu's path: the <audio> element's source URL, fetched by the extension, demixed."""
    site = tmp_path / "site"
    site.mkdir()
    excerpt, rate = sf.read(DATA / "excerpt.flac", dtype="float32")
    sf.write(site / "song.ogg", excerpt[: rate * 6], rate, format="OGG", subtype="VORBIS")
    (site / "index.html").write_text('<!doctype html><title>Song</title><audio controls src="song.ogg"></audio>')
    server, base = serve_directory(site)
    try:
        session = browser()
        session.open_url(f"{base}/index.html")
        src = session.script("return document.querySelector('audio').currentSrc")
        assert src == f"{base}/song.ogg"
        session.open("popup/popup.html")
        session.call(START_URL_JOB, src, "song")
        job = finished_job(session)
        assert job["name"] == "song" and abs(job["durationS"] - 6.0) < 0.05
        assert session.click_all("button.download") == len(STEMS)
        paths = session.wait_downloads([f"song-{s}.wav" for s in STEMS])
        stems = [sf.read(p, dtype="float32")[0] for p in paths]
        assert all(np.sqrt(np.mean(s**2)) > 1e-3 for s in stems)  # both stems carry sound
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    ("page", "message"),
    [("missing.mp3", "404"), ("index.html", "is a web page (text/html), not audio")],
    ids=["404", "web-page"],
)
def test_a_bad_url_fails_with_a_clear_message_in_the_popup(browser, tmp_path, page, message):
    (tmp_path / "index.html").write_text("<!doctype html><title>Not a song</title><p>hello</p>")
    server, base = serve_directory(tmp_path)
    try:
        session = browser()
        session.open("popup/popup.html")
        session.call(START_URL_JOB, f"{base}/{page}", "bad")
        job = wait_for(lambda: [j for j in session.jobs() if j["state"] == "failed"], 60, what="failure")[0]
        assert message in job["error"], job["error"]
        shown = wait_for(
            lambda: session.script("return document.querySelector('li.job .error')?.textContent"),
            10,
            what="the error shown",
        )
        assert message in shown
    finally:
        server.shutdown()


def test_no_network_request_from_the_extension_during_a_local_demix(browser, tmp_path):
    """A proxy refuses and counts every request the browser sends anywhere; Chromium's NetLog
    also says which origin caused each one. During a whole local demix nothing may come from
    the extension; a positive control shows the counters do see the extension's requests."""
    proxy = CountingProxy()
    netlog = tmp_path / "netlog.json"
    extra = (f"--log-net-log={netlog}", "--net-log-capture-mode=Default") if browser.name == "chromium" else ()
    try:
        session = browser(proxy_port=proxy.port, extra_args=extra)
        session.open("page/page.html")
        before = len(proxy.requests)
        session.pick_file(DATA / "excerpt.flac")
        finished_job(session)
        assert session.click_all("button.download") == len(STEMS)
        session.wait_downloads([f"excerpt-{s}.wav" for s in STEMS])
        during = proxy.requests[before:]
        session.call("await fetch('http://demixer-network-probe.invalid/').catch(() => null);")
        wait_for(lambda: any("demixer-network-probe" in r for r in proxy.requests), 10, what="the probe")
        session.quit()
    finally:
        proxy.close()
    if browser.name == "chromium":
        ours = [(url, origin) for url, origin in network_requests(netlog) if origin == chromium_driver.ORIGIN]
        assert ours == [("http://demixer-network-probe.invalid/", chromium_driver.ORIGIN)]
    else:
        print("firefox requests during the demix:", during)
        assert during == []


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


def test_firefox_fetches_audio_behind_a_login_with_the_users_cookies(packaged, tmp_path):
    """A URL that needs the user's cookies (issue #5). Without a grant for its site the extension
    cannot read it (no CORS, no cookies: a clear message); with the grant the context menu asks
    for at the click, the fetch carries the user's cookie and the job finishes."""
    from tests.e2e.firefox import FirefoxSession

    site = LoginGatedMedia((DATA / "excerpt.flac").read_bytes())
    url = f"{site.base}/song.flac"
    xpi = next(packaged(Precision.INT8_WEIGHTS).glob("*-firefox.xpi"))
    session = FirefoxSession.start(xpi, tmp_path)
    try:
        session.open_url(f"{site.base}/login")  # the user signs in: the site sets its cookie
        session.open("popup/popup.html")
        session.call(START_URL_JOB, url, "members-only")
        failed = wait_for(lambda: [j for j in session.jobs() if j["state"] == "failed"], 60, what="failure")[0]
        assert f"Could not download the audio from {url.split('/')[2]}" in failed["error"], failed["error"]
        assert "session=member" not in str(site.cookies)  # nothing of the user's sent without a grant

        session.grant_origins("http://127.0.0.1/*")
        session.call(START_URL_JOB, url, "members-only")
        job = wait_for(lambda: [j for j in session.jobs() if j["state"] == "done"], 120, what="the job")[0]
        assert abs(job["durationS"] - 12.0) < 0.05, job
        assert "session=member" in (site.cookies[-1] or ""), site.cookies
    finally:
        session.quit()
        site.close()


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


def _long_song(tmp_path, repeats=5):
    excerpt, rate = sf.read(DATA / "excerpt.flac", dtype="float32")
    song = tmp_path / "long.flac"
    sf.write(song, np.tile(excerpt, (repeats, 1)), rate)
    return song


def _wait_running(session, min_fraction=0.0):
    def running():
        jobs = session.jobs()
        job = jobs and jobs[0]
        return job and job["state"] == "running" and (job.get("done", 0) / job.get("total", 1)) > min_fraction and job

    return wait_for(running, 120, interval=0.2, what="the job to run")


def test_background_stopped_mid_job_the_job_finishes_once(browser, tmp_path):
    """Chrome: the service worker is stopped mid-job (the offscreen document keeps working and
    the restarted worker catches up). Firefox: the event page, and with it the inference, is
    unloaded; the restarted page resumes the job from its stored input. Either way it finishes,
    once, and the popup shows it."""
    session = browser()
    session.open("page/page.html")
    session.pick_file(_long_song(tmp_path))
    _wait_running(session, 0.1)
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
    session.pick_file(_long_song(tmp_path, repeats=15))  # 3 minutes: the cancel lands mid-job
    job = _wait_running(session, 0.05)
    assert session.click_all("li.job button.cancel") == 1
    state = wait_for(lambda: (s := session.jobs()[0]["state"]) != "running" and s, 60, what="the job to stop")
    assert state == "cancelled"
    stored = stored_counts(session, job["id"])
    assert stored == {"inputs": 0, "chunks": 0, "stems": 0}


def test_two_jobs_queue_and_both_finish(browser, tmp_path):
    session = browser()
    session.open("page/page.html")
    session.pick_file(DATA / "excerpt.flac")
    session.pick_file(_long_song(tmp_path, repeats=2))
    wait_for(lambda: len(session.jobs()) == 2, 30, what="two jobs")

    def both_finished():
        states = [j["state"] for j in session.jobs()]
        return states if all(s in ("done", "failed", "cancelled") for s in states) else None

    assert wait_for(both_finished, 240, what="both jobs to finish") == ["done", "done"]


def test_stem_file_format_follows_the_setting(browser, tmp_path):
    session = browser()
    session.open("page/page.html")
    expected = {"pcm24": "PCM_24", "float32": "FLOAT"}
    for fmt in expected:
        session.script(
            "const s = document.getElementById('format'); s.value = arguments[0];s.dispatchEvent(new Event('change'));",
            fmt,
        )
        wait_for(
            lambda f=fmt: session.call("return (await ext.storage.local.get('settings')).settings?.format") == f, 10
        )
        song = tmp_path / f"{fmt}.flac"
        shutil.copy(DATA / "excerpt.flac", song)
        session.pick_file(song)
        wait_for(lambda f=fmt: any(j["name"] == f and j["state"] == "done" for j in session.jobs()), 120, what=fmt)
    assert session.click_all("button.download[data-stem='vocals']") == 2
    for fmt, subtype in expected.items():
        (path,) = session.wait_downloads([f"{fmt}-vocals.wav"])
        assert sf.info(path).subtype == subtype


def test_odd_and_bad_inputs_finish_or_fail_with_a_clear_message(browser, tmp_path):
    excerpt, rate = sf.read(DATA / "excerpt.flac", dtype="float32")
    files = tmp_path / "inputs"
    files.mkdir()
    flac = (DATA / "excerpt.flac").read_bytes()
    noise = np.random.default_rng(3).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    (files / "corrupt.flac").write_bytes(flac[:4] + noise)  # FLAC magic, then garbage
    (files / "notes.mp3").write_text("this is a shopping list, not a song\n" * 40)
    (files / "empty.wav").write_bytes(b"")
    sf.write(files / "blip.wav", excerpt[: rate // 10], rate)  # 0.1 s
    sf.write(files / "silence.wav", np.zeros((rate * 5, 2), dtype=np.float32), rate)
    sf.write(files / "mono.wav", excerpt[: rate * 5, 0], rate)
    sf.write(files / "phone.wav", excerpt[::5, 0][: 8000 * 5], 8000)  # any 8 kHz signal will do
    sf.write(files / "studio.flac", excerpt[: 96000 * 5], 96000)  # any 96 kHz signal will do
    surround = np.zeros((rate * 5, 6), dtype=np.float32)
    surround[:, :2] = excerpt[: rate * 5]
    surround[:, 2] = excerpt[: rate * 5].mean(axis=1)
    sf.write(files / "surround.wav", surround, rate)
    shutil.copy(DATA / "excerpt-aac.m4a", files / "aac.m4a")  # AAC-LC in MP4, 8 s
    expected = {
        "corrupt": ("failed", "could not be decoded"),
        "notes": ("failed", "could not be decoded"),
        "empty": ("failed", "empty"),
        "blip": ("done", (0.1, "streamed")),
        "silence": ("done", (5.0, "streamed")),
        "mono": ("done", (5.0, "streamed")),
        "phone": ("done", (5.0, "streamed")),  # resample.js
        "studio": ("done", (5.0, "streamed")),
        "surround": ("done", (5.0, "whole-file")),  # more than 2 channels: Web Audio's down-mix
        "aac": ("done", (8.0, "streamed")),  # the encoder's priming skipped (the MP4's edit list)
    }
    session = browser()
    session.open("page/page.html")
    # Every input through the streamed path where it can take it (long tracks' path; the
    # whole-file path is the one that short tracks take by default, tested above and below).
    session.call("await ext.storage.local.set({settings: {streamAboveS: 0}});")
    for path in sorted(files.iterdir()):
        session.pick_file(path)

    def all_finished():
        jobs = session.jobs()
        done = [j for j in jobs if j["state"] in ("done", "failed", "cancelled")]
        return len(jobs) == len(expected) and len(done) == len(jobs) and jobs

    jobs = {j["name"]: j for j in wait_for(all_finished, 300, what="every input handled")}
    for name, (state, detail) in expected.items():
        job = jobs[name]
        assert job["state"] == state, (name, job)
        if state == "failed":
            assert detail in job["error"], (name, job["error"])
        else:
            duration, decoder = detail
            assert abs(job["durationS"] - duration) < 0.01, (name, job["durationS"])
            assert job["decoder"] == decoder, (name, job)


def test_popup_reopened_mid_job_shows_progress_then_the_stems(browser, tmp_path):
    session = browser()
    session.open("page/page.html")
    session.pick_file(_long_song(tmp_path, repeats=15))  # 3 minutes: still running when we look
    _wait_running(session, 0.05)
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


def test_the_audio_track_of_a_video_file_is_separated(browser):
    """VP8 video + Opus audio (WebM): the stems are the audio's, with the video ignored."""
    session = browser()
    session.open("page/page.html")
    session.pick_file(DATA / "video-clip.webm")
    job = finished_job(session)
    assert job["name"] == "video-clip" and abs(job["durationS"] - 5.0) < 0.05, job
    assert session.click_all("button.download") == len(STEMS)
    paths = session.wait_downloads([f"video-clip-{s}.wav" for s in STEMS])
    stems = [sf.read(p, dtype="float32")[0] for p in paths]
    excerpt, _ = sf.read(DATA / "excerpt.flac", dtype="float32")
    mixture = excerpt[: len(stems[0])]
    # Opus is lossy and Spleeter drops the band above 11 kHz: the sum is close, not exact
    sdr = sdr_db(mixture, stems[0] + stems[1])
    print(f"{session.name} video: stems' sum vs the original audio SDR {sdr:.1f} dB")
    assert sdr > 10.0


@pytest.fixture(scope="session")
def three_hour_file(tmp_path_factory):
    """Three hours of (near) silence, 8 kHz mono Ogg Vorbis: 0.7 MB that decode to ~1.9 GB."""
    path = tmp_path_factory.mktemp("long") / "three-hours.ogg"
    block = np.zeros(8000 * 60, np.float32)
    with sf.SoundFile(path, "w", 8000, 1, format="OGG", subtype="VORBIS") as f:
        for _ in range(180):
            f.write(block)
    return path


def test_a_three_hour_file_is_refused_with_the_limit_named(browser, three_hour_file):
    """Refused from the duration its container declares, before decoding the whole track."""
    session = browser()
    session.open("page/page.html")
    started = time.monotonic()
    session.pick_file(three_hour_file)
    job = wait_for(lambda: [j for j in session.jobs() if j["state"] in ("failed", "done")], 120, what="refusal")[0]
    print(f"{session.name} 3-hour file refused after {time.monotonic() - started:.1f} s: {job.get('error')}")
    assert job["state"] == "failed"
    assert "180 minutes" in job["error"] and "limit is 75 minutes" in job["error"]
