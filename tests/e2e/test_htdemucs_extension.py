"""HTDemucs in the extension, end to end, in both browsers: a demucs checkpoint file (a seeded
random model of the published architecture, in demucs's own package format) -> builder ->
extension -> stems, held to demucs's own ``apply_model`` on real music."""

from __future__ import annotations

import json

import pytest
import soundfile as sf

from builder.audio_io import load_audio
from builder.config import BuildConfig, Paths
from builder.package import PackageConfig, package
from builder.validate import sdr_db
from models import htdemucs
from models.spec import Precision
from tests.conftest import DATA
from tests.e2e.conftest import finished_job, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FLOORS = {Precision.FP32: 40.0, Precision.INT8_WEIGHTS: 30.0}  # int8: vs fp32 demucs, as for Spleeter


@pytest.fixture(scope="session")
def demucs_stems(htdemucs_dist):
    model = htdemucs.load_package(htdemucs_dist[1])
    return model.sources, htdemucs.reference_stems(model, load_audio(DATA / "excerpt.flac").waveform)


@pytest.mark.parametrize("precision", [Precision.FP32, Precision.INT8_WEIGHTS], ids=lambda p: p.value)
def test_htdemucs_extension_matches_demucs_apply_model(browser, htdemucs_dist, demucs_stems, precision):
    """12 s: three segments (the last one short), four stems from the descriptor."""
    stems, reference = demucs_stems
    session = browser(dist=htdemucs_dist[0][precision])
    session.open("page/page.html")
    session.pick_file(DATA / "excerpt.flac")
    job = finished_job(session, timeout=600)
    assert [s["stem"] for s in job["stems"]] == stems
    timings = json.dumps(job.get("timings"))
    print(f"{session.name} htdemucs {precision.value} 12 s: timings {timings}, threads {job['threads']}")
    assert session.click_all("button.download") == len(stems)
    downloads = session.wait_downloads([f"excerpt-{s}.wav" for s in stems])
    for stem, path, expected in zip(stems, downloads, reference, strict=True):
        ours, rate = sf.read(path, dtype="float32")
        assert rate == 44100 and ours.shape == expected.shape
        sdr = sdr_db(expected, ours)
        print(f"{session.name} htdemucs {precision.value} {stem}: browser vs demucs apply_model SDR {sdr:.1f} dB")
        assert sdr >= FLOORS[precision], (stem, sdr)


@pytest.fixture(scope="session")
def reduced_htdemucs_dist(tmp_path_factory):
    """A packaged fp32 build of the reduced random HTDemucs (same layers, 3 s segments: the 12 s
    excerpt takes five segments, across the streamed decoder's slices)."""
    from builder.build import build_model

    root = tmp_path_factory.mktemp("dist-htdemucs-reduced")
    model = htdemucs.random_htdemucs(seed=11, **htdemucs.REDUCED_HTDEMUCS)
    checkpoint = htdemucs.save_package(model, root / "htdemucs-reduced.th")
    build_model(BuildConfig("htdemucs", checkpoint, (Precision.FP32,), Paths(dist=root)), log=print)
    package(PackageConfig("htdemucs", Precision.FP32, root), log=print)
    return root


def test_htdemucs_streamed_in_two_passes_equals_the_whole_file_decode(browser, reduced_htdemucs_dist, tmp_path):
    """The same track decoded whole (in memory, one read) and streamed (statistics in a first
    decode, segments in a second): the same stems. Ogg Vorbis, which both of Chromium's decoders
    decode to the same samples (test_streamed_decode.py); its FLAC decoders differ by ~93 dB,
    which the random model's quiet bass stem shows at 53 dB in PCM16 (measured)."""
    session = browser(dist=reduced_htdemucs_dist)
    session.open("page/page.html")
    songs = {"whole-file": tmp_path / "whole.ogg", "streamed": tmp_path / "streamed.ogg"}
    stems = ["drums", "bass", "other", "vocals"]
    excerpt, rate = sf.read(DATA / "excerpt.flac", dtype="float32")
    for count, (decoder, song) in enumerate(songs.items(), start=1):
        sf.write(song, excerpt, rate, format="OGG", subtype="VORBIS")
        if decoder == "streamed":
            session.call("await ext.storage.local.set({settings: {streamAboveS: 0}});")
        session.pick_file(song)

        def done(count=count):
            jobs = session.jobs()
            return len(jobs) == count and all(j["state"] in ("done", "failed", "cancelled") for j in jobs) and jobs

        jobs = wait_for(done, 300, what=f"the {decoder} job")
        job = next(j for j in jobs if j.get("decoder") == decoder)
        assert job["state"] == "done" and [s["stem"] for s in job["stems"]] == stems, job
    session.click_all("button.download")
    whole = session.wait_downloads([f"whole-{s}.wav" for s in stems])
    streamed = session.wait_downloads([f"streamed-{s}.wav" for s in stems])
    for stem, a, b in zip(stems, whole, streamed, strict=True):
        (ours, rate), (reference, _) = sf.read(b, dtype="float32"), sf.read(a, dtype="float32")
        assert rate == 44100 and ours.shape == reference.shape
        sdr = sdr_db(reference, ours)
        print(f"{session.name} htdemucs {stem}: streamed vs whole-file decode SDR {sdr:.1f} dB")
        assert sdr >= 60.0, (stem, sdr)
