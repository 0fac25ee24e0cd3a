"""A live capture as it is heard (the PulseAudio null sink of tests/e2e/heard.py), for the live
test and the live bench (scripts/bench_live.py): which stretch of the song each moment of the
recording is, whether every part of the song was heard (original first, then separated, which
repeats the last ``delay`` of it), how late the separated part was, and where the timeline jumped.

Times are reference (song) frames; a lag L says the recording's frame n is the song's n - L.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.e2e.heard import RATE, cross_lag, sdr

COARSE_S = 1.0  # windows located anywhere in the recording
SEARCH = 2048  # frames searched around a known lag (capture jumps are ~441)


@dataclass(frozen=True)
class Block:
    """One block of the song: where it was heard best (lag) and how well (SDR of that stretch)."""

    start: int
    lag: int
    sdr_db: float


def _located(heard: np.ndarray, ref: np.ndarray, around: int, search: int = SEARCH) -> tuple[int, float]:
    """The lag within ``search`` of ``around`` at which ``ref`` (starting at song frame 0 of its own)
    best fits ``heard``, and the SDR there; (around, -inf) outside the recording."""
    lo, hi = max(0, around - search), min(len(heard), around + len(ref) + search)
    if hi - lo < len(ref):
        return around, -np.inf
    local, _ = cross_lag(heard[lo:hi], ref, 2 * search)
    at = min(max(lo + local, lo), hi - len(ref))
    return at, sdr(ref, heard[at : at + len(ref)])


def coarse_lags(heard: np.ndarray, reference: np.ndarray, start: int, end: int) -> list[int]:
    """The lags at which 1-s windows of the song [start, end) were heard (searched over the whole
    recording), merged when within SEARCH of each other: the capture's timelines (the original as it
    came, the separated one ``delay`` later, and their small jumps)."""
    window = int(COARSE_S * RATE)
    lags: list[int] = []
    for s in range(start, end - window + 1, window):
        ref = reference[s : s + window]
        if np.sum(ref.astype(np.float64) ** 2) < 1e-6:
            continue
        at, _ = cross_lag(heard, ref, len(heard))
        if 0 <= at <= len(heard) - window and sdr(ref, heard[at : at + window]) > 0:
            lags.append(at - s)
    merged: list[int] = []
    for lag in sorted(lags):
        if not merged or lag - merged[-1] > SEARCH:
            merged.append(lag)
    return merged


def blocks_heard(heard: np.ndarray, reference: np.ndarray, start: int, end: int, block_s: float = 0.1) -> list[Block]:
    """Each ``block_s`` block of the song [start, end), found in the recording near any of its
    timelines (``coarse_lags``), at its best."""
    lags = coarse_lags(heard, reference, start, end)
    block = int(block_s * RATE)
    out = []
    for s in range(start, end - block + 1, block):
        ref = reference[s : s + block]
        best = (0, -np.inf)
        for lag in lags:
            at, value = _located(heard, ref, s + lag)
            if value > best[1]:
                best = (at - s, value)
        out.append(Block(s, *best))
    return out


def jumps(
    blocks: list[Block], lag: int, tolerance: int = 64, min_sdr_db: float = 10, search: int = 4096
) -> list[tuple[float, int]]:
    """(song seconds, frames) of each lasting change of lag (the next 3 well-placed blocks keep
    it) among blocks heard within ``search`` of ``lag`` (one timeline: the separated one, say): a
    change of the capture's timeline (> 0: the song heard later from there on, frames inserted or
    repeated; < 0: skipped). Blocks under
    ``min_sdr_db`` are not placed well enough to tell (a separated stem against its true stem:
    lower it)."""
    good = [b for b in blocks if b.sdr_db >= min_sdr_db and abs(b.lag - lag) <= search]
    out = []
    current = good[0].lag if good else 0
    for i, b in enumerate(good):
        following = good[i : i + 3]
        if len(following) == 3 and all(abs(f.lag - b.lag) <= tolerance for f in following):
            if abs(b.lag - current) > tolerance:
                out.append((b.start / RATE, b.lag - current))
            current = b.lag
    return out
