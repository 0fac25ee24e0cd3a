"""Live demixing in Chromium as heard (issue #33): captures started on a song already playing,
recorded from the machine's audio device (a PulseAudio null sink, tests/e2e/heard.py).

    .venv/bin/python scripts/bench_live.py --heard [--captures 10] [--dist dist] [--conditions TEXT]

The song: 40 s of wesnoth's loyalists.ogg with a known espeak-ng voice, WebM/Opus DASH segments
played through MediaSource by the loopback video site (tests/e2e/video_site.py). Each capture:
the player page is loaded and plays for 3 s, the popup opens (which warms the model), "Demix this
tab" starts, Karaoke is pressed once the separated audio plays, and the recording runs to 36 s of
the song. Per capture (tests/e2e/live_heard.py):

* added_latency_s: how much later the song's last seconds were heard than its first (the tab's
  own playback, before the capture): what the live path adds. stated_latency_s: the popup's.
* start_gap_s: the silence heard where the capture mutes the tab; lost_s: song time not heard.
* heard_sdr_db / offline_sdr_db: SDR vs the true accompaniment over 1-s windows of the Karaoke
  part (each aligned on its own), of what was heard and of the native CLI's offline stems of the
  same decoded audio; delta_db = heard - offline (goal >= -0.5).
* jumps: the capture's timeline jumps seen in what was heard (frames: > 0 inserted or repeated, < 0 skipped).
* underruns, dropped_hops, hop_stats: the extension's own health.

Writes bench/live-YYYY-MM-DD.json. Timings: run alone (/work/helpers/heavy bench ...).
"""

from __future__ import annotations

import datetime
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from builder.demix import DemixOptions, separate_file
from builder.package import CHROME_ID
from tests.e2e.chromium import ChromiumSession
from tests.e2e.heard import RATE, aligned_windows, audio_server, first_sound, silent_gaps
from tests.e2e.live_heard import blocks_heard, jumps
from tests.e2e.live_scripts import LIVE_STATE, START_LIVE
from tests.e2e.servers import serve_directory
from tests.e2e.video_site import make_clip

ROOT = Path(__file__).resolve().parent.parent
MUSIC = Path("/usr/share/games/wesnoth/1.16/data/core/music")
PLAY_BEFORE_S = 3
UNTIL_SONG_S = 36


def wait(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def switched(session) -> float:
    """When the capture's separated audio began (render seconds), 0 before."""
    live = session.call(LIVE_STATE) or {}
    return (live.get("health") or {}).get("switchedS") or 0.0


def spread(values: list[float]) -> dict:
    return {"p50": round(float(np.percentile(values, 50)), 3), "p95": round(float(np.percentile(values, 95)), 3),
            "min": min(values), "max": max(values)}  # fmt: skip


def decoded_song(folder: Path, tmp: Path) -> np.ndarray:
    """The clip's audio track as the browser decodes it (init + segments, decoded by ffmpeg)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    track = next(t for t in manifest["tracks"].values() if t["type"].startswith("audio"))
    joined = tmp / "audio.webm"
    with joined.open("wb") as out:
        for name in [track["init"], *(s["url"] for s in track["segments"])]:
            out.write((folder / name).read_bytes())
    wav = tmp / "decoded.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(joined), "-ar", str(RATE), "-ac", "2", str(wav)],
                   check=True)  # fmt: skip
    return sf.read(wav, dtype="float32")[0]


def one_capture(session, base: str, recording_path: Path, server, clip, screenshot: Path | None) -> dict:
    music, panel = session.driver.window_handles
    session.driver.switch_to.window(music)
    recording = server.record(recording_path)
    session.open_url(f"{base}/player.html?clip={clip.name}&autoplay=1")
    wait(lambda: session.script("return player.state().time") > PLAY_BEFORE_S, 30, "the song")
    session.driver.switch_to.window(panel)
    asked = time.monotonic() - recording.started
    session.open("popup/popup.html")
    job = session.call(START_LIVE, False)["jobId"]
    wait(lambda: switched(session), 60, "the separated audio")
    karaoke_at = time.monotonic() - recording.started
    assert session.click_all('button.live-preset[data-preset="Karaoke"]') == 1
    session.driver.switch_to.window(music)
    wait(lambda: session.script("return player.state().time") > UNTIL_SONG_S, 60, "the song's end")
    song_s = session.script("return player.state().time")
    session.driver.switch_to.window(panel)
    if screenshot:
        screenshot.write_bytes(session.screenshot("body"))
    live = session.call(LIVE_STATE)
    frames = recording.stop()
    session.call("await ext.runtime.sendMessage({target: 'background', type: 'stop-live', data: {}});")
    wait(lambda: (session.call(LIVE_STATE) or {}).get("ended"), 60, "the capture to end")
    assert live["jobId"] == job
    return {"frames": frames, "health": live["health"], "asked": asked, "karaoke_at": karaoke_at, "song_s": song_s}


def analyse(capture: dict, clip, offline_acc: np.ndarray) -> dict:
    frames, health = capture["frames"], capture["health"]
    delay = health["delayFrames"]
    first = first_sound(frames) or 0.0
    gaps = silent_gaps(frames[int(first * RATE) : len(frames) - RATE // 20])
    start_gap = next((g for g in gaps if abs(first + g[0] - capture["asked"]) < 10), None)
    # Where each 0.1 s of the song was heard (the mixture before Karaoke: the original timeline).
    karaoke_song_s = capture["karaoke_at"] - 2.5  # the Karaoke click, in song time (at most)
    end = int(capture["song_s"] * RATE) - delay - RATE // 2
    blocks = blocks_heard(frames, clip.mixture, RATE, int(karaoke_song_s * RATE))
    direct = float(np.median([b.lag for b in blocks[:10]]))
    lost = sum(0.1 for b in blocks if b.sdr_db < 6)
    # The Karaoke part: the true accompaniment found in what was heard, 1-s windows.
    k0 = int((capture["karaoke_at"] + 1.0) * RATE)  # recording frame from which Karaoke is heard
    sep_lag = int(direct) + delay
    song_from = max(k0 - sep_lag, RATE)
    ref = clip.accompaniment[song_from:end]
    windows = [w for w in aligned_windows(frames, ref, song_from + sep_lag, window=RATE, search=4096)
               if np.isfinite(w.sdr_db)]  # fmt: skip
    # the offline stems of the same decoded audio, windows aligned the same way
    offline = {w.start: w.sdr_db for w in aligned_windows(offline_acc[song_from:], ref, 0, window=RATE, search=512)}
    heard_sdr = [w.sdr_db for w in windows if w.start in offline]
    offline_sdr = [offline[w.start] for w in windows if w.start in offline]
    late = float(np.median([w.lag - song_from for w in windows[-5:]]))
    seen = jumps(blocks_heard(frames, clip.accompaniment, song_from, end), sep_lag, min_sdr_db=4)
    return {
        "stated_latency_s": round(health["latencyS"], 3),
        "added_latency_s": round((late - direct) / RATE, 3),
        "start_gap_s": round(start_gap[1], 3) if start_gap else 0.0,
        "other_gaps_s": [round(g[1], 3) for g in gaps if g is not start_gap][:3],
        "lost_s": round(lost, 2),
        "switched_s": round(health.get("switchedS", 0), 3),
        "heard_sdr_db": round(float(np.mean(heard_sdr)), 2),
        "offline_sdr_db": round(float(np.mean(offline_sdr)), 2),
        "delta_db": round(float(np.mean(heard_sdr) - np.mean(offline_sdr)), 2),
        "windows": len(heard_sdr),
        "jumps": [(round(t, 2), n) for t, n in seen],
        "underruns": health["underruns"],
        "dropped_hops": health["droppedHops"],
        "open_s": health.get("openS"),
        "hop_stats": health.get("hopStats"),
    }


def run(captures: int, dist: Path, conditions: str) -> Path:
    load_before = float(Path("/proc/loadavg").read_text().split()[0])
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        clip = make_clip(tmp / "site", "song-webm", "webm", MUSIC / "loyalists.ogg", 20, 40)
        decoded = decoded_song(clip.folder, tmp)
        sf.write(tmp / "song.wav", decoded, RATE, subtype="FLOAT")
        separate_file(tmp / "song.wav", tmp / "offline", dist / "models", DemixOptions())
        offline_acc = sf.read(next((tmp / "offline").glob("*accompaniment*.wav")), dtype="float32")[0]
        http, base = serve_directory(tmp / "site")
        with audio_server(tmp / "pulse") as server:
            args = [f"--allowlisted-extension-id={CHROME_ID}", "--autoplay-policy=no-user-gesture-required"]
            session = ChromiumSession.start(dist / "chrome", tmp, args)
            try:
                session.driver.switch_to.new_window("tab")
                shot = ROOT / "docs" / "screenshots" / "popup-live.png"
                for index in range(captures):
                    capture = one_capture(
                        session, base, tmp / f"heard-{index}.f32", server, clip, shot if index == 0 else None
                    )
                    row = analyse(capture, clip, offline_acc)
                    print(index, json.dumps({k: v for k, v in row.items() if k != "hop_stats"}), flush=True)
                    rows.append(row)
            finally:
                session.quit()
                http.shutdown()
    result = {
        "date": datetime.date.today().isoformat(),
        "browser": "Chromium 156 headless, PulseAudio null sink",
        "captures": captures,
        "song": "loyalists.ogg 20-60 s + espeak-ng voice, WebM/Opus DASH via MediaSource (tests/e2e/video_site.py)",
        "added_latency_s": spread([r["added_latency_s"] for r in rows]),
        "stated_latency_s": spread([r["stated_latency_s"] for r in rows]),
        "start_gap_s": spread([r["start_gap_s"] for r in rows]),
        "lost_s_max": max(r["lost_s"] for r in rows),
        "heard_sdr_db_mean": round(float(np.mean([r["heard_sdr_db"] for r in rows])), 2),
        "offline_sdr_db_mean": round(float(np.mean([r["offline_sdr_db"] for r in rows])), 2),
        "delta_db_mean": round(float(np.mean([r["delta_db"] for r in rows])), 2),
        "jumps_seen": sum(len(r["jumps"]) for r in rows),
        "jumps_bridged": 0,  # not bridged yet (issue #33)
        "underruns": sum(r["underruns"] for r in rows),
        "dropped_hops": sum(r["dropped_hops"] for r in rows),
        "rows": rows,
        "conditions": conditions,
        "load_average": [load_before, float(Path("/proc/loadavg").read_text().split()[0])],
    }
    out = ROOT / "bench" / f"live-{result['date']}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))
    return out
