"""A live capture as it is heard (the PulseAudio null sink of tests/e2e/heard.py), for the live
test and the live bench (scripts/bench_live.py): which stretch of the song each moment of the
recording is, whether every part of the song was heard (original first, then separated, which
repeats the last ``delay`` of it), how late the separated part was, and where the timeline jumped.

Times are reference (song) frames; a lag L says the recording's frame n is the song's n - L.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

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


def jumps(blocks: list[Block], delay: int, tolerance: int = 64, min_sdr_db: float = 10) -> list[tuple[float, int]]:
    """(song seconds, frames) of each change of lag between consecutive well-heard blocks other
    than the switch from the original to the separated timeline (about ``delay`` frames): a skip
    (> 0: the song heard later) or a repeat of the capture's timeline. Blocks under ``min_sdr_db``
    are not placed well enough to tell (a separated stem against its true stem: lower it)."""
    good = [b for b in blocks if b.sdr_db >= min_sdr_db]
    out = []
    for a, b in pairwise(good):
        step = b.lag - a.lag
        if abs(step) > tolerance and abs(abs(step) - delay) > 4096:
            out.append((b.start / RATE, step))
    return out
