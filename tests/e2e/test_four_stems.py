"""A user-supplied 4-stem checkpoint, end to end: builder -> extension -> stems, in both browsers.

The checkpoint is a seeded random one of Spleeter's exact 4stems architecture in TensorFlow's own
format (builder/random_weights.py); its conversion is checked against TensorFlow itself in
tests/parity. Here: the descriptor alone drives the UI (four stems listed, four downloads, in
the descriptor's order) and the browser's stems match the PyTorch port's.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from builder.audio_io import load_audio
from builder.separate import separate
from builder.validate import sdr_db
from models import catalog
from tests.conftest import DATA
from tests.e2e.conftest import finished_job
from tests.e2e.mixer import download_mix, mixer_click, open_mixer, stem_gains, stem_sum

pytestmark = [pytest.mark.browser, pytest.mark.slow]
MODEL = "spleeter-4stems"
SPEC = catalog.get(MODEL).spec


def test_descriptor_lists_the_four_stems_in_checkpoint_order(four_stem_dist):
    descriptor = json.loads((four_stem_dist / "chrome" / "models" / "model.json").read_text())
    assert descriptor["stems"] == ["vocals", "drums", "bass", "other"]


def test_four_stem_extension_matches_the_pytorch_port(browser, four_stem_dist, random_checkpoint):
    session = browser(dist=four_stem_dist)
    session.open("page/page.html")
    session.pick_file(DATA / "excerpt.flac")
    job = finished_job(session)
    assert [s["stem"] for s in job["stems"]] == list(SPEC.stems)
    shown = session.script("return [...document.querySelectorAll('li.job button.download')].map(b => b.textContent)")
    assert len(shown) == 4 and all(stem in label for stem, label in zip(SPEC.stems, shown, strict=True)), shown
    colors = session.script(
        "return [...document.querySelectorAll('li.job .stem')].map(r => r.style.getPropertyValue('--stem-color'))"
    )
    assert len(set(colors)) == 4 and all(colors), colors  # one colour per stem, by order

    assert session.click_all("button.download") == 4
    downloads = session.wait_downloads([f"excerpt-{s}.wav" for s in SPEC.stems])
    model = catalog.get(MODEL).load(SPEC, random_checkpoint(MODEL))

    def core(magnitude):
        with torch.no_grad():
            return model(torch.from_numpy(magnitude)).numpy()

    reference = separate(load_audio(DATA / "excerpt.flac").waveform, SPEC, core)
    for stem, path, expected in zip(SPEC.stems, downloads, reference, strict=True):
        ours, rate = sf.read(path, dtype="float32")
        assert rate == 44100 and ours.shape == expected.shape
        sdr = sdr_db(expected, ours)
        print(f"{session.name} {MODEL} fp32 {stem}: browser vs PyTorch SDR {sdr:.1f} dB")
        assert sdr >= SPEC.tolerances.port_sdr_db, (stem, sdr)
        assert np.sqrt(np.mean(ours**2)) > 1e-3

    # the mixer, from the descriptor: four strips; Karaoke mutes the vocals only
    open_mixer(session, job["id"])
    assert mixer_click(session, job["id"], "[data-preset='karaoke']") == 1
    assert stem_gains(session, job["id"]) == {"vocals": 0, "drums": 1, "bass": 1, "other": 1}
    karaoke, _ = download_mix(session, job["id"], "excerpt-karaoke.wav")
    sdr = sdr_db(stem_sum(downloads, [0, 1, 1, 1]), karaoke)
    print(f"{session.name} 4 stems: karaoke export vs numpy sum of drums, bass, other: {sdr:.1f} dB")
    assert sdr >= 60
