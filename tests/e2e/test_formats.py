"""Stem files in every format and at the input's sample rate, in Chromium and Firefox: one job
per rate, downloaded in several formats from it (shared/encode-audio.js, ui/stem-files.js)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr

from builder.validate import sdr_db
from tests.e2e.conftest import finished_job, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MUSIC = "/usr/share/games/wesnoth/1.16/data/core/music/battle.ogg"
SECONDS = 8
MP3_FLOOR_DB = 25.0
LAME_DELAY_MAX = 4000  # samples: LAME's encoder delay + its decoder's, without a gapless tag


def make_input(folder, rate: int):
    """A stereo excerpt of real music at `rate` (soxr, as the native CLI resamples)."""
    native = sf.info(MUSIC).samplerate
    music, _ = sf.read(MUSIC, dtype="float32", start=20 * native, frames=SECONDS * native)
    path = folder / f"at{rate}.wav"
    sf.write(path, soxr.resample(music, native, rate), rate, subtype="PCM_16")
    return path


def choose(session, **settings):
    script = "await ext.storage.local.set({settings: {...(await ext.storage.local.get('settings')).settings, ...arguments[0]}});"
    session.call(script, settings)


def download_vocals(session, job_name: str, fmt: str, extension: str):
    choose(session, format=fmt)
    session.script(
        "[...document.querySelectorAll('li[data-job]')].find((li) => li.querySelector('.job-name').title === arguments[0])"
        ".querySelector(\".download[data-stem='vocals']\").click();",
        job_name,
    )
    (path,) = session.wait_downloads([f"{job_name}-vocals.{extension}"], timeout=120)
    return path


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
    song = make_input(tmp_path, 48000)
    session.pick_file(song)
    job = finished_job(session)
    name = job["name"]
    wav_path = download_vocals(session, name, "pcm16", "wav")
    wav, rate = sf.read(wav_path, dtype="int16")
    assert rate == 48000 and sf.info(wav_path).subtype == "PCM_16"
    assert abs(len(wav) - SECONDS * 48000) <= 2, len(wav)
    sizes = {"pcm16": wav_path.stat().st_size}

    flac_path = download_vocals(session, name, "flac", "flac")
    flac, flac_rate = sf.read(flac_path, dtype="int16")
    assert flac_rate == 48000 and flac.shape == wav.shape
    assert np.array_equal(flac, wav)  # lossless: the same 16-bit samples
    sizes["flac"] = flac_path.stat().st_size

    mp3_path = download_vocals(session, name, "mp3", "mp3")
    mp3, mp3_rate = sf.read(mp3_path, dtype="float32")
    assert mp3_rate == 48000
    sdr, delay = aligned_sdr(wav.astype(np.float32) / 32768, mp3)
    print(f"{session.name}: MP3 256 kb/s vs WAV {sdr:.1f} dB SDR (delay {delay} samples)")
    assert sdr >= MP3_FLOOR_DB
    sizes["mp3"] = mp3_path.stat().st_size

    for fmt, subtype in (("pcm24", "PCM_24"), ("float32", "FLOAT")):
        path = download_vocals(session, name, fmt, "wav")
        assert sf.info(path).subtype == subtype and sf.info(path).samplerate == 48000
        sizes[fmt] = path.stat().st_size
    if offered.get("opus"):
        path = download_vocals(session, name, "opus", "opus")
        sizes["opus"] = path.stat().st_size
        assert path.read_bytes()[:4] == b"OggS"
    print(f"{session.name}: vocals, {SECONDS} s stereo at 48 kHz, bytes per format {sizes}")
    assert sizes["flac"] < sizes["pcm16"] * 0.8 and sizes["mp3"] < sizes["pcm16"] / 3

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
        path = download_vocals(session, song.stem, "pcm16", "wav")
        audio, rate = sf.read(path, dtype="float32")
        assert rate == expected and abs(len(audio) - SECONDS * expected) <= 2, (rate, len(audio))
        assert np.sqrt(np.mean(audio**2)) > 1e-3
