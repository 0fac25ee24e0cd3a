"""The heard-audio maths of tests/e2e/heard.py on signals whose answer is known: a recording
that is the reference delayed, with a 10-ms skip in the middle and a silent gap."""

import numpy as np

from tests.e2e.heard import RATE, aligned_windows, cross_lag, first_sound, silent_gaps


def _noise(frames: int, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((frames, 2)) * 0.1).astype(np.float32)


def test_windows_follow_a_skip_in_the_recording():
    reference = _noise(6 * RATE)
    delay, skip = 12_345, 441  # the recording starts late, then jumps 10 ms ahead at 3 s
    heard = np.zeros((8 * RATE, 2), np.float32)
    heard[delay : delay + 3 * RATE] = reference[: 3 * RATE]
    heard[delay + 3 * RATE : delay + 6 * RATE - skip] = reference[3 * RATE + skip :]
    lag, peak = cross_lag(heard[: 3 * RATE], reference[: 2 * RATE], RATE)
    assert lag == delay and peak > 0.5
    windows = aligned_windows(heard, reference, lag)
    assert [w.lag for w in windows[:3]] == [delay] * 3
    assert [w.lag for w in windows[4:]] == [delay - skip] * (len(windows) - 4)
    assert min(w.sdr_db for w in windows if w.start != 3 * RATE) > 100  # exact copies
    assert windows[3].sdr_db < 100  # the window holding the skip cannot fit whole


def test_silent_gaps_and_first_sound():
    x = _noise(2 * RATE)
    x[RATE : RATE + 2205] = 0  # 50 ms of silence
    gaps = silent_gaps(x)
    assert len(gaps) == 1 and abs(gaps[0][0] - 1.0) < 0.006 and abs(gaps[0][1] - 0.05) < 0.006
    x[: RATE // 2] = 0
    assert abs(first_sound(x) - 0.5) < 1e-3
