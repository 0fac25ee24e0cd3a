"""Endless streams whose headers say nothing (issue #34): real audio without a Content-Length,
recognised by the audio time the container brings (inference/audio-time.js), in Chromium and
Firefox with the default size limit (1 GB) and duration limit (75 minutes).

- (a) Ogg Vorbis at its own bitrate (128 kb/s) with ``icy-*`` headers that CORS hides (no host
  grant), (b) the same without them, (c) MP3 at 128 kb/s: each ends as a live stream once its
  audio has arrived at no more than 1.5x the speed it plays for the live window;
- (d) the same Ogg as fast as loopback sends it: ends at 75 minutes of audio;
- Cancel ends each within a second; a local file queued behind them completes; the profile's
  disk never grows by more than the audio bound's bytes + 10 %; nothing of them stays stored;
- a real 3-minute track without a length, at full speed and at 4x its own byte rate, is no
  stream: its stems match the native reference.

The live window is lowered from 60 s to WINDOW_S through the settings (`liveWindowS`), as
test_bad_urls lowers the size limit: the rule and its code path are the defaults'."""

from __future__ import annotations

import subprocess

import pytest
import soundfile as sf

from builder.validate import sdr_db
from models.spec import DEFAULT_PRECISION
from tests.conftest import DATA
from tests.e2e.conftest import STEMS, stored_counts, wait_for
from tests.e2e.servers import StreamSite
from tests.e2e.test_bad_urls import ENDED, DiskWatch, cancel_within_a_second, start_url_job

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WINDOW_S = 6
MAX_DURATION_S = 75 * 60
RADIO = "sad.ogg"  # 44.4 s of Ogg Vorbis at 128.5 kb/s
SONG = "loyalists.ogg"  # 179.5 s of Ogg Vorbis at 78.6 kb/s
LIVE = "This is a live stream: it plays without end, so it cannot be downloaded whole."
# What each browser offers instead (platform/<browser>/tab-capture.js liveStreamAdvice).
ADVICE = {
    "chromium": "choose “Demix this tab (live)”",
    "firefox": "right-click the player and choose “Demix this audio”",
}
SDR_FLOOR_DB = 30.0  # int8 browser vs native CLI, as test_separation


@pytest.fixture(scope="module")
def media(wesnoth_track, tmp_path_factory):
    """(ogg bytes, its seconds, mp3 bytes, song path, song seconds)."""
    radio = wesnoth_track(RADIO)
    mp3 = tmp_path_factory.mktemp("stream") / "radio.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(radio), "-c:a", "libmp3lame", "-b:a", "128k", str(mp3)],
        check=True, timeout=120,
    )  # fmt: skip
    song = wesnoth_track(SONG)
    return radio.read_bytes(), sf.info(radio).duration, mp3.read_bytes(), song, sf.info(song).duration


@pytest.fixture(scope="module")
def reference(native_stems, media):
    return native_stems(media[3], DEFAULT_PRECISION)


@pytest.fixture(scope="module")
def stream_site(media):
    ogg, _, mp3, song, song_s = media
    site = StreamSite(ogg, mp3, song.read_bytes(), song_s)
    yield site
    site.close()


def test_streams_end_by_their_audio_time(browser, tmp_path, media, stream_site):
    ogg, ogg_s, *_ = media
    # The audio bound in this stream's bytes: 75 minutes of the Ogg at its own rate (72 MB).
    bound_bytes = MAX_DURATION_S * len(ogg) / ogg_s
    session = browser()
    session.open("page/page.html")
    session.call("await ext.storage.local.set({settings: args[0]});", {"liveWindowS": WINDOW_S})
    advice = ADVICE[browser.name]
    # name: (its message, the least and the most seconds it may take)
    table = {
        "ogg-icy": (LIVE, WINDOW_S, WINDOW_S + 5),  # at least the window: the hidden ICY headers did not end it
        "ogg": (LIVE, WINDOW_S, WINDOW_S + 5),
        "mp3": (LIVE, WINDOW_S, WINDOW_S + 5),
        "ogg-fast": (f"sent more than {MAX_DURATION_S // 60} minutes of audio, the limit", 0, 30),
    }
    disk = DiskWatch(tmp_path / "profile")
    ids = {name: start_url_job(session, f"{stream_site.base}/{name}", name) for name in table}
    session.pick_file(DATA / "excerpt.flac")  # queued behind the streams

    def all_ended():
        jobs = session.jobs()
        return len(jobs) == len(table) + 1 and all(j["state"] in ENDED for j in jobs) and jobs

    jobs = {j["name"]: j for j in wait_for(all_ended, 150, what="every job to end")}
    peak, after = disk.growth()
    report = []
    for name, (message, least_s, most_s) in table.items():
        job = jobs[name]
        took = (job["updatedAt"] - job.get("startedAt", job["createdAt"])) / 1000
        report.append(f"{name}: {took:.1f} s, {job.get('done', 0) / 1e6:.1f} MB, {job.get('error')}")
        assert job["state"] == "failed", (name, job)
        assert message in job["error"] and advice in job["error"], (name, job["error"])
        assert least_s - 0.5 <= took <= most_s, (name, took)
        assert stored_counts(session, ids[name]) == {"inputs": 0, "chunks": 0, "stems": 0}, name
    print(f"\n{session.name}: " + "\n".join(report))
    print(f"profile growth: peak {peak / 1e6:.1f} MB, after {after / 1e6:.1f} MB; bound {bound_bytes / 1e6:.1f} MB")
    fast = jobs["ogg-fast"]
    assert bound_bytes <= fast["done"] < bound_bytes * 1.02, fast  # stopped at the bound, not the size limit
    assert jobs["excerpt"]["state"] == "done", jobs["excerpt"]
    assert peak < bound_bytes * 1.1, peak
    assert after < bound_bytes / 2, after  # the excerpt's input and stems (~8 MB) and the browser's own

    # Cancel ends each within a second (a long window and duration bound: none ends by itself).
    session.call("await ext.storage.local.set({settings: args[0]});", {"liveWindowS": 60, "maxDurationS": 10 * 3600})
    shows = r"\d+\.\d MB received, \d+:\d\d of audio"
    received = lambda j: j.get("done")  # noqa: E731
    waits = {
        name: cancel_within_a_second(session, f"{stream_site.base}/{name}", f"{name}-c", received, shows)
        for name in table
    }
    print("cancel:", {k: f"{v:.2f} s" for k, v in waits.items()})
    assert all(v <= 1.0 for v in waits.values()), waits


def test_a_song_without_a_length_is_no_stream(browser, media, stream_site, reference):
    """A finite 3-minute track without a length, at full speed and at 4x its own byte rate (45 s
    of download, many windows long): both complete, their stems those of the native CLI."""
    *_, song, song_s = media
    session = browser()
    session.open("page/page.html")
    session.call("await ext.storage.local.set({settings: args[0]});", {"liveWindowS": WINDOW_S})
    songs = {name: start_url_job(session, f"{stream_site.base}/{name}", name) for name in ("song", "song-4x")}

    def songs_ended():
        listed = [j for j in session.jobs() if j["name"] in songs]
        return len(listed) == 2 and all(j["state"] in ENDED for j in listed) and listed

    for job in wait_for(songs_ended, 400, what="the songs to end"):
        took = (job["updatedAt"] - job["startedAt"]) / 1000
        print(f"{session.name} {job['name']}: {job['state']} in {took:.1f} s, {job.get('error', '')}")
        assert job["state"] == "done", job
        assert abs(job["durationS"] - song_s) < 0.05, job
        assert session.click_all(f"li.job[data-job='{job['id']}'] button.download") == len(STEMS)
        paths = session.wait_downloads([f"{job['name']}-{s}.wav" for s in STEMS], timeout=120)
        for stem, path in zip(STEMS, paths, strict=True):
            ours, rate = sf.read(path, dtype="float32")
            native, _ = sf.read(reference / f"{song.stem}-{stem}.wav", dtype="float32")
            assert rate == 44100 and ours.shape == native.shape, (job["name"], stem, ours.shape)
            sdr = sdr_db(native, ours)
            print(f"{session.name} {job['name']} {stem}: browser vs native SDR {sdr:.1f} dB")
            assert sdr >= SDR_FLOOR_DB, (job["name"], stem, sdr)
