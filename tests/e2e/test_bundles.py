"""Model bundles in the installed extension, through the page's picker (Settings -> Models):
the issue's bad bundles are each refused with their message and leave nothing stored; a random-
weight 4-stem Spleeter bundle (int8 and fp32) is imported, chosen for a job, and its stems match
`demixer separate --bundle` (>= 30 dB int8, >= 40 dB fp32); the job records the model's hash.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from builder.bundle import read_bundle
from builder.demix import DemixOptions, separate_file
from builder.validate import sdr_db
from models.spec import Precision
from tests.bundle_files import bad_bundles
from tests.conftest import DATA
from tests.e2e.conftest import MODEL_4STEMS, finished_job, wait_for
from tests.protocol import STORE, open_db_js

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FLOORS = {Precision.INT8_WEIGHTS: 30.0, Precision.FP32: 40.0}

_MODELS = (
    open_db_js()
    + f"const r = db.transaction({json.dumps(STORE['MODELS'])}).objectStore({json.dumps(STORE['MODELS'])}).getAll();"
    "const all = await new Promise((ok, ko) => { r.onsuccess = () => ok(r.result); r.onerror = ko; });"
    "return all.map((m) => ({id: m.id, state: m.state, sha256: m.sha256, precision: m.precision}));"
)


def _import(session, path, timeout=300):
    """Pick ``path`` in Settings -> Models; the import's final status (state, text)."""
    session.pick_file(path, "model-file")

    def settled():
        state, text = session.script(
            "const s = document.getElementById('model-status'); return [s.dataset.state || '', s.textContent];"
        )
        return state != "checking" and path.name in text and (state, text)

    return wait_for(settled, timeout, what=f"the import of {path.name}")


def _bundle(dist, precision: Precision):
    [path] = (dist / "models").glob(f"{MODEL_4STEMS}-{precision.value}-*.demixer")
    return path


def test_bundles_refused_imported_chosen_and_matching_the_cli(browser, four_stem_dist, tmp_path):
    session = browser()
    session.open("page/page.html")
    session.script("document.getElementById('settings').open = true;")

    for bad in bad_bundles(_bundle(four_stem_dist, Precision.INT8_WEIGHTS)):
        path = tmp_path / bad.name
        path.write_bytes(bad.data)
        state, text = _import(session, path)
        print(f"{session.name} {bad.name}: {text}")
        assert state == "refused" and bad.message in text, (bad.name, text)
        assert session.call(_MODELS) == [], bad.name  # nothing stored, not even while checking
    assert session.script("return document.querySelectorAll('img').length") == 0  # the stem name stayed text

    excerpt, rate = sf.read(DATA / "excerpt.flac", dtype="float32")
    for precision in (Precision.INT8_WEIGHTS, Precision.FP32):
        bundle_path = _bundle(four_stem_dist, precision)
        bundle = read_bundle(bundle_path)
        state, text = _import(session, bundle_path)
        assert state == "added", text
        [record] = [m for m in session.call(_MODELS) if m["precision"] == precision.value]
        assert record["state"] == "ready" and record["sha256"] == bundle.descriptor["sha256"]
        listed = session.script("return [...document.querySelectorAll('#model-list li')].map((li) => li.textContent)")
        assert any("vocals, drums, bass, other" in item and precision.value in item for item in listed), listed

        session.script(
            "const s = document.getElementById('job-model'); s.value = arguments[0];"
            " s.dispatchEvent(new Event('change'));",
            record["id"],
        )
        song = tmp_path / f"song-{precision.value}.flac"  # its own stem file names
        sf.write(song, excerpt[: rate * 6], rate)
        session.pick_file(song)
        job = finished_job(session, name=song.stem)
        assert job["madeBy"] == {"name": MODEL_4STEMS, "sha256": bundle.descriptor["sha256"],
                                 "precision": precision.value, "imported": True}  # fmt: skip
        assert [s["stem"] for s in job["stems"]] == list(bundle.descriptor["stems"])

        selector = f"li.job[data-job='{job['id']}'] button.download"
        assert session.click_all(selector) == len(bundle.descriptor["stems"])
        downloads = session.wait_downloads([f"{song.stem}-{stem}.wav" for stem in bundle.descriptor["stems"]])
        native = separate_file(song, tmp_path / f"native-{precision.value}", tmp_path, DemixOptions(bundle=bundle_path))
        for stem, path, expected_path in zip(bundle.descriptor["stems"], downloads, native.paths, strict=True):
            ours, _ = sf.read(path, dtype="float32")
            expected, _ = sf.read(expected_path, dtype="float32")
            assert ours.shape == expected.shape
            sdr = sdr_db(expected, ours)
            print(f"{session.name} {MODEL_4STEMS} {precision.value} {stem}: browser vs separate --bundle {sdr:.1f} dB")
            assert sdr >= FLOORS[precision], (stem, sdr)
            assert np.sqrt(np.mean(ours**2)) > 1e-4
