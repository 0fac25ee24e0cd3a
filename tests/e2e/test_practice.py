"""Key and tempo (issue 32) in both browsers, on a done job whose song is steady tones then a real
chord (tests/e2e/practice.py): Signalsmith Stretch's worklet and WASM load from the extension's
own files (the CSP refuses the library's blob: URL), and "Download this mix" (rendered offline by
the same worklet, ui/stretch-render.js) is at the asked key within 2 cents (the tones, and the
real chord's two strongest partials) and lasts the song's length over the tempo within 0.5 %."""

from __future__ import annotations

import pytest

from tests.e2e import practice as p
from tests.e2e.conftest import finished_job
from tests.e2e.mixer import download_mix, open_mixer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CENTS_TOLERANCE = 2.0
DURATION_TOLERANCE = 0.005
# The tone's onset-to-offset time in the render against the song's over the tempo: within 0.5 %
# or TONE_EDGE_S, whichever is larger. The stretcher's 200-ms block smears each edge by a few ms:
# measured on 2026-12-07, the 3-s tone at 25 % (12 s) -39.5 ms (-0.33 %) in Chromium, the 1.5-s
# tone at 200 % +14.4 ms (+0.96 %). The file's own length is checked to 0.5 %.
TONE_EDGE_S = 0.015
# The real chord's two strongest partials (G4 and G#4 of the choir, -0 and -10 dB); its weaker
# low ones (87, 133 Hz at -18 dB and below) move within the window and are printed, not judged.
CHORD_JUDGED = 2
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
    freqs, log_mag = p.spectrum(mix, (p.TONE_START + 0.5) / tempo, (p.TONE_END - 0.5) / tempo)
    return [p.cents(p.peak_hz(freqs, log_mag, hz * 2 ** (shift / 1200))[0], hz) - shift for hz in p.TONES_HZ]


def _tone_duration(mix, tempo: float) -> float:
    onset, offset = p.onset_offset(mix, 0, (p.TONE_END + 0.25) / tempo)
    return offset - onset


def test_key_and_tempo_of_the_exported_mix(browser, wesnoth_track, tmp_path):
    session = browser()
    session.open("page/page.html")
    song = tmp_path / "practice.flac"
    p.write_song(song, wesnoth_track)
    session.pick_file(song)
    jid = finished_job(session)["id"]
    open_mixer(session, jid)
    # the song's key and tempo: the plain sum, the reference for the real chord's peaks
    reference, rate = download_mix(session, jid, "practice-original.wav")
    assert rate == p.RATE and abs(len(reference) / p.RATE - p.SONG_S) < 0.01
    chord_window = (p.CHORD_AT + 0.5, p.CHORD_AT + p.CHORD_S - 0.5)
    chord = p.chord_peaks(reference, *chord_window)
    tone_s = _tone_duration(reference, 1)
    print(f"{session.name} reference: tones {_tone_cents(reference, 1, 0)} cents, chord peaks {chord} Hz")

    failed = []  # every setting measured and printed, then one verdict
    for semitones, fine in KEYS:
        _set(session, jid, "key", semitones)
        _set(session, jid, "cents", fine)
        shift = semitones * 100 + fine
        name = f"practice-original-key{'+' if shift > 0 else ''}{shift / 100:g}.wav"
        mix, _ = download_mix(session, jid, name)
        tones = _tone_cents(mix, 1, shift)
        target = [f * 2 ** (shift / 1200) for f in chord]
        freqs, log_mag = p.spectrum(mix, *chord_window)
        chord_errors = [p.cents(p.peak_hz(freqs, log_mag, f, 30)[0], f) for f in target]
        length = len(mix) / len(reference) - 1
        duration = _tone_duration(mix, 1) - tone_s
        figures = f"tones {[f'{c:+.2f}' for c in tones]}, chord {[f'{c:+.2f}' for c in chord_errors]} cents"
        print(f"{session.name} key {shift:+} cents: {figures}; length {length:+.4%}, tone {duration * 1000:+.1f} ms")
        if max(map(abs, tones + chord_errors[:CHORD_JUDGED])) > CENTS_TOLERANCE:
            failed.append(("key", shift, tones, chord_errors))
        if abs(length) > DURATION_TOLERANCE or abs(duration) > TONE_EDGE_S:
            failed.append(("key duration", shift, length, duration))
    _set(session, jid, "key", 0)
    _set(session, jid, "cents", 0)

    for percent in TEMPOS:
        tempo = percent / 100
        _set(session, jid, "tempo", percent)
        mix, _ = download_mix(session, jid, f"practice-original-tempo{percent}.wav")
        tones = _tone_cents(mix, tempo, 0)
        length = len(mix) / (len(reference) / tempo) - 1
        duration = _tone_duration(mix, tempo) - tone_s / tempo
        print(f"{session.name} tempo {percent} %: tones {[f'{c:+.2f}' for c in tones]} cents;"
              f" length {length:+.4%}, tone {duration * 1000:+.1f} ms")  # fmt: skip
        if max(map(abs, tones)) > CENTS_TOLERANCE:
            failed.append(("tempo", percent, tones))
        if abs(length) > DURATION_TOLERANCE or abs(duration) > max(TONE_EDGE_S, DURATION_TOLERANCE * tone_s / tempo):
            failed.append(("tempo duration", percent, length, duration))
    assert not failed, failed

    # the loop by keys at the playhead: [ at 0:00, five seconds on, ] (the mixer's listed shortcuts)
    mixer = f"details.mixer[data-job='{jid}']"
    for key in ("[", "ArrowRight", "]"):
        session.script(
            f"document.querySelector(`{mixer} .mixer-wave`).dispatchEvent("
            "new KeyboardEvent('keydown', {key: arguments[0], bubbles: true}));",
            key,
        )
    assert session.script(f"return document.querySelector(`{mixer} .mixer-practice`).dataset.loop") == "0 5"
    listed = session.script(f"return document.querySelector(`{mixer} .mixer-shortcuts`).textContent")
    assert "[ ]" in listed and "- =" in listed, listed
