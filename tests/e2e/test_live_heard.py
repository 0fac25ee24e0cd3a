"""Live (issue #33), Chromium, as heard: "Demix this tab" on a video site's song that is already
playing, recorded from the machine's audio device (a PulseAudio null sink, tests/e2e/heard.py).

The user hears the tab itself until the capture mutes it, then the original passed through by
the live path while the model finishes starting, then (cross-faded) the separated stems, which
repeat the last ``delay`` of what was heard: no silence, and no part of the song missing. The
popup opens first (as the keyboard command opens it), which loads and warms the model.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from tests.e2e.conftest import wait_for
from tests.e2e.heard import RATE, first_sound, silent_gaps
from tests.e2e.live_heard import blocks_heard
from tests.e2e.live_scripts import LIVE_STATE, START_LIVE
from tests.e2e.mixer import axe_violations
from tests.e2e.test_live import read_wav, wait_ended, wait_live
from tests.e2e.test_mixer import _shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AFTER_SWITCH_S = 8  # separated audio listened to
START_GAP_S = 0.2  # measured 0.13 s: Chromium's part, and the device's buffer
GLITCH_S = 0.1


def test_a_capture_of_playing_media_is_heard_without_a_gap_and_loses_no_second(heard, video_site, chromium, tmp_path):
    base, clips = video_site
    clip = clips["song-webm"]
    session = chromium
    recording = heard.record(tmp_path / "heard.f32")
    session.open_url(f"{base}/player.html?clip=song-webm&autoplay=1")
    wait_for(lambda: session.script("return player.state().time") > 3, 30, what="the song to play")
    music = session.driver.current_window_handle
    session.driver.switch_to.new_window("tab")
    session.open("popup/popup.html")  # as the key press opens it: the model starts loading
    asked = time.monotonic() - recording.started
    started = session.call(START_LIVE, True)
    live = wait_live(session)
    assert live["jobId"] == started["jobId"]
    switched = wait_for(lambda: session.call(LIVE_STATE)["health"].get("switchedS"), 30, what="the separated audio")
    # The popup's mixer shows which preset is on (the levels at start: Original).
    pressed = "return [...document.querySelectorAll('.live-preset')].map((b) => b.getAttribute('aria-pressed'))"
    assert wait_for(lambda: session.script(pressed), 10, what="the presets") == ["false", "false", "true"]
    time.sleep(AFTER_SWITCH_S)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        _shot(session, "popup-live")
    assert not axe_violations(session), "popup during a capture"
    health = session.call(LIVE_STATE)["health"]
    session.driver.switch_to.window(music)
    song_s = session.script("return player.state().time")
    frames = recording.stop()
    session.driver.switch_to.window(session.driver.window_handles[-1])
    assert session.click_all("#live-stop") == 1
    wait_ended(session)
    print(
        "live health:",
        {k: health.get(k) for k in ("latencyS", "delayFrames", "switchedS", "openS", "underruns", "hops")},
    )
    print(f"capture asked for {asked:.2f} s into the recording")
    if os.environ.get("LIVE_HEARD_KEEP"):
        np.save(os.environ["LIVE_HEARD_KEEP"], frames)
    job = wait_for(lambda: next((j for j in session.jobs() if j["id"] == started["jobId"]), None), 30, what="job")
    rendered = read_wav(session, job["id"], "live-output")

    # What the live path rendered (the playback worklet's own recording) is never silent, but for
    # zeros in the tab's stream itself: Chromium's capture pads a late buffer with them when the
    # machine is busy (0.085 s seen at load 6 on 2 cores; none idle).
    gaps = silent_gaps(rendered[RATE // 10 :])
    assert not gaps or gaps[0][1] <= GLITCH_S, gaps[:3]
    # Heard from the song's first sound on: the one long gap is the capture's start, where Chromium
    # mutes the tab ~0.1 s before its stream delivers the tab's audio (that audio is never
    # delivered: the stream's first frames are zeros) and this device's buffer (~0.05 s); the
    # others are the audio device's own glitches when the machine is busy (up to 0.09 s on the
    # shared 2-core machine; none idle).
    first = first_sound(frames)
    assert first is not None, "nothing was heard"
    gaps = silent_gaps(frames[int(first * RATE) : len(frames) - RATE // 20])
    print("longest heard gaps (s into the recording):", [(round(first + a, 3), round(b, 3)) for a, b in gaps[:3]])
    muted = [g for g in gaps if abs(first + g[0] - asked) < 8]
    assert muted and muted[0][1] <= START_GAP_S, (asked, gaps[:3])
    mute_at = first + muted[0][0]
    others = [g for g in gaps if g is not muted[0]]
    assert not others or others[0][1] <= GLITCH_S, others[:3]

    # Every 0.1 s of the song from 1 s to what the separated timeline had reached is in the
    # recording, but for what the capture's start lost.
    delay = health["delayFrames"]
    end = int(song_s * RATE) - delay - RATE // 2
    blocks = blocks_heard(frames, clip.mixture, RATE, end)
    early = float(np.median([b.lag for b in blocks[:10]]))
    lost_from = mute_at - early / RATE  # song time at the mute
    at_mute = [b for b in blocks if lost_from - 0.1 <= b.start / RATE <= lost_from + START_GAP_S]
    assert len(blocks) >= 10 * (end / RATE - 1) - 1 and len(at_mute) <= 4
    # Every second of the song is heard: all of its 10 blocks well but 2 at most (a glitch of the audio
    # device on a busy machine spoils a block or two; the mute's blocks are Chromium's loss).
    seconds = {}
    for b in blocks:
        if b not in at_mute:
            seconds.setdefault(b.start // RATE, []).append(b.sdr_db >= 6)
    worst = min(seconds.items(), key=lambda kv: sum(kv[1]) - len(kv[1]))
    heard_well = sum(sum(v) for v in seconds.values()) / sum(len(v) for v in seconds.values())
    print(f"song 1-{end / RATE:.1f} s: {heard_well:.1%} of 0.1-s blocks heard well, {len(at_mute)} at the mute "
          f"({lost_from:.2f} s); worst second {worst[0]}: {sum(worst[1])}/{len(worst[1])}")  # fmt: skip
    assert sum(worst[1]) >= len(worst[1]) - 2, worst
    # Original first, then separated: the song's last seconds were heard `delay` later than its first.
    late = float(np.median([b.lag for b in blocks[-10:]]))
    print(f"heard lag {early / RATE:.3f} s before the capture, {late / RATE:.3f} s at the end; switch {switched:.2f}")
    assert abs((late - early) - delay) < 0.15 * RATE, (early, late, delay)
