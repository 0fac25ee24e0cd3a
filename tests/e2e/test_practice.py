"""Key and tempo (issue 32) in both browsers, on a done job whose song is steady tones then a real
chord (tests/e2e/practice.py): Signalsmith Stretch's worklet and WASM load from the extension's
own files (the CSP refuses the library's blob: URL), and "Download this mix" (rendered offline by
the same worklet, ui/stretch-render.js) is at the asked key within 2 cents and lasts the song's
length over the tempo within 0.5 %."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import finished_job
from tests.e2e.mixer import download_mix, open_mixer
from tests.e2e.practice import (
    CHORD_AT, CHORD_S, RATE, SONG_S, TONE_END, TONE_START, TONES_HZ, cents, chord_peaks, onset_offset, peak_hz,
    spectrum, write_song,
)  # fmt: skip

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CENTS_TOLERANCE = 2.0
DURATION_TOLERANCE = 0.005
KEYS = [(-12, 0), (-5, 0), (3, 0), (12, 0), (0, 17)]  # (semitones, cents)
TEMPOS = [25, 75, 150, 200]  # %


def _set(session, job_id: str, control: str, value: float) -> None:
    """Move a practice slider as a user does (its value, then its input event)."""
    session.script(
        f"const input = document.querySelector(`details.mixer[data-job='{job_id}'] .mixer-{control}`);"
        "input.value = String(arguments[0]); input.dispatchEvent(new Event('input', {bubbles: true}));",
        value,
    )


def _tone_cents(mix, tempo: float, shift: float) -> list[float]:
    """Each steady tone's error in cents against its frequency shifted by `shift` cents, measured
    over the middle 2 s of the tone (in the render's time)."""
    freqs, log_mag = spectrum(mix, (TONE_START + 0.5) / tempo, (TONE_END - 0.5) / tempo)
    return [cents(peak_hz(freqs, log_mag, hz * 2 ** (shift / 1200))[0], hz) - shift for hz in TONES_HZ]


def _tone_duration(mix, tempo: float) -> float:
    onset, offset = onset_offset(mix, 0, (TONE_END + 0.25) / tempo)
    return offset - onset


def test_key_and_tempo_of_the_exported_mix(browser, wesnoth_track, tmp_path):
    session = browser()
    session.open("page/page.html")
    song = tmp_path / "practice.flac"
    write_song(song, wesnoth_track)
    session.pick_file(song)
    jid = finished_job(session)["id"]
    open_mixer(session, jid)
    # the song's key and tempo: the plain sum, the reference for the real chord's peaks
    reference, rate = download_mix(session, jid, "practice-original.wav")
    assert rate == RATE and abs(len(reference) / RATE - SONG_S) < 0.01
    chord_window = (CHORD_AT + 0.5, CHORD_AT + CHORD_S - 0.5)
    chord = chord_peaks(reference, *chord_window)
    tone_s = _tone_duration(reference, 1)
    print(f"{session.name} reference: tones {_tone_cents(reference, 1, 0)} cents, chord peaks {chord} Hz")

    for semitones, fine in KEYS:
        _set(session, jid, "key", semitones)
        _set(session, jid, "cents", fine)
        shift = semitones * 100 + fine
        name = f"practice-original-key{'+' if shift > 0 else ''}{shift / 100:g}.wav"
        mix, _ = download_mix(session, jid, name)
        tones = _tone_cents(mix, 1, shift)
        target = [f * 2 ** (shift / 1200) for f in chord]
        freqs, log_mag = spectrum(mix, *chord_window)
        chord_errors = [cents(peak_hz(freqs, log_mag, f, 30)[0], f) for f in target]
        length = len(mix) / len(reference) - 1
        duration = _tone_duration(mix, 1) / tone_s - 1
        print(f"{session.name} key {shift:+} cents: tones {[f'{c:+.2f}' for c in tones]}, chord"
              f" {[f'{c:+.2f}' for c in chord_errors]} cents; length {length:+.4%}, tone {duration:+.4%}")  # fmt: skip
        assert max(map(abs, tones)) <= CENTS_TOLERANCE, (shift, tones)
        assert max(map(abs, chord_errors)) <= CENTS_TOLERANCE, (shift, chord_errors)
        assert abs(length) <= DURATION_TOLERANCE and abs(duration) <= DURATION_TOLERANCE, (shift, length, duration)
    _set(session, jid, "key", 0)
    _set(session, jid, "cents", 0)

    for percent in TEMPOS:
        tempo = percent / 100
        _set(session, jid, "tempo", percent)
        mix, _ = download_mix(session, jid, f"practice-original-tempo{percent}.wav")
        tones = _tone_cents(mix, tempo, 0)
        length = len(mix) / (len(reference) / tempo) - 1
        duration = _tone_duration(mix, tempo) / (tone_s / tempo) - 1
        print(f"{session.name} tempo {percent} %: tones {[f'{c:+.2f}' for c in tones]} cents;"
              f" length {length:+.4%}, tone {duration:+.4%}")  # fmt: skip
        assert max(map(abs, tones)) <= CENTS_TOLERANCE, (percent, tones)
        assert abs(length) <= DURATION_TOLERANCE and abs(duration) <= DURATION_TOLERANCE, (percent, length, duration)
