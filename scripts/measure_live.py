"""Live separation (builder/live.py) against offline, on real music mixed with a known voice.

    .venv/bin/python scripts/measure_live.py [--seconds 20] [--mixtures 4]

Mixtures: 20 s of wesnoth tracks (Debian's wesnoth-1.16-music: orchestral, no voice) plus speech
synthesised by espeak-ng (Debian's `espeak-ng`, not installed by `make setup`: the tests do not
need it; `apt-get install espeak-ng`) (several voices, pitches, speeds, and sentences of the Rainbow Passage),
mixed at equal RMS; the true stems are the voice (vocals) and the track (accompaniment). The
model is the int8 spleeter-2stems of dist/ (`make build`; its frame axis must be dynamic).

For the offline pipeline (512-frame patches) and every candidate live setting (window / hop /
look-ahead frames): mean SDR vs the true stems over [6 s, end - 0.5 s] of each mixture (the same
samples for all, after removing the live delay), and the model's compute: onnxruntime CPU, 2
threads, the median time of one window, the sizes timed in interleaved rounds so that load from
other processes falls on all alike; given as seconds of model time per second of audio and as a
ratio to offline's. latency_s = (hop + look-ahead + n_fft/n_hop - 1 frames) * n_hop / rate
(builder/live.py's latency plus the hop the caller buffers) + one window's compute.
Writes bench/live-sdr-<date>.json and prints the table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from builder.audio_io import load_audio, to_stereo  # noqa: E402
from builder.live import live_timing, separate_live  # noqa: E402
from builder.runtime import onnx_core  # noqa: E402
from builder.separate import separate  # noqa: E402
from builder.validate import sdr_db  # noqa: E402
from models import catalog  # noqa: E402
from models.spec import LiveSpec  # noqa: E402

MUSIC = Path("/usr/share/games/wesnoth/1.16/data/core/music")
TRACKS = ["battle.ogg", "knolls.ogg", "traveling_minstrels.ogg", "loyalists.ogg", "wanderer.ogg"]
VOICES = [("en-gb", 50, 160), ("en-us+f3", 70, 150), ("en-gb-scotland+m3", 40, 170), ("en-us+f2", 60, 140),
          ("en-gb-x-rp+m7", 35, 175)]  # fmt: skip
RAINBOW = [
    "When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow.",
    "The rainbow is a division of white light into many beautiful colors.",
    "These take the shape of a long round arch, with its path high above, and its two ends "
    "apparently beyond the horizon.",
    "There is, according to legend, a boiling pot of gold at one end.",
    "People look, but no one ever finds it.",
    "When a man looks for something beyond his reach, his friends say he is looking for the pot "
    "of gold at the end of the rainbow.",
    "Throughout the centuries people have explained the rainbow in various ways.",
    "Some have accepted it as a miracle without physical explanation.",
]
SETTINGS = [(256, 48, 0), (256, 64, 64), (256, 32, 32), (128, 32, 32), (256, 64, 0), (256, 32, 16), (192, 32, 32),
            (128, 16, 16), (128, 128, 0)]  # fmt: skip
RATE = 44100


def voice_track(index: int, seconds: float) -> np.ndarray:
    """Sentences in one espeak-ng voice with pauses, (nb_samples, 2) at RATE."""
    voice, pitch, speed = VOICES[index % len(VOICES)]
    rng = np.random.default_rng(index)
    parts, total = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        i = index
        while total < seconds * RATE:
            path = Path(tmp) / f"{i}.wav"
            text = RAINBOW[i % len(RAINBOW)]
            subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(path), text],
                           check=True)  # fmt: skip
            speech, rate = sf.read(path, dtype="float32")
            speech = soxr.resample(speech, rate, RATE)
            pause = np.zeros(int(rng.uniform(0.2, 1.0) * RATE), dtype=np.float32)
            parts += [speech, pause]
            total += len(speech) + len(pause)
            i += 1
    mono = np.concatenate(parts)[: int(seconds * RATE)]
    return np.stack([mono, mono], axis=1)


def mixture(index: int, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """(mix (nb_samples, 2), true stems (2, nb_samples, 2): vocals, accompaniment)."""
    audio = load_audio(MUSIC / TRACKS[index % len(TRACKS)])
    music = to_stereo(audio.waveform)
    if audio.sample_rate != RATE:
        music = soxr.resample(music, audio.sample_rate, RATE)
    start = 20 * RATE
    music = music[start : start + int(seconds * RATE)].astype(np.float32)
    voice = voice_track(index, seconds)
    voice *= np.sqrt(np.mean(music**2) / np.mean(voice**2))
    stems = np.stack([voice, music])
    peak = np.max(np.abs(stems.sum(axis=0)))
    if peak > 0.99:
        stems *= 0.99 / peak
    return stems.sum(axis=0), stems


def window_seconds(core, frame_counts: list[int], rounds: int) -> dict[int, float]:
    """Median time of one (1, 2, T, 1024) model run per T, in interleaved rounds."""
    rng = np.random.default_rng(0)
    inputs = {t: rng.gamma(0.5, 0.5, (1, 2, t, 1024)).astype(np.float32) for t in frame_counts}
    for t in frame_counts:
        core(inputs[t])  # warm-up: first-run allocations
    times: dict[int, list[float]] = {t: [] for t in frame_counts}
    for _ in range(rounds):
        for t in frame_counts:
            started = time.perf_counter()
            core(inputs[t])
            times[t].append(time.perf_counter() - started)
    return {t: statistics.median(v) for t, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--mixtures", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds")
    parser.add_argument("--settings", help="window/hop/look-ahead,... instead of the default list")
    parser.add_argument("--name", default="live-sdr", help="bench/<name>-<date>.json")
    args = parser.parse_args()
    settings = SETTINGS
    if args.settings:
        settings = [tuple(int(v) for v in item.split("/")) for item in args.settings.split(",")]
    if not shutil.which("espeak-ng"):
        sys.exit("espeak-ng is missing: apt-get install -y espeak-ng")
    spec = catalog.get("spleeter-2stems").spec
    models = ROOT / "dist" / "models"
    files = json.loads((models / "spleeter-2stems.json").read_text())["files"]
    core = onnx_core(models / files["int8-weights"]["file"], threads=2)
    frame_hop = spec.stft.n_hop / spec.sample_rate

    mixes = [mixture(i, args.seconds) for i in range(args.mixtures)]
    lo, hi = 6 * RATE, int((args.seconds - 0.5) * RATE)

    def scores(estimates: list[np.ndarray]) -> dict[str, float]:
        per_stem = {stem: float(np.mean([sdr_db(true[s, lo:hi], est[s, lo:hi]) for (_, true), est
                                         in zip(mixes, estimates, strict=True)]))
                    for s, stem in enumerate(spec.stems)}  # fmt: skip
        return {"mean": round(float(np.mean(list(per_stem.values()))), 3),
                **{k: round(v, 3) for k, v in per_stem.items()}}  # fmt: skip

    offline = scores([separate(mix, spec, core) for mix, _ in mixes])
    print(f"offline: {offline}", flush=True)
    rows = []
    for window, hop, lookahead in settings:
        live = LiveSpec(window, hop, lookahead)
        delay = live_timing(spec, live).latency_samples
        # The input is followed by `delay` samples of silence, to flush its end out of the stream.
        estimates = [separate_live(np.pad(mix, ((0, delay), (0, 0))), spec, live, core)[:, delay : delay + len(mix)]
                     for mix, _ in mixes]  # fmt: skip
        row = {"window_frames": window, "hop_frames": hop, "lookahead_frames": lookahead,
               "sdr_db": scores(estimates)}  # fmt: skip
        row["sdr_loss_db"] = round(offline["mean"] - row["sdr_db"]["mean"], 3)
        print(row, flush=True)
        rows.append(row)

    timed = window_seconds(core, sorted({512, *(w for w, _, _ in settings)}), args.rounds)
    offline_fraction = timed[512] / (512 * frame_hop)
    for row in rows:
        t = timed[row["window_frames"]]
        row["window_compute_s"] = round(t, 3)
        row["compute_fraction"] = round(t / (row["hop_frames"] * frame_hop), 3)
        row["compute_vs_offline"] = round(row["compute_fraction"] / offline_fraction, 2)
        overlap_frames = spec.stft.n_fft // spec.stft.n_hop - 1
        row["latency_s"] = round((row["hop_frames"] + row["lookahead_frames"] + overlap_frames) * frame_hop + t, 3)

    date = datetime.date.today().isoformat()
    mixtures = [{"track": TRACKS[i % len(TRACKS)], "from_s": 20, "seconds": args.seconds,
                 "voice": "espeak-ng -v {} -p {} -s {}".format(*VOICES[i % len(VOICES)])}
                for i in range(args.mixtures)]  # fmt: skip
    offline_row = {"sdr_db": offline, "window_compute_s": round(timed[512], 3),
                   "compute_fraction": round(offline_fraction, 3)}  # fmt: skip
    result = {
        "date": date,
        "model": "spleeter-2stems int8-weights (published weights)",
        "runtime": "onnxruntime (Python) CPU, 2 threads",
        "conditions": "shared 2-core machine with other engineers' browsers and builds running: "
        "compute figures are medians of interleaved rounds; compare them as ratios to offline",
        "mixtures": mixtures,
        "sdr_region_s": [lo / RATE, hi / RATE],
        "offline": offline_row,
        "live": rows,
    }
    out = ROOT / "bench" / f"{args.name}-{date}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\n{'window/hop/look-ahead':>22} {'SDR dB':>7} {'loss':>6} {'latency s':>9} {'compute':>8} {'x off':>6}")
    print(f"{'offline 512':>22} {offline['mean']:7.2f} {'':>6} {'':>9} {offline_fraction:8.3f} {1:6.2f}")
    for r in rows:
        name = f"{r['window_frames']}/{r['hop_frames']}/{r['lookahead_frames']}"
        print(f"{name:>22} {r['sdr_db']['mean']:7.2f} {r['sdr_loss_db']:6.2f} {r['latency_s']:9.2f} "
              f"{r['compute_fraction']:8.3f} {r['compute_vs_offline']:6.2f}")  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
