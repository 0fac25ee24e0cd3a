"""Live demixing in Chromium (issue #14): latency, underruns, model time over a long capture.

    .venv/bin/python scripts/bench_live.py [--minutes 10] [--dist dist] [--live W/H/L] [--conditions TEXT]
    .venv/bin/python scripts/bench_live.py --heard [--captures 10] [--dist dist] [--conditions TEXT]

--heard: short captures of a song already playing, as heard from the audio device (latency
p50/p95, the silence at the start, heard SDR vs the offline stems, the capture's jumps):
scripts/bench_live_heard.py, bench/live-YYYY-MM-DD.json. Without it:

A loopback page plays wesnoth music (Debian's wesnoth-1.16-music, tracks joined) with a click
(a 2 ms full-scale burst) every CLICK_EVERY_S seconds; "Demix this tab" captures it with the
Original preset (the stems summed: the click passes through) and keeps what it played.

* latency_s: per click, its time in what was played minus its time in what was captured (both
  recorded by the offscreen document, in render frames), plus the AudioContext's own output and
  base latency (the device's; ~0 headless). The median over the clicks.
* underruns: episodes in which the playback worklet played the original because the stems were
  late; dropped_hops: hops skipped to catch up (inference/live.js).
* cpu_fraction: model (separator.process) time / audio time.
* cpu_by_minute: the same per minute of the capture (does the model's share grow?);
  run_fraction: the onnxruntime run's share alone (the rest is the STFT/iSTFT on the page's thread).
* load_average: /proc/loadavg's 1-minute figure at the start and at the end (other processes).
* --live W/H/L: bench a copy of the extension whose descriptor says this live setting instead.
* --margin-factor F: and whose inference/live.js sets MARGIN_FACTOR = F (the margin's multiple
  of the window's compute; A/B runs of a margin without a rebuild).
* hop_stats: per hop, separator.process's median / p95 / max, the most audio waiting beyond a hop
  when it started, the least slack before its first frame played and how many hops were late
  (inference/live-timing.js): an underrun from one long hop or from a queue.
* sdr_loss_db: from scripts/measure_live.py's bench/live-sdr-*.json (the newest), the row of the
  descriptor's live setting: mean SDR of live stems vs the true stems, minus offline's.

Writes bench/live-YYYY-MM-DD-W-H-L[SUFFIX].json (the setting's frames; --suffix for A/B runs).
Figures are from whatever else the machine runs: say so.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from builder.audio_io import load_audio  # noqa: E402
from builder.package import CHROME_ID  # noqa: E402
from tests.e2e.chromium import ChromiumSession  # noqa: E402
from tests.e2e.live_scripts import LIVE_STATE, START_LIVE, read_stem_bytes  # noqa: E402
from tests.e2e.servers import serve_directory  # noqa: E402

RATE = 44100
CLICK_EVERY_S = 20
TRACKS = ["loyalists.ogg", "nunc_dimittis.ogg", "elvish-theme.ogg", "knolls.ogg", "heroes_rite.ogg"]
MUSIC = Path("/usr/share/games/wesnoth/1.16/data/core/music")
PAGE = '<!doctype html><title>Bench</title><audio src="song.wav" autoplay></audio>'


def make_song(seconds: float) -> np.ndarray:
    parts, total = [], 0
    for index in range(len(TRACKS) * 100):
        if total >= seconds * RATE:
            break
        audio = load_audio(MUSIC / TRACKS[index % len(TRACKS)]).waveform  # [nb_samples, 2] at 44.1 kHz
        parts.append(0.5 * audio)
        total += len(audio)
    song = np.concatenate(parts)[: int(seconds * RATE)].astype(np.float32)
    # A noise floor of a few LSB: the gaps between tracks are digital silence, which pauses the
    # capture (inference/live-silence.js) and would cut the recorded mix the clicks are timed in.
    song += np.random.default_rng(0).normal(0, 1e-4, song.shape).astype(np.float32)
    for at in range(5 * RATE, len(song), CLICK_EVERY_S * RATE):
        song[at : at + RATE // 500] = 1.0  # 2 ms
    return song


def read_pcm(session, job_id: str, key: str, seconds: float) -> np.ndarray:
    """The first ``seconds`` of a stored 16-bit stereo WAV record."""
    raw = read_stem_bytes(session, job_id, key, 44 + int(seconds * RATE) * 4)
    pcm = np.frombuffer(raw[44 : 44 + (len(raw) - 44) // 4 * 4], dtype="<i2").reshape(-1, 2)
    return pcm.astype(np.float32) / 32768


def click_starts(audio: np.ndarray) -> list[int]:
    """First sample of each click: samples above 0.9 full scale (the music is mixed at half scale),
    a new click when more than a second from the previous one."""
    hits = np.flatnonzero(np.abs(audio).max(axis=1) > 0.9)
    return [int(h) for i, h in enumerate(hits) if i == 0 or h - hits[i - 1] > RATE]


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--conditions", default="", help="what else the machine ran (recorded with the figures)")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--live", help="window/hop/look-ahead frames instead of the descriptor's")
    parser.add_argument("--suffix", default="", help="appended to the file name (A/B runs of one setting)")
    parser.add_argument("--margin-factor", type=float, help="MARGIN_FACTOR instead of live.js's")
    parser.add_argument("--heard", action="store_true", help="captures as heard (scripts/bench_live_heard.py)")
    parser.add_argument("--captures", type=int, default=10, help="with --heard: how many")
    args = parser.parse_args()
    if args.heard:
        from scripts.bench_live_heard import run

        print(f"wrote {run(args.captures, args.dist.resolve(), args.conditions)}")
        return
    seconds = args.minutes * 60
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        extension = (args.dist / "chrome").resolve()
        if args.live or args.margin_factor:
            extension = Path(tmp) / "chrome"
            shutil.copytree(args.dist / "chrome", extension)
        if args.margin_factor:
            code = extension / "inference" / "live.js"
            text, count = re.subn(r"const MARGIN_FACTOR = [0-9.]+;", f"const MARGIN_FACTOR = {args.margin_factor};",
                                  code.read_text())  # fmt: skip
            if count != 1:
                raise SystemExit(f"{code} has no MARGIN_FACTOR constant to replace")
            code.write_text(text)
        if args.live:
            descriptor = json.loads((extension / "models" / "model.json").read_text())
            window, hop, lookahead = (int(v) for v in args.live.split("/"))
            descriptor["live"] = {"windowFrames": window, "hopFrames": hop, "lookaheadFrames": lookahead}
            (extension / "models" / "model.json").write_text(json.dumps(descriptor))
        site = Path(tmp) / "site"
        site.mkdir()
        song = make_song(seconds + 30)
        sf.write(site / "song.wav", song, RATE, subtype="PCM_16")
        (site / "index.html").write_text(PAGE)
        server, base = serve_directory(site)
        session = ChromiumSession.start(
            extension, Path(tmp),
            [f"--allowlisted-extension-id={CHROME_ID}", "--autoplay-policy=no-user-gesture-required"],
        )  # fmt: skip
        try:
            session.open_url(f"{base}/index.html")
            time.sleep(1)
            session.driver.switch_to.new_window("tab")
            session.open("popup/popup.html")
            job_id = session.call(START_LIVE, True)["jobId"]
            started = time.monotonic()
            while time.monotonic() - started < seconds:
                time.sleep(5)
                live = session.call(LIVE_STATE)
                if live and live.get("ended"):
                    raise SystemExit(f"the capture ended early: {live}")
            session.call("await ext.runtime.sendMessage({target: 'background', type: 'stop-live', data: {}});")
            for _ in range(120):
                live = session.call(LIVE_STATE)
                if live and live.get("ended"):
                    break
                time.sleep(1)
            health = live["health"]
            # What was captured and what was played, the first minute of each.
            span = min(60.0, seconds)
            mix = read_pcm(session, job_id, "recorded-mix", span)
            played = read_pcm(session, job_id, "live-output", span + health["delayFrames"] / RATE)
        finally:
            session.quit()
            server.shutdown()

    played_clicks = click_starts(played)
    lags = []
    for at in click_starts(mix):
        near = [p - at for p in played_clicks if abs(p - at - health["delayFrames"]) < RATE // 2]
        if near:
            lags.append(near[0])
    device_s = health["latencyS"] - health["delayFrames"] / RATE
    latency = float(np.median(lags)) / RATE + device_s if lags else None

    # The row of the descriptor's live setting, from the newest measure_live.py file that has it.
    if args.live:
        setting = [int(v) for v in args.live.split("/")]
    else:
        model = json.loads((args.dist / "chrome" / "models" / "model.json").read_text())["live"]
        setting = [model["windowFrames"], model["hopFrames"], model["lookaheadFrames"]]
    sdr_loss, sdr_source = None, None
    for path in sorted((ROOT / "bench").glob("live-sdr-*.json"), key=lambda p: p.stat().st_mtime):
        for row in json.loads(path.read_text())["live"]:
            if [row["window_frames"], row["hop_frames"], row["lookahead_frames"]] == setting:
                sdr_loss, sdr_source = row["sdr_loss_db"], path.name
    result = {
        "date": datetime.date.today().isoformat(),
        "browser": "Chromium 156 headless (no audio device)",
        "minutes": args.minutes,
        "latency_s": round(latency, 3) if latency is not None else None,
        "latency_clicks": len(lags),
        "latency_click_lags_frames": lags,
        "underruns": health["underruns"],
        "fallback_s": round(health["fallbackS"], 3),
        "dropped_hops": health["droppedHops"],
        "cpu_fraction": round(health["cpuFraction"], 3),
        "cpu_by_minute": health.get("cpuByMinute"),
        "run_fraction": round(health.get("runFraction", 0), 3),
        "margin_s": health.get("marginS"),
        "margin_factor": args.margin_factor,
        "hop_stats": health.get("hopStats"),
        "sdr_loss_db": sdr_loss,
        "sdr_loss_source": sdr_source,
        "live_setting_frames": setting,
        "health": health,
        "conditions": args.conditions,
        "load_average": [load_before, load_average()],
    }
    out = ROOT / "bench" / f"live-{result['date']}-{'-'.join(map(str, setting))}{args.suffix}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "health"}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
