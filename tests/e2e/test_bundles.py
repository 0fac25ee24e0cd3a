"""Model bundles in the installed extension, through the page's picker (Settings -> Models):
the issue's bad bundles are each refused with their message and leave nothing stored; a random-
weight 4-stem Spleeter bundle and one of the published HTDemucs architecture (int8 and fp32) are
imported, chosen for a job, and their stems match `demixer separate --bundle` (>= 30 dB int8,
>= 40 dB fp32); the job records the model's hash.
"""

from __future__ import annotations

import json
import time

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
        song = tmp_path / f"song-{precision.value}.flac"  # its own stem file names
        sf.write(song, excerpt[: rate * 6], rate)
        _import_choose_and_compare(session, _bundle(four_stem_dist, precision), song, tmp_path)


def test_htdemucs_bundles_imported_chosen_and_matching_the_cli(browser, htdemucs_dist, tmp_path):
    """The published HTDemucs architecture (random weights) as bundles, fp32 (~170 MB: within the
    import's 512 MiB limit) and int8, into the extension packaged with the 2-stem default. A 4 s
    clip is one HTDemucs segment (7.8 s) in each browser, the least that runs the whole model."""
    session = browser()
    session.open("page/page.html")
    session.script("document.getElementById('settings').open = true;")
    excerpt, rate = sf.read(DATA / "excerpt.flac", dtype="float32")
    for precision in (Precision.INT8_WEIGHTS, Precision.FP32):
        [bundle_path] = (htdemucs_dist[0][precision] / "models").glob(f"htdemucs-{precision.value}-*.demixer")
        song = tmp_path / f"clip-{precision.value}.flac"
        sf.write(song, excerpt[rate * 2 : rate * 6], rate)
        _import_choose_and_compare(session, bundle_path, song, tmp_path)


def _import_choose_and_compare(session, bundle_path, song, tmp_path):
    """Import ``bundle_path`` through the page, choose it for a job on ``song``, and hold the
    downloaded stems to `demixer separate --bundle` on the same file."""
    bundle = read_bundle(bundle_path)
    precision = Precision(bundle.precision)
    started = time.monotonic()
    state, text = _import(session, bundle_path, timeout=600)
    print(f"{session.name} import of {bundle_path.name} ({bundle_path.stat().st_size / 1e6:.1f} MB, hashing, "
          f"storing, noise through the model): {time.monotonic() - started:.1f} s")  # fmt: skip
    assert state == "added", text
    [record] = [m for m in session.call(_MODELS) if m["sha256"] == bundle.descriptor["sha256"]]
    assert record["state"] == "ready" and record["precision"] == precision.value
    listed = session.script("return [...document.querySelectorAll('#model-list li')].map((li) => li.textContent)")
    stems = list(bundle.descriptor["stems"])
    assert any(", ".join(stems) in item and precision.value in item for item in listed), listed

    session.script(
        "const s = document.getElementById('job-model'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));",
        record["id"],
    )
    started = time.monotonic()
    session.pick_file(song)
    job = finished_job(session, name=song.stem, timeout=600)
    print(f"{session.name} {bundle.descriptor['name']} {precision.value} job on {song.name}: "
          f"{time.monotonic() - started:.1f} s")  # fmt: skip
    assert job["madeBy"] == {"name": bundle.descriptor["name"], "sha256": bundle.descriptor["sha256"],
                             "precision": precision.value, "imported": True}  # fmt: skip
    assert [s["stem"] for s in job["stems"]] == stems

    assert session.click_all(f"li.job[data-job='{job['id']}'] button.download") == len(stems)
    downloads = session.wait_downloads([f"{song.stem}-{stem}.wav" for stem in stems])
    native = separate_file(song, tmp_path / f"native-{song.stem}", tmp_path, DemixOptions(bundle=bundle_path))
    for stem, path, expected_path in zip(stems, downloads, native.paths, strict=True):
        ours, _ = sf.read(path, dtype="float32")
        expected, _ = sf.read(expected_path, dtype="float32")
        assert ours.shape == expected.shape
        sdr = sdr_db(expected, ours)
        print(f"{session.name} {bundle.descriptor['name']} {precision.value} {stem}: "
              f"browser vs separate --bundle {sdr:.1f} dB")  # fmt: skip
        assert sdr >= FLOORS[precision], (stem, sdr)
        assert np.sqrt(np.mean(ours**2)) > 1e-4
