"""Browser fixtures: packaged extensions (int8 and fp32) and a browser per test."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from builder.config import BuildConfig, Paths
from builder.demix import DemixOptions, separate_file
from builder.package import CHROME_ID, PackageConfig, package
from models.spec import DEFAULT_PRECISION, Precision
from tests.conftest import DATA
from tests.e2e.chromium import ChromiumSession
from tests.e2e.firefox import FirefoxSession
from tests.e2e.live_scripts import MUSIC_PAGE
from tests.e2e.servers import serve_directory
from tests.protocol import STORE, open_db_js, to_background


@pytest.fixture(scope="session")
def packaged(built, tmp_path_factory):
    """precision -> dist folder holding models/, chrome/ (unpacked) and the Firefox .xpi."""
    made: dict[Precision, Path] = {}

    def make(precision: Precision = DEFAULT_PRECISION) -> Path:
        if precision not in made:
            dist = tmp_path_factory.mktemp(f"dist-{precision.value}")
            shutil.copytree(built / "models", dist / "models")
            package(PackageConfig(precision=precision, dist=dist), log=lambda *_: None)
            made[precision] = dist
        return made[precision]

    return make


MODEL_4STEMS = "spleeter-4stems"


@pytest.fixture(scope="session")
def four_stem_dist(random_checkpoint, tmp_path_factory):
    """dist/ of a random-weight Spleeter 4-stem build (fp32 and int8, with their bundles) and the
    extensions packaged with its fp32 model (test_four_stems, test_bundles)."""
    from builder.build import build_model

    dist = tmp_path_factory.mktemp("dist-4stems")
    precisions = (Precision.FP32, Precision.INT8_WEIGHTS)
    config = BuildConfig(MODEL_4STEMS, random_checkpoint(MODEL_4STEMS), precisions, Paths(dist=dist))
    report = build_model(config, log=print)
    for artifact in report.artifacts:
        print(
            f"{MODEL_4STEMS} {artifact.precision}: {artifact.bytes / 1e6:.1f} MB, SDR vs fp32 {artifact.sdr_vs_fp32_db}"
        )
    package(PackageConfig(MODEL_4STEMS, Precision.FP32, dist), log=print)
    return dist


@pytest.fixture(scope="session")
def htdemucs_dist(tmp_path_factory):
    """(precision -> packaged dist folder, the checkpoint file): a random-weight HTDemucs of the
    published architecture built fp32 and int8 (its models/ hold the two bundles too), once per
    session for test_htdemucs_extension and test_bundles (~3 min of build)."""
    from builder.build import build_model
    from models import htdemucs

    root = tmp_path_factory.mktemp("dist-htdemucs")
    checkpoint = htdemucs.save_package(htdemucs.random_htdemucs(seed=7), root / "htdemucs-random.th")
    precisions = (Precision.FP32, Precision.INT8_WEIGHTS)
    build_model(BuildConfig("htdemucs", checkpoint, precisions, Paths(dist=root)), log=print)
    dists = {}
    for precision in precisions:
        dists[precision] = root / precision.value
        shutil.copytree(root / "models", dists[precision] / "models")
        package(PackageConfig("htdemucs", precision, dists[precision]), log=print)
    return dists, checkpoint


@pytest.fixture(scope="session")
def native_stems(built, tmp_path_factory):
    """The reference CLI's stems for a song, per precision (PCM16 WAV, like the extension's)."""

    def run(song: Path, precision: Precision) -> Path:
        out = tmp_path_factory.mktemp(f"native-{precision.value}")
        separate_file(song, out, built / "models", DemixOptions(precision=precision))
        return out

    return run


@pytest.fixture(params=["chromium", "firefox"])
def browser(request, packaged, tmp_path):
    """start(precision=..., proxy_port=None) -> a session of this browser with the extension."""
    sessions = []

    def start(precision: Precision = DEFAULT_PRECISION, proxy_port: int | None = None, extra_args=(),
              dist: Path | None = None):  # fmt: skip
        dist = dist or packaged(precision)
        if request.param == "chromium":
            args = [*extra_args]
            if proxy_port:
                args += [f"--proxy-server=http://127.0.0.1:{proxy_port}", "--proxy-bypass-list=<-loopback>"]
            session = ChromiumSession.start(dist / "chrome", tmp_path, args)
        else:
            session = FirefoxSession.start(next(dist.glob("*-firefox.xpi")), tmp_path, firefox_proxy_prefs(proxy_port))
        sessions.append(session)
        return session

    start.name = request.param
    yield start
    for session in sessions:
        session.quit()


def firefox_proxy_prefs(port: int | None) -> dict:
    if not port:
        return {}
    return {
        "network.proxy.type": 1,
        "network.proxy.http": "127.0.0.1",
        "network.proxy.http_port": port,
        "network.proxy.ssl": "127.0.0.1",
        "network.proxy.ssl_port": port,
        "network.proxy.no_proxies_on": "",
        "network.proxy.allow_hijacking_localhost": True,
    }


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def stored_counts(session, job_id: str) -> dict[str, int]:
    """How many records of a job each IndexedDB store holds (read from the open extension page)."""
    inputs, chunks, stems = (json.dumps(STORE[k]) for k in ("INPUTS", "CHUNKS", "STEMS"))
    return session.call(
        open_db_js() + "const count = (store, range) => new Promise((ok) => {"
        " const r = db.transaction(store).objectStore(store).count(range); r.onsuccess = () => ok(r.result); });"
        "const all = IDBKeyRange.bound([args[0]], [args[0], []]);"
        f"return {{inputs: await count({inputs}, args[0]), chunks: await count({chunks}, all),"
        f" stems: await count({stems}, all)}};",
        job_id,
    )


def wake_background(session) -> None:
    """Start the extension's background again (after `stop_background`) with a message it answers
    and ignores: cancelling a job that does not exist."""
    session.call("await " + to_background("CANCEL_JOB", "{jobId: 'none'}") + ";")


# Shared by the scenario files (test_separation, test_faults, test_bad_input, test_privacy, ...).
STEMS = ("vocals", "accompaniment")


START_URL_JOB = (
    f"const reply = await {to_background('START_URL_JOB', '{url: args[0], name: args[1]}')};"
    "if (!reply.ok) throw new Error(reply.error);"
)


def finished_job(session, timeout=300, name=None):
    """The newest job once it ended, or the job called `name` (a job just started may not be
    listed yet: the newest one is then an earlier job)."""

    def finished():
        jobs = [j for j in session.jobs() if name is None or j["name"] == name]
        return jobs and jobs[0]["state"] in ("done", "failed", "cancelled") and jobs[0]

    job = wait_for(finished, timeout, what="the job to finish")
    assert job["state"] == "done", job
    return job


def long_song(tmp_path, repeats=5):
    excerpt, rate = sf.read(DATA / "excerpt.flac", dtype="float32")
    song = tmp_path / "long.flac"
    sf.write(song, np.tile(excerpt, (repeats, 1)), rate)
    return song


def wait_running(session, min_fraction=0.0):
    def running():
        jobs = session.jobs()
        job = jobs and jobs[0]
        # total is 0 while the size is not known yet (a job's first progress: "fetching")
        fraction = job and job.get("done", 0) / (job.get("total") or 1)
        return job and job["state"] == "running" and fraction > min_fraction and job

    return wait_for(running, 120, interval=0.2, what="the job to run")


@pytest.fixture
def site(tmp_path):
    """A local site whose index.html plays real music through MediaSource (a blob: address), for
    the live tests; other.html is a page without music."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text(MUSIC_PAGE)
    (root / "clip.webm").write_bytes((DATA / "live-clip.webm").read_bytes())
    (root / "other.html").write_text("<!doctype html><title>Elsewhere</title><p>no music</p>")
    server, base = serve_directory(root)
    yield base
    server.shutdown()


@pytest.fixture
def chromium(packaged, tmp_path):
    """The packaged Chrome build in a Chromium that lets it capture tabs with no click (the
    allowlisted id is pinned by the manifest key) and plays media without a gesture."""
    session = ChromiumSession.start(
        packaged() / "chrome",
        tmp_path,
        [f"--allowlisted-extension-id={CHROME_ID}", "--autoplay-policy=no-user-gesture-required"],
    )
    yield session
    session.quit()


@pytest.fixture(scope="session")
def heard(tmp_path_factory):
    """A PulseAudio null sink as the audio device of every browser started after this fixture
    (PULSE_SERVER set for the session), whose output `heard.record(path)` records
    (tests/e2e/heard.py)."""
    from tests.e2e.heard import audio_server

    with audio_server(tmp_path_factory.mktemp("pulse")) as server:
        yield server


@pytest.fixture(scope="session")
def video_site(tmp_path_factory, wesnoth_track):
    """(base URL, {name: Clip}) of the loopback video site (tests/e2e/video_site.py): 40 s of
    `loyalists.ogg` with a known voice as fragmented MP4/AAC (`song-mp4`) and as WebM/Opus
    (`song-webm`), and an 8-s "ad" of other music (`ad`); pages at `{base}/player.html?clip=NAME`."""
    from tests.e2e.video_site import make_clip

    root = tmp_path_factory.mktemp("video-site")
    clips = {
        "song-mp4": make_clip(root, "song-mp4", "mp4", wesnoth_track("loyalists.ogg"), 20, 40),
        "song-webm": make_clip(root, "song-webm", "webm", wesnoth_track("loyalists.ogg"), 20, 40),
        "ad": make_clip(root, "ad", "mp4", wesnoth_track("knolls.ogg"), 30, 8, seed=3),
    }
    server, base = serve_directory(root)
    yield base, clips
    server.shutdown()
