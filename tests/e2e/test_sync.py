"""Sync mode (issue #30), Chromium and Firefox: "Karaoke in sync" on the loopback video site (fragmented
MP4/AAC DASH segments appended as hls.js does; Firefox also WebM/Opus), judged from what is heard
(a PulseAudio null sink, tests/e2e/heard.py).

What the test holds the extension to, and how it measures it:
* Karaoke: what is heard once the stems play, window by window (1 s, each aligned on its own),
  against the offline accompaniment of the very audio the extension decoded (its media
  timeline, read from the offscreen document; separated by the native CLI, int8 like the
  extension's model).
* Offset: the element's own sound is the reference. For a few seconds the test unmutes the tab,
  so the recording holds the element's mixture and the extension's stems together; the voice is
  only in the element's part, so the true vocals (the clip's) locate the element's sound, and the
  accompaniment, after the element's mixture is subtracted at that lag, locates the stems. Both
  lags are from the same seconds of the same recording (no capture jump between them); the
  method's own error is the lags' spread across pieces of that stretch.
* Silent gaps from the first sound to the end: printed, not asserted (the 50-ms goal is not met
  yet: see the end of the test).
* The site's Play button is clicked (a user gesture); the browser has no autoplay flag.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf

from builder.demix import DemixOptions, separate_file
from models.spec import DEFAULT_PRECISION
from tests.e2e import sync_scenario as sc
from tests.e2e.heard import aligned_windows, cross_lag, first_sound, silent_gaps

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RATE = 44100
CLIP_S = 40
UNMUTED = (19.0, 23.0)  # seconds after Play during which the tab is unmuted (the reference)


def locate(heard: np.ndarray, reference: np.ndarray, start: int, length: int, guess: int, search: int):
    """Where frames [start, start + length) of ``reference`` are in ``heard``, within ``search`` of
    ``start + guess``: (recording frame - reference frame, correlation)."""
    lo = start + guess - search
    lag, correlation = cross_lag(heard[lo : lo + length + 2 * search], reference[start : start + length], 2 * search)
    return lo + lag - start, correlation


# Firefox: the same fMP4/AAC clip (AAC decoded by its WebCodecs, FFmpeg's decoder underneath on
# Linux), and the WebM/Opus one (48 kHz: resampled to the model's 44.1 kHz by resample.js).
# Firefox's HTMLMediaElement.currentTime moves in steps of ~40 ms (measured on 153 ESR,
# 2026-12-08: 73 distinct values in 3 s of play, residual vs a linear fit +-18 ms at p5/p95), so a
# report is 0-40 ms stale and the player's anchor lands anywhere in that window: the offset
# median was 8.2, 19.9 and 31.1 ms in three runs. Until the player filters the element's
# reports (synced-player.js, being reworked on main), the Firefox offset is expected to fail
# about one run in three.
FIREFOX_CLOCK_STEPS = pytest.mark.xfail(
    strict=False, reason="Firefox's currentTime steps (~40 ms) move the anchor: offset 8-31 ms run to run"
)
# 2 of 4 runs of the WebM/Opus clip: Firefox stopped answering Marionette (a 360-s socket
# timeout) at the test's tabs.update unmute, 19 s into play; never seen with the MP4 clip. Cause
# not found yet; skipped so that a hang does not cost CI 6 minutes.
FIREFOX_OPUS_UNMUTE_HANG = pytest.mark.skip(
    reason="Firefox hangs at the test's unmute on the WebM/Opus clip (2 of 4 runs)"
)
CASES = [
    ("chromium", "song-mp4"),
    pytest.param("firefox", "song-mp4", marks=FIREFOX_CLOCK_STEPS),
    pytest.param("firefox", "song-webm", marks=[FIREFOX_CLOCK_STEPS, FIREFOX_OPUS_UNMUTE_HANG]),
]


@pytest.mark.parametrize(("browser", "name"), CASES)
def test_karaoke_in_sync_is_the_offline_accompaniment_in_step_with_the_element(
    browser, name, packaged, built, heard, video_site, tmp_path
):
    base, clips = video_site
    clip = clips[name]
    url = f"{base}/player.html?clip={name}"
    session = sc.start_browser(browser, packaged(), tmp_path, base)
    try:
        tabs = sc.open_site_and_panel(session, url)
        sc.mark_page(session, tabs)
        sc.start_sync(session, tabs, url)
        deadline = time.monotonic() + 60
        while not ((state := sc.reloaded_state(session, tabs)) and state["appends"] >= 4):
            assert time.monotonic() < deadline, "the tab did not reload and append"
            time.sleep(0.3)
        recording = heard.record(tmp_path / "heard.f32")
        time.sleep(0.5)
        sc.click_play(session, tabs)
        played = time.monotonic()
        marks = {}
        for at, muted in ((UNMUTED[0], False), (UNMUTED[1], True), (CLIP_S + 2, None)):
            time.sleep(max(0.0, played + at - time.monotonic()))
            if muted is not None:
                sc.set_muted(session, tabs, muted)
            marks[at] = time.monotonic() - recording.started
            print("at", at, "sync state", sc.sync_state(session, tabs))
        audio = recording.stop()
        health = sc.host_health(session, tabs)
        print("host health", health)
        original = sc.read_timeline(session, tabs, "original", 0, CLIP_S * RATE)
        assert sc.sync_state(session, tabs)["firstSoundAt"] > 0
    finally:
        session.quit()
    assert health["skipped"] == 0 and health["relaySkipped"] == 0, health
    assert health["separatedToS"] >= CLIP_S - 0.1, health  # the whole clip separated, to its end

    # The decoded audio is the clip (same media timeline: decoded[n] == clip[n - decoded_lag]).
    decoded_lag, fit = cross_lag(original[2 * RATE : 30 * RATE], clip.mixture[2 * RATE : 30 * RATE], 4096)
    assert fit > 0.999 and abs(decoded_lag) <= 2, (decoded_lag, fit)

    sf.write(tmp_path / "original.wav", original, RATE, subtype="FLOAT")
    separate_file(
        tmp_path / "original.wav", tmp_path / "stems", built / "models", DemixOptions(precision=DEFAULT_PRECISION)
    )
    accompaniment = sf.read(tmp_path / "stems" / "original-accompaniment.wav", dtype="float32")[0]

    # Karaoke: the stems' stretches around the unmuted seconds (before 10 s, the first patches
    # are not ready on this machine and the original plays; the unmuted seconds hold the element
    # too). The search is wide: a mute moves Chrome's element clock by tens of ms, and the player
    # follows it (synced-player.js).
    lag, _ = cross_lag(audio, accompaniment, len(audio) - 1)
    windows = aligned_windows(audio, accompaniment, lag, window=RATE, search=8192)
    heard_at = lambda w: (w.start + w.lag) / RATE  # noqa: E731
    judged = [
        w for w in windows
        if (10 < heard_at(w) < marks[UNMUTED[0]] - 0.5 or heard_at(w) > marks[UNMUTED[1]] + 1.5)
        and w.start / RATE < CLIP_S - 1.5
    ]  # fmt: skip
    sdrs = np.array([w.sdr_db for w in judged])
    print("karaoke SDR per window", np.round(sdrs, 1).tolist())
    assert len(judged) >= 15
    assert np.median(sdrs) >= 25, sdrs

    # Offset: over the unmuted seconds, the element's sound (located by the voice, which only it
    # plays) and the stems (located in what is left once the element's decoded mixture is taken
    # out at its lag). Frames: decoded n is clip n - decoded_lag; the recording holds the stems'
    # frame n at n + stems and the element's at n + element.
    guess = int(np.median([w.lag for w in windows if abs(heard_at(w) - marks[UNMUTED[0]] + 2) < 1.5]))
    search, piece = RATE // 10, int(0.8 * RATE)
    u0, u1 = marks[UNMUTED[0]] + 0.8, marks[UNMUTED[1]] - 0.2
    offsets, leftover_voice = [], []
    for k in range(int((u1 - u0) * RATE) // piece):
        n0 = int(u0 * RATE) + k * piece - guess
        element = locate(audio, clip.vocals, n0 - decoded_lag, piece, guess + decoded_lag, search)[0] - decoded_lag
        residual = np.zeros_like(audio)
        residual[n0 + element : n0 + element + piece] = (
            audio[n0 + element : n0 + element + piece] - original[n0 : n0 + piece]
        )
        stems = locate(residual, accompaniment, n0 + search, piece - 2 * search, element, search)[0]
        offsets.append((stems - element) / RATE * 1000)
        # how well the element was taken out: the voice left in the residual
        leftover_voice.append(
            cross_lag(
                residual[n0 + element : n0 + element + piece],
                clip.vocals[n0 - decoded_lag : n0 - decoded_lag + piece],
                64,
            )[1]
        )
    print("offset of the stems from the element's sound, ms, per piece:", np.round(offsets, 1).tolist())
    print("voice left after taking the element out (correlation):", np.round(leftover_voice, 3).tolist())
    assert len(offsets) >= 3
    assert abs(np.median(offsets)) <= 20, offsets

    # Gaps: measured, not held yet. Issue #30 asks for none over 50 ms; the player still drops
    # what it scheduled when a report is 250 ms off (a stall report, readyState < 3), and restarts
    # 0.15 s later: 0.18-0.28 s gaps in the run of 2026-12-07. Printed for the report.
    start = first_sound(audio)
    assert start is not None
    end = int((marks[CLIP_S + 2] - 2.5) * RATE)
    gaps = silent_gaps(audio[int(start * RATE) : end])
    print("longest silent gaps (s, s) [goal <= 0.05 s, not met yet]", gaps[:3])
