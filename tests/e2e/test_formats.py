"""Stem files in every format and at the input's sample rate, in Chromium and Firefox: one job
per rate, downloaded in several formats from it (shared/encode-audio.js, ui/stem-files.js)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr

from builder.validate import sdr_db
from tests.conftest import DATA
from tests.e2e.conftest import STEMS, finished_job, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MUSIC = "/usr/share/games/wesnoth/1.16/data/core/music/battle.ogg"
SECONDS = 6
MP3_FLOOR_DB = 25.0
LAME_DELAY_MAX = 4000  # samples: LAME's encoder delay + its decoder's, without a gapless tag


def make_input(folder, rate: int, source=MUSIC):
    """A stereo excerpt of real music at `rate` (soxr, as the native CLI resamples)."""
    native = sf.info(source).samplerate
    start = 20 * native if source == MUSIC else 0
    music, _ = sf.read(source, dtype="float32", start=start, frames=SECONDS * native)
    path = folder / f"at{rate}.wav"
    sf.write(path, soxr.resample(music, native, rate), rate, subtype="PCM_16")
    return path


def choose(session, **settings):
    session.call(
        "const { settings } = await ext.storage.local.get('settings');"
        "await ext.storage.local.set({settings: {...settings, ...arguments[0]}});",
        settings,
    )


def download_stem(session, job_name: str, fmt: str, extension: str, stem: str = "vocals"):
    choose(session, format=fmt)
    session.script(
        "const row = [...document.querySelectorAll('li[data-job]')]"
        "  .find((li) => li.querySelector('.job-name').title === arguments[0]);"
        "row.querySelector(`.download[data-stem='${arguments[1]}']`).click();",
        job_name,
        stem,
    )
    (path,) = session.wait_downloads([f"{job_name}-{stem}.{extension}"], timeout=120)
    # moved out of the downloads, so that the next format's file of the same name keeps its name
    kept = path.parent.parent / f"kept-{job_name}-{stem}-{fmt}.{extension}"
    path.rename(kept)
    return kept


def aligned_sdr(reference: np.ndarray, decoded: np.ndarray) -> tuple[float, int]:
    """SDR after removing the codec's delay (found by cross-correlation of the left channels)."""
    n = len(reference) - LAME_DELAY_MAX
    best = max(
        range(LAME_DELAY_MAX), key=lambda lag: float(np.dot(reference[: n // 4, 0], decoded[lag : lag + n // 4, 0]))
    )
    length = min(len(reference), len(decoded) - best)
    return sdr_db(reference[:length], decoded[best : best + length]), best


def test_stems_in_every_format_at_the_input_rate(browser, tmp_path):
    session = browser()
    session.open("page/page.html")
    wait_for(lambda: session.script("return document.getElementById('format').dataset.ready") == "true", 30)
    offered = session.script(
        "return [...document.getElementById('format').options].map((o) => [o.value, !o.disabled, o.title]);"
    )
    print(f"{session.name}: formats offered {offered}")
    offered = {value: enabled for value, enabled, _ in offered}
    assert all(offered[f] for f in ("pcm16", "pcm24", "float32", "flac", "mp3"))

    # 48 kHz in, stems at 48 kHz (the default), downloaded as every format
    song = make_input(tmp_path, 48000, DATA / "excerpt.flac")  # a song with a voice
    session.pick_file(song)
    job = finished_job(session)
    name = job["name"]
    wav_path = download_stem(session, name, "pcm16", "wav")
    wav, rate = sf.read(wav_path, dtype="int16")
    assert rate == 48000 and sf.info(wav_path).subtype == "PCM_16"
    assert abs(len(wav) - SECONDS * 48000) <= 2, len(wav)
    sizes = {"pcm16": wav_path.stat().st_size}

    flac_path = download_stem(session, name, "flac", "flac")
    flac, flac_rate = sf.read(flac_path, dtype="int16")
    assert flac_rate == 48000 and flac.shape == wav.shape
    assert np.array_equal(flac, wav)  # lossless: the same 16-bit samples
    sizes["flac"] = flac_path.stat().st_size

    mp3_paths = {}
    for stem in STEMS:
        wav_file = wav_path if stem == "vocals" else download_stem(session, name, "pcm16", "wav", stem)
        reference, _ = sf.read(wav_file, dtype="float32")
        mp3_paths[stem] = mp3_path = download_stem(session, name, "mp3", "mp3", stem)
        mp3, mp3_rate = sf.read(mp3_path, dtype="float32")
        assert mp3_rate == 48000
        sdr, delay = aligned_sdr(reference, mp3)
        print(f"{session.name}: {stem} MP3 256 kb/s vs WAV {sdr:.1f} dB SDR (delay {delay} samples)")
        assert sdr >= MP3_FLOOR_DB, (stem, sdr)
    sizes["mp3"] = mp3_paths["vocals"].stat().st_size

    for fmt, subtype in (("pcm24", "PCM_24"), ("float32", "FLOAT")):
        path = download_stem(session, name, fmt, "wav")
        assert sf.info(path).subtype == subtype and sf.info(path).samplerate == 48000
        sizes[fmt] = path.stat().st_size
    if offered.get("opus"):
        # Known: Firefox names an Ogg download ".ogx" whatever the name given (it sniffs the type)
        path = download_stem(session, name, "opus", "ogx" if session.name == "firefox" else "opus")
        sizes["opus"] = path.stat().st_size
        assert path.read_bytes()[:4] == b"OggS"
    print(f"{session.name}: vocals, {SECONDS} s stereo at 48 kHz, bytes per format {sizes}")
    assert sizes["flac"] < sizes["pcm16"] * 0.8 and sizes["mp3"] < sizes["pcm16"] / 3

    # a format this browser cannot encode (Chromium builds without AAC, for one): the reason in
    # the job's row, and no file
    unsupported = [f for f, enabled in offered.items() if not enabled]
    if unsupported:
        choose(session, format=unsupported[0])
        session.click_all(".download[data-stem='vocals']")
        error = "return document.querySelector('.download-error:not([hidden])')?.textContent ?? ''"
        wait_for(lambda: session.script(error), 30, what="a download error")
        print(f"{session.name}: {unsupported[0]}: {session.script(error)}")
        assert "cannot encode" in session.script(error) or "no audio encoder" in session.script(error)

    # 22.05 kHz in: 22.05 kHz stems by default, 44.1 kHz when the setting says so
    choose(session, format="pcm16")
    for output_rate, expected in (("input", 22050), (44100, 44100)):
        choose(session, outputRate=output_rate)
        song = make_input(tmp_path, 22050).rename(tmp_path / f"low-{expected}.wav")
        session.pick_file(song)
        wait_for(
            lambda n=song.stem: any(j["name"] == n and j["state"] == "done" for j in session.jobs()),
            120,
            what=song.stem,
        )
        # the accompaniment: this music has no voice, its vocals stem is near silence
        path = download_stem(session, song.stem, "pcm16", "wav", "accompaniment")
        audio, rate = sf.read(path, dtype="float32")
        assert rate == expected and abs(len(audio) - SECONDS * expected) <= 2, (rate, len(audio))
        assert np.sqrt(np.mean(audio**2)) > 1e-3
