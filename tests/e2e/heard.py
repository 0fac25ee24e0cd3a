"""What a user hears, recorded: a PulseAudio daemon with a null sink as the machine's audio device
(both browsers play into it once ``PULSE_SERVER`` names it, headless Chromium included), ``parec``
on the sink's monitor, and the maths to compare the recording with what should have been heard
(per-window alignment, SDR, silent gaps).

The recording and the reference do not share a clock: the browser's output reaches the sink
after its own buffering, and capture timelines jump by a few milliseconds now and then. So every
comparison aligns window by window (``aligned_windows``) instead of once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 44100
CHANNELS = 2
SINK = "heard"


@dataclass
class AudioServer:
    """A running PulseAudio daemon whose default sink is a null sink named ``SINK``."""

    socket: Path
    env: dict[str, str]

    def record(self, path: Path) -> Recording:
        """Start recording what reaches the sink into ``path`` (raw float32 stereo at ``RATE``)."""
        return Recording.start(self, path)

    def pactl(self, *args: str) -> str:
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, check=True).stdout


@contextmanager
def audio_server(home: Path) -> Iterator[AudioServer]:
    """Start a PulseAudio daemon with a float32 null sink in ``home``; sets ``PULSE_SERVER`` in
    this process's environment (browsers started inside the block inherit it) and restores it."""
    if not shutil.which("pulseaudio") or not shutil.which("parec"):
        raise RuntimeError("pulseaudio and parec are needed to hear the browser (Makefile APT_PKGS: pulseaudio)")
    home.mkdir(parents=True, exist_ok=True)
    socket = home / "socket"
    env = {**os.environ, "HOME": str(home), "PULSE_RUNTIME_PATH": str(home), "PULSE_SERVER": f"unix:{socket}"}
    daemon = subprocess.Popen(
        [
            "pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "-n", "--disallow-exit",
            # float32 at the browsers' own rate: nothing in the sink quantizes or resamples
            f"--load=module-null-sink sink_name={SINK} rate={RATE} format=float32le channels={CHANNELS}",
            f"--load=module-native-protocol-unix auth-anonymous=1 socket={socket}",
        ],
        env={k: v for k, v in env.items() if k != "PULSE_SERVER"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    before = os.environ.get("PULSE_SERVER")
    try:
        deadline = time.monotonic() + 15
        while not socket.exists():
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the PulseAudio daemon did not start")
            time.sleep(0.05)
        server = AudioServer(socket, env)
        server.pactl("set-default-sink", SINK)
        os.environ["PULSE_SERVER"] = env["PULSE_SERVER"]
        yield server
    finally:
        if before is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = before
        daemon.terminate()
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()


@dataclass
class Recording:
    """``parec`` writing the sink's monitor to a file. ``started`` is ``time.monotonic()`` when
    parec was launched (its first frame comes some milliseconds later: not a precise clock)."""

    process: subprocess.Popen
    path: Path
    started: float

    @classmethod
    def start(cls, server: AudioServer, path: Path) -> Recording:
        out = path.open("wb")
        started = time.monotonic()
        process = subprocess.Popen(
            ["parec", f"--device={SINK}.monitor", "--format=float32le", f"--rate={RATE}",
             f"--channels={CHANNELS}", "--raw", "--latency-msec=10"],
            env=server.env, stdout=out, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        out.close()
        return cls(process, path, started)

    def calibrate(self, polls: int = 15, every_s: float = 0.02) -> float:
        """Set ``started`` to when the recording's first frame was taken, from what parec has
        written so far (the earliest of now - frames/RATE over a few polls: a write can only come
        late, never early), within its latency (10 ms) and a write's; returns it."""
        deadline = time.monotonic() + 5
        while len(self.frames()) == 0:
            assert time.monotonic() < deadline, "parec recorded nothing"
            time.sleep(0.005)
        estimates = []
        for _ in range(polls):
            estimates.append(time.monotonic() - len(self.frames()) / RATE)
            time.sleep(every_s)
        self.started = min(estimates)
        return self.started

    def frames(self) -> np.ndarray:
        """What was recorded so far, (frames, channels) float32."""
        data = np.fromfile(self.path, dtype=np.float32)
        usable = len(data) - len(data) % CHANNELS
        return data[:usable].reshape(-1, CHANNELS)

    def stop(self) -> np.ndarray:
        """Stop recording; all frames recorded, (frames, channels) float32."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        return self.frames()


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Plain SDR in dB, 10 log10(|s|^2 / |s - ŝ|^2), no scaling (the project's definition)."""
    error = np.sum((reference.astype(np.float64) - estimate) ** 2)
    return float(10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / max(error, 1e-20)))


def _mono(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=1) if x.ndim == 2 else x


def cross_lag(heard: np.ndarray, reference: np.ndarray, max_lag: int) -> tuple[int, float]:
    """The lag L in [-max_lag, max_lag] that best fits heard[n] ≈ reference[n - L] (so L > 0:
    heard later), by the normalised cross-correlation of the mono signals, and its peak (-1..1)."""
    h, r = _mono(heard).astype(np.float64), _mono(reference).astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(h) + len(r))))
    corr = np.fft.irfft(np.fft.rfft(h, size) * np.conj(np.fft.rfft(r, size)), size)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([corr[: max_lag + 1], corr[size - max_lag :]])
    best = int(np.argmax(values))
    norm = np.sqrt(np.sum(h**2) * np.sum(r**2)) or 1.0
    return int(lags[best]), float(values[best] / norm)


@dataclass(frozen=True)
class Window:
    """One window of the reference, where it was found in the recording and how well it fits."""

    start: int  # first reference frame of the window
    lag: int  # recording frame = reference frame + lag
    correlation: float
    sdr_db: float


def aligned_windows(
    heard: np.ndarray, reference: np.ndarray, lag: int, window: int = RATE, search: int = 2048
) -> list[Window]:
    """Each ``window``-frame window of ``reference`` found in ``heard`` within ``search`` frames of
    ``lag`` (the global lag, e.g. from ``cross_lag`` over a long stretch), with its SDR at that
    alignment. Windows that fall outside the recording are left out. Silent reference windows
    get SDR -inf unless the recording is silent there too (then +inf is avoided: 100 dB)."""
    out = []
    for start in range(0, len(reference) - window + 1, window):
        lo = start + lag - search
        hi = start + lag + window + search
        if lo < 0 or hi > len(heard):
            continue
        ref = reference[start : start + window]
        local, corr = cross_lag(heard[lo:hi], ref, 2 * search)
        at = lo + local
        at = min(max(at, lo), hi - window)
        est = heard[at : at + window]
        energy = float(np.sum(ref.astype(np.float64) ** 2))
        value = sdr(ref, est) if energy > 1e-12 else (100.0 if np.sum(est**2) < 1e-12 else -np.inf)
        out.append(Window(start, at - start, corr, value))
    return out


def silent_gaps(
    x: np.ndarray, rate: int = RATE, block_ms: float = 5.0, floor_db: float = -60.0
) -> list[tuple[float, float]]:
    """(start_s, length_s) of each run of ``block_ms`` blocks whose RMS is below ``floor_db`` dBFS,
    longest first. A block of digital near-silence in music is a gap in what was heard."""
    block = max(1, int(rate * block_ms / 1000))
    frames = len(x) // block
    if frames == 0:
        return []
    energy = np.sqrt(np.mean(_mono(x[: frames * block]).reshape(frames, block) ** 2, axis=1))
    quiet = energy < 10 ** (floor_db / 20)
    gaps = []
    run = 0
    for i, q in enumerate([*quiet, False]):
        if q:
            run += 1
        elif run:
            gaps.append(((i - run) * block / rate, run * block / rate))
            run = 0
    return sorted(gaps, key=lambda g: -g[1])


def first_sound(x: np.ndarray, rate: int = RATE, floor_db: float = -50.0) -> float | None:
    """Seconds into ``x`` of its first sample above ``floor_db`` dBFS, or None."""
    loud = np.flatnonzero(np.abs(_mono(x)) > 10 ** (floor_db / 20))
    return float(loud[0] / rate) if len(loud) else None
