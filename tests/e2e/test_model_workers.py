"""inference/worker-pool.js: N single-threaded model sessions in N workers give the same stems as
one session (>= 80 dB), in both browsers, and the job says how many it used, and that the workers
shared the pool's one compiled onnxruntime module (model-runner.js instantiateFrom: onnxruntime-web
takes no compiled module, so a version that stopped calling WebAssembly.instantiateStreaming would
have each worker compile its own again, ~37 MB of code each in Firefox, without failing)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from builder.validate import sdr_db
from tests.conftest import DATA
from tests.e2e.conftest import STEMS, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FLOOR_DB = 80.0


def test_worker_pool_gives_the_stems_of_one_session(browser, tmp_path):
    session = browser()
    session.open("page/page.html")
    cores = session.call("return navigator.hardwareConcurrency")
    if cores < 2:
        pytest.fail("the worker pool needs 2 cores to be tested (CI has 2)")
    threads, shared = {}, {}
    for workers in (1, 2):
        session.call("await ext.storage.local.set({settings: {workers: args[0]}});", workers)
        song = tmp_path / f"w{workers}.flac"
        shutil.copy(DATA / "excerpt.flac", song)
        session.pick_file(song)
        name = f"w{workers}"
        job = wait_for(lambda n=name: next((j for j in session.jobs() if j["name"] == n and j["state"] in
                                            ("done", "failed")), None), 300, what=name)  # fmt: skip
        assert job["state"] == "done", job
        threads[workers] = job["threads"]
        shared[workers] = job.get("sharedCode")
    assert threads[2] == 2, threads
    assert shared[2] is True, shared
    assert session.click_all("button.download") == 2 * len(STEMS)
    for stem in STEMS:
        one, two = (session.wait_downloads([f"w{w}-{stem}.wav"])[0] for w in (1, 2))
        single, _ = sf.read(one, dtype="float32")
        pooled, _ = sf.read(two, dtype="float32")
        assert single.shape == pooled.shape and np.max(np.abs(single)) > 0.05
        sdr = sdr_db(single, pooled)
        print(f"{session.name} {stem}: 2 workers vs 1 session SDR {sdr:.1f} dB")
        assert sdr >= FLOOR_DB, (stem, sdr)
