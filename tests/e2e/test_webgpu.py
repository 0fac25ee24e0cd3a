"""The compute setting (inference/compute.js, gpu-fallback.js): onnxruntime-web's WebGPU provider,
and its fallback to WASM with the reason in the job's details.

CI has no GPU: headless Chromium with --enable-unsafe-webgpu gives SwiftShader, a software
adapter (vendor "google", isFallbackAdapter). With it, the GPU setting is tested for parity (the
fp32 model, stems >= 40 dB vs the native CLI) and Auto for declining it; without the flag
(no adapter) and in Firefox 153 on Linux (no navigator.gpu), the GPU setting falls back.
The clips are 1 s (one 256-frame patch): SwiftShader runs the shaders on the CPU, slowly (~2 min).
"""

from __future__ import annotations

import pytest
import soundfile as sf

from builder.validate import sdr_db
from models.spec import Precision
from tests.conftest import DATA
from tests.e2e.chromium import ChromiumSession
from tests.e2e.conftest import STEMS, finished_job, wait_for
from tests.e2e.firefox import FirefoxSession

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FLOOR_DB = 40.0  # fp32 browser vs native, as test_separation
WEBGPU = ["--enable-unsafe-webgpu"]


def compute_note(session) -> tuple[str, str]:
    """The settings' note beside the compute control: its sentence and its tooltip."""
    read = "const n = document.getElementById('compute-note'); return [n.textContent, n.title];"
    wait_for(lambda: session.call(read)[0], 30, what="the compute note")
    text, title = session.call(read)
    return text, title


def clip(tmp_path, name: str, seconds: float):
    audio, rate = sf.read(DATA / "excerpt.flac", dtype="float32")
    path = tmp_path / f"{name}.flac"
    sf.write(path, audio[int(2 * rate) : int((2 + seconds) * rate)], rate)
    return path


def run_job(session, song, compute: str) -> dict:
    session.call("await ext.storage.local.set({settings: {compute: args[0]}});", compute)
    session.pick_file(song)
    return finished_job(session, name=song.stem)


def facts_of(session, job_id: str) -> str:
    return session.script(
        "return document.querySelector(`[data-job=\"${arguments[0]}\"] .job-facts`)?.textContent ?? '';", job_id
    )


def test_gpu_setting_matches_native_on_webgpu_and_auto_declines_a_software_adapter(packaged, native_stems, tmp_path):
    session = ChromiumSession.start(packaged(Precision.FP32) / "chrome", tmp_path, WEBGPU)
    try:
        session.open("page/page.html")
        song = clip(tmp_path, "gpu", 1.0)
        job = run_job(session, song, "gpu")
        assert job["compute"]["backend"] == "webgpu", job["compute"]
        assert "swiftshader" in job["compute"]["adapter"], job["compute"]
        assert "GPU (google swiftshader" in facts_of(session, job["id"])
        assert session.click_all(f'[data-job="{job["id"]}"] button.download') == len(STEMS)
        downloads = session.wait_downloads([f"gpu-{s}.wav" for s in STEMS])
        reference = native_stems(song, Precision.FP32)
        for stem, path in zip(STEMS, downloads, strict=True):
            ours, _ = sf.read(path, dtype="float32")
            native, _ = sf.read(reference / f"gpu-{stem}.wav", dtype="float32")
            assert ours.shape == native.shape
            sdr = sdr_db(native, ours)
            print(f"chromium WebGPU (SwiftShader) fp32 {stem}: browser vs native SDR {sdr:.1f} dB")
            assert sdr >= FLOOR_DB, (stem, sdr)

        auto = run_job(session, clip(tmp_path, "auto", 1.0), "auto")
        assert auto["compute"]["backend"] == "wasm", auto["compute"]
        assert "software" in auto["compute"]["reason"], auto["compute"]
        assert "CPU: the only GPU is a software one" in facts_of(session, auto["id"])
    finally:
        session.quit()


def test_gpu_setting_without_an_adapter_runs_on_wasm_and_says_why(packaged, tmp_path):
    """Chromium without --enable-unsafe-webgpu has navigator.gpu but no adapter; the shipped
    (int8) build."""
    session = ChromiumSession.start(packaged() / "chrome", tmp_path)
    try:
        session.open("page/page.html")
        # The settings say it in words; the browser's own answer is the tooltip.
        assert compute_note(session) == (
            "No GPU is available to this browser: jobs run on the CPU.",
            "no WebGPU adapter (requestAdapter() = null)",
        )
        job = run_job(session, clip(tmp_path, "noadapter", 1.0), "gpu")
        assert job["compute"] == {"backend": "wasm", "reason": "no WebGPU adapter (requestAdapter() = null)"}
        assert "CPU: no WebGPU adapter" in facts_of(session, job["id"])
        assert [s["stem"] for s in job["stems"]] == list(STEMS)
    finally:
        session.quit()


def test_firefox_gpu_setting_falls_back_or_runs_on_webgpu(packaged, tmp_path):
    session = FirefoxSession.start(next(packaged().glob("*-firefox.xpi")), tmp_path, {})
    try:
        session.open("page/page.html")
        job = run_job(session, clip(tmp_path, "firefox", 1.0), "gpu")
        compute = job["compute"]
        print(f"firefox, GPU setting: {compute}")
        # Firefox 153 on Linux: no navigator.gpu; a Firefox that has it runs on it, or says why not
        if not session.call("return 'gpu' in navigator;"):
            assert compute == {"backend": "wasm", "reason": "this browser has no WebGPU"}, compute
            assert compute_note(session)[0] == "This browser has no WebGPU: jobs run on the CPU."
        assert compute["backend"] == "webgpu" or compute["reason"], compute
        assert "CPU: this browser has no WebGPU" in facts_of(session, job["id"]) or compute["backend"] == "webgpu"
        assert [s["stem"] for s in job["stems"]] == list(STEMS)
    finally:
        session.quit()
