"""Issue #18, findings 3-5, in both browsers, one browser session each (three jobs):

* samples that are not sound (NaN, infinities, 1e30) become silence, are counted and reported;
  the stems are finite and, around a replaced sample, carry the music (they were digital
  silence for 8 s before, or NaN);
* names with bidi controls, zero-width characters and emoji give clean names in single
  downloads and in the zip's entries;
* a stem preview keeps playing while another job progresses (the list rebuilt every <audio>).
"""

from __future__ import annotations

import time
import zipfile

import numpy as np
import pytest
import soundfile as sf

from builder.validate import sdr_db
from tests.e2e.conftest import wait_for
from tests.e2e.servers import serve_directory

pytestmark = [pytest.mark.browser, pytest.mark.slow]
MUSIC = "/usr/share/games/wesnoth/1.16/data/core/music/loyalists.ogg"
RATE = 44100
STEMS = ("vocals", "accompaniment")
# A local file whose name holds a zero-width space, a line separator and an emoji ZWJ sequence;
# a link whose last segment holds U+202E (would display as "songexe.png" once unzipped).
CLEAN_FILE = "take\u200b one\u2028 \U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f3b8.wav"
CLEAN_JOB = CLEAN_FILE.removesuffix(".wav")  # the job keeps the user's name, files get the rule's
CLEAN_NAME = "take one \U0001f468\U0001f469\U0001f467 \U0001f3b8"
LINK_FILE = "song\u202egnp.exe.mp3"
LINK_PATH = "song%E2%80%AEgnp.exe.mp3"
LINK_JOB = "song\u202egnp.exe"  # as the menu names it (tab title, or the URL's last segment)
LINK_NAME = "songgnp.exe"
START_URL_JOB = (
    "const reply = await ext.runtime.sendMessage("
    "{target: 'background', type: 'start-url-job', data: {url: args[0], name: args[1]}});"
    "if (!reply.ok) throw new Error(reply.error);"
)


def job_named(session, name: str, states=("done", "failed", "cancelled"), timeout: float = 240) -> dict:
    last = []

    def found():
        last[:] = session.jobs()
        return next((j for j in last if j["name"] == name and j["state"] in states), None)

    try:
        return wait_for(found, timeout, what=f"job {name!r} in {states}")
    except TimeoutError as error:
        raise TimeoutError(f"{error}; jobs: {[(j['name'], j['state']) for j in last]}") from None


def download(session, job: dict, names: list[str]) -> list:
    session.script(
        "document.querySelectorAll(`li.job[data-job='${arguments[0]}'] button.download,"
        " li.job[data-job='${arguments[0]}'] button.download-all`).forEach((b) => b.click());",
        job["id"],
    )
    return session.wait_downloads(names)


def test_odd_samples_names_and_a_playing_preview(browser, tmp_path):
    music, rate = sf.read(MUSIC, dtype="float32", frames=60 * RATE)
    assert rate == RATE
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    sf.write(inputs / CLEAN_FILE, music, RATE, subtype="FLOAT")
    one_nan = music.copy()
    one_nan[30 * RATE, 0] = np.nan  # before: both stems digital silence from 26 to 34 s
    sf.write(inputs / "one nan.wav", one_nan, RATE, subtype="FLOAT")
    odd = music[: 12 * RATE].copy()  # before: PCM16 stems all zeros, float32 stems all NaN
    at = np.random.default_rng(18).choice(np.arange(4 * RATE, 7 * RATE), size=130, replace=False)
    odd[at[:100], 0] = np.nan
    odd[at[100:110], 1] = np.inf
    odd[at[110:120], 1] = -np.inf
    odd[at[120:], 0] = 1e30
    sf.write(inputs / LINK_FILE, odd, RATE, subtype="FLOAT", format="WAV")
    server, base = serve_directory(inputs)
    try:
        session = browser()
        session.open("page/page.html")
        session.pick_file(inputs / CLEAN_FILE)
        clean = job_named(session, CLEAN_JOB)
        assert clean["state"] == "done", clean

        # A preview plays (muted: autoplay needs no gesture then) while the next job separates.
        session.script(
            "const a = document.querySelector(`li.job[data-job='${arguments[0]}'] audio[data-stem='vocals']`);"
            "a.muted = true; a.dataset.marked = 'yes'; a.play();",
            clean["id"],
        )
        wait_for(lambda: session.script("return document.querySelector('audio[data-marked]')?.currentTime > 0"),
                 15, 0.2, "the preview to start")  # fmt: skip
        session.pick_file(inputs / "one nan.wav")
        running = job_named(session, "one nan", ("running",), 60)
        wait_for(lambda: (job_named(session, "one nan", ("running", "done"), 60).get("done") or 0) > 0,
                 60, 0.2, "the job's first progress")  # fmt: skip
        played = session.script("return document.querySelector('audio[data-marked]')?.currentTime ?? -1")
        seen = {running["updatedAt"]}
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            seen.add(job_named(session, "one nan", ("running", "done"), 60)["updatedAt"])
            time.sleep(0.3)
        now = session.script(
            "const a = document.querySelector('audio[data-marked]'); return a ? [a.currentTime, a.paused] : null"
        )
        print(f"{session.name}: preview {played:.2f} s -> {now}, {len(seen)} job updates meanwhile")
        assert len(seen) >= 2, "the other job did not progress during the check"
        assert now is not None, "the playing <audio> was replaced"
        assert now[0] - played > 2.0 and not now[1], (played, now)

        nan_job = job_named(session, "one nan")
        assert nan_job["state"] == "done", nan_job
        assert nan_job["replaced"] == {"notNumbers": 1, "outOfRange": 0}
        warning = "1 sample was not a number and was replaced by silence."
        shown = session.script(
            "return document.querySelector(`li.job[data-job='${arguments[0]}'] .warning`)?.textContent", nan_job["id"]
        )
        assert shown == warning

        session.call(START_URL_JOB, f"{base}/{LINK_PATH}", LINK_JOB)
        link = job_named(session, LINK_JOB)
        assert link["state"] == "done", link
        assert link["replaced"] == {"notNumbers": 120, "outOfRange": 10}

        expected = []
        for job, name in ((clean, CLEAN_NAME), (nan_job, "one nan"), (link, LINK_NAME)):
            names = [*(f"{name}-{s}.wav" for s in STEMS), f"{name}-stems.zip"]
            download(session, job, names)
            with zipfile.ZipFile(session.downloads / f"{name}-stems.zip") as archive:
                assert sorted(archive.namelist()) == sorted(names[:-1])
            expected += names
        # nothing else: no name the browser's own sanitiser had to change
        assert sorted(p.name for p in session.downloads.iterdir()) == sorted(expected)

        for stem in STEMS:
            reference, _ = sf.read(session.downloads / f"{CLEAN_NAME}-{stem}.wav", dtype="float64")
            around_nan, _ = sf.read(session.downloads / f"one nan-{stem}.wav", dtype="float64")
            odd_stem, _ = sf.read(session.downloads / f"{LINK_NAME}-{stem}.wav", dtype="float64")
            assert np.isfinite(odd_stem).all() and np.isfinite(around_nan).all()
            window = slice(26 * RATE, 34 * RATE)
            level = np.sqrt(np.mean(around_nan[window] ** 2))
            level_clean = np.sqrt(np.mean(reference[window] ** 2))
            sdr = sdr_db(reference, around_nan)
            odd_level = np.sqrt(np.mean(odd_stem[4 * RATE : 7 * RATE] ** 2))
            print(f"{session.name} {stem}: 26-34 s RMS {level:.2e} (clean {level_clean:.2e}), vs clean {sdr:.1f} dB; "
                  f"odd file 4-7 s RMS {odd_level:.2e}")  # fmt: skip
            assert sdr > 40  # one replaced sample changes the stems a little, not their music
        # Before: digital silence (exact zeros) from 26 to 34 s, and in the odd file. The track is
        # instrumental: its vocals stem is near silence anyway, its accompaniment is the music.
        around_nan = sf.read(session.downloads / "one nan-accompaniment.wav", dtype="float64")[0]
        odd_stem = sf.read(session.downloads / f"{LINK_NAME}-accompaniment.wav", dtype="float64")[0]
        for part in (around_nan[window], odd_stem[4 * RATE : 7 * RATE]):
            assert np.count_nonzero(part) > 0.99 * part.size and np.sqrt(np.mean(part**2)) > 0.01
    finally:
        server.shutdown()
