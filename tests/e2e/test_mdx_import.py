"""A UVR MDX-Net .onnx imported as it is, in the installed extension's page (Settings -> Models):
bad files refused with their message and nothing stored (not ONNX, other tensors, a 2 GB file,
a graph that outputs NaN, the form cancelled); a random-weight MDX-Net graph (UVR's ConvTDFNet
layer types at reduced width, UVR's I/O, n_fft 7680 / dim_f 3072 / dim_t 256 as Kim_Vocal_2)
not in UVR's table asks its parameters, offering only the consistent n_fft values, passes the
inference host's check (one full chunk), is chosen for a job on real music, and its stems match
the native pipeline (builder/families/mdx_net.py) run on the same file with the same descriptor.
"""

from __future__ import annotations

import time

import numpy as np
import onnx
import pytest
import soundfile as sf
from onnx import TensorProto, helper

from builder import bundle, families
from builder.mdx_chunks import consistent_n_ffts
from builder.validate import sdr_db
from models.spec import ModelFamily
from tests.e2e.conftest import finished_job, wait_for
from tests.e2e.test_bundles import _MODELS
from tests.unit.test_mdx_net import random_graph

pytestmark = [pytest.mark.browser, pytest.mark.slow]
N_FFT, DIM_F, DIM_T = 7680, 3072, 256
COMPENSATE = 1.021

_RECORDS = _MODELS.replace("precision: m.precision}", "precision: m.precision, descriptor: m.descriptor}")


def _nan_graph(path):
    """UVR's tensors, and NaN out: sqrt(-(|x| + 1))."""
    shape = [1, 4, DIM_F, DIM_T]
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    nodes = [helper.make_node("Abs", ["input"], ["a"]), helper.make_node("Add", ["a", "one"], ["b"]),
             helper.make_node("Neg", ["b"], ["c"]), helper.make_node("Sqrt", ["c"], ["output"])]  # fmt: skip
    graph = helper.make_graph(nodes, "nan", [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, shape)], [one])  # fmt: skip
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10), path
    )  # ORT-web: <= 13
    return path


def _renamed_graph(source, path):
    model = onnx.load(source)
    for tensor in [*model.graph.input, *model.graph.output]:
        tensor.name = {"input": "x", "output": "y"}[tensor.name]
    for node in model.graph.node:
        node.input[:] = ["x" if i == "input" else i for i in node.input]
        node.output[:] = ["y" if o == "output" else o for o in node.output]
    onnx.save(model, path)
    return path


def _settled(session, path, timeout=300):
    """The import's final status (state, text): neither checking nor asking for parameters."""

    def settled():
        state, text = session.script(
            "const s = document.getElementById('model-status'); return [s.dataset.state || '', s.textContent];"
        )
        return state not in ("checking", "asking") and path.name in text and (state, text)

    return wait_for(settled, timeout, what=f"the import of {path.name}")


def _form(session, timeout=60):
    """Wait for the parameters form; the n_fft values it offers."""
    return wait_for(lambda: session.script(
        "const s = document.getElementById('mdx-n-fft'); return s && [...s.options].map((o) => Number(o.value));"
    ), timeout, what="the MDX-Net parameters form")  # fmt: skip


def _fill(session, n_fft: int, compensate: float, primary: str):
    session.script(
        "document.getElementById('mdx-n-fft').value = String(arguments[0]);"
        "document.getElementById('mdx-compensate').value = String(arguments[1]);"
        "document.getElementById('mdx-primary').value = arguments[2];"
        "document.getElementById('mdx-add').click();",
        n_fft, compensate, primary,
    )  # fmt: skip


def test_uvr_onnx_refused_or_imported_and_matching_native(browser, excerpt, tmp_path):
    graph = random_graph(N_FFT, DIM_F, excerpt, tmp_path / "Random_MDX.onnx")
    session = browser()
    session.open("page/page.html")
    session.script("document.getElementById('settings').open = true;")

    not_onnx = tmp_path / "song.onnx"
    not_onnx.write_bytes(np.random.default_rng(1).integers(0, 256, 100_000, dtype=np.uint8).tobytes())
    huge = tmp_path / "huge.onnx"
    with huge.open("wb") as f:  # sparse: 2 GB declared, nothing written
        f.truncate(2 * 2**30)
    cases = [(not_onnx, None, "This is not an ONNX model"),
             (_renamed_graph(graph, tmp_path / "renamed.onnx"), None, "It has: x [1, 4, 3072, 256]"),
             (huge, None, "The file is 2147.5 MB; a model is at most 536.9 MB."),
             (_nan_graph(tmp_path / "nan.onnx"), "fill", "gave NaN"),
             (graph, "cancel", "Not added: no parameters were given.")]  # fmt: skip
    for path, form, message in cases:
        session.pick_file(path, "model-file")
        if form:
            assert _form(session) == consistent_n_ffts(DIM_F) == [6144, 7680]
            if form == "fill":
                _fill(session, N_FFT, 1.0, "vocals")
            else:
                session.script("document.getElementById('mdx-cancel').click();")
        state, text = _settled(session, path)
        print(f"{session.name} {path.name}: {text}")
        assert state == "refused" and message in text, (path.name, text)
        assert session.call(_MODELS) == [], path.name

    started = time.monotonic()
    session.pick_file(graph, "model-file")
    _form(session)
    assert "cannot be verified" in session.script("return document.getElementById('mdx-form').textContent")
    _fill(session, N_FFT, COMPENSATE, "vocals")
    state, text = _settled(session, graph, timeout=600)
    print(f"{session.name} import of {graph.name} ({graph.stat().st_size / 1e6:.1f} MB: read, keyed, one chunk "
          f"through the model): {time.monotonic() - started:.1f} s")  # fmt: skip
    assert state == "added", text
    [record] = session.call(_RECORDS)
    descriptor = record["descriptor"]
    assert record["state"] == "ready" and descriptor["family"] == "mdx-net"
    assert descriptor["stems"] == ["vocals", "instrumental"]
    assert (descriptor["stft"]["nFft"], descriptor["stft"]["nbBins"], descriptor["stft"]["nbFrames"]) == (
        N_FFT,
        DIM_F,
        DIM_T,
    )
    listed = session.script("return [...document.querySelectorAll('#model-list li')].map((li) => li.textContent)")
    assert any("Random_MDX" in item and "n_fft 7680" in item and "not verified" in item for item in listed), listed

    session.script(
        "const s = document.getElementById('job-model'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));",
        record["id"],
    )
    rate = 44100
    song = tmp_path / "orchestra.flac"
    sf.write(song, excerpt[: rate * 8], rate)  # four chunks
    started = time.monotonic()
    session.pick_file(song)
    job = finished_job(session, name=song.stem, timeout=600)
    print(f"{session.name} MDX-Net job on 8 s: {time.monotonic() - started:.1f} s")
    assert job["madeBy"]["name"] == "Random_MDX" and job["madeBy"]["imported"] is True
    stems = descriptor["stems"]
    assert [s["stem"] for s in job["stems"]] == stems
    assert session.click_all(f"li.job[data-job='{job['id']}'] button.download") == len(stems)
    downloads = session.wait_downloads([f"{song.stem}-{stem}.wav" for stem in stems])

    bundle.check_descriptor(descriptor)  # the Python twin's rules take what the page made
    waveform, _ = sf.read(song, dtype="float32")
    blocks = families.get(ModelFamily.MDX_NET).native(waveform, bundle.spec_of(descriptor), graph, 0, None)
    native = np.concatenate([b for b, _ in blocks], axis=1)
    for s, (stem, path) in enumerate(zip(stems, downloads, strict=True)):
        ours, _ = sf.read(path, dtype="float32")
        assert ours.shape == native[s].shape
        sdr = sdr_db(native[s], ours)
        print(f"{session.name} MDX-Net {stem}: browser vs native {sdr:.1f} dB (16-bit WAV)")
        assert sdr >= 40.0, (stem, sdr)
        assert np.sqrt(np.mean(ours**2)) > 1e-3
