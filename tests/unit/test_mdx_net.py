"""MDX-Net natively (``builder/mdx_chunks.py``, ``builder/families/mdx_net.py``): the STFT pair
against torch's, and the whole pipeline on real music through a random-weight ConvTDFNet
(``models/mdx_net.py``, UVR's architecture at reduced width) exported to ONNX with UVR's I/O,
against the transcription of python-audio-separator's MDXSeparator (``tests/mdx_reference.py``),
for each n_fft UVR uses, denoise off and on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from builder import bundle, families
from builder.audio_io import to_stereo
from builder.families.base import UnsupportedModelError
from builder.mdx_chunks import MdxParams, consistent_n_ffts, istft, separate_mdx, stft
from builder.validate import sdr_db
from models.spec import MdxSpec, ModelFamily, ModelSpec, StftSpec
from tests import mdx_reference

# (n_fft, dim_f) of UVR's table: KARA_2, Inst HQ 3, Kim_Vocal_2 / Voc_FT
GEOMETRIES = [(5120, 2048), (6144, 3072), (7680, 3072)]
DIM_T = 256  # every published model's (mdx_dim_t_set 8)
REDUCED = {"g": 8, "num_blocks": 5}  # UVR's layer types at a fraction of the width and depth


@pytest.mark.parametrize(("n_fft", "dim_f"), GEOMETRIES)
def test_stft_pair_is_torchs(n_fft, dim_f):
    params = MdxParams(n_fft, dim_f, DIM_T)
    chunk = np.random.default_rng(n_fft).standard_normal((2, params.chunk)).astype(np.float32) * 0.1
    ours = stft(chunk, params)
    theirs = mdx_reference.Stft(n_fft, 1024, dim_f)(torch.from_numpy(chunk)[None])
    theirs[:, :, :3, :] = 0
    assert ours.shape == (1, 4, dim_f, DIM_T)
    assert np.max(np.abs(ours - theirs.numpy())) <= 1e-5 * np.max(np.abs(ours))
    back = mdx_reference.Stft(n_fft, 1024, dim_f).inverse(torch.from_numpy(ours)).numpy()[0]
    assert np.max(np.abs(istft(ours, params) - back)) <= 1e-6


def test_n_fft_choices_are_those_with_enough_bins():
    assert consistent_n_ffts(2048) == [5120, 6144, 7680]
    assert consistent_n_ffts(2561) == [5120, 6144, 7680]
    assert consistent_n_ffts(2562) == [6144, 7680]
    assert consistent_n_ffts(3072) == [6144, 7680]
    assert consistent_n_ffts(3841) == [7680]
    with pytest.raises(ValueError, match="does not fit"):
        MdxParams(5120, 3072, DIM_T)


def random_graph(n_fft: int, dim_f: int, music: np.ndarray, path, dim_t: int = DIM_T, **sizes):
    """A random-weight MDX-Net ONNX graph with UVR's tensor names and shapes, its statistics
    taken on the first chunk of ``music`` (models/mdx_net.py: else its stem is silence)."""
    from builder.export import export_mdx_net
    from models.mdx_net import random_convtdfnet

    params = MdxParams(n_fft, dim_f, dim_t)
    probe = torch.from_numpy(stft(to_stereo(music)[: params.chunk].T, params))
    return export_mdx_net(random_convtdfnet(dim_f, dim_t, seed=n_fft, probe=probe, **(sizes or REDUCED)), path)


@pytest.fixture(scope="module")
def graphs(tmp_path_factory, excerpt):
    out = tmp_path_factory.mktemp("mdx")
    return {(n_fft, dim_f): random_graph(n_fft, dim_f, excerpt, out / f"mdx-{n_fft}-{dim_f}.onnx")
            for n_fft, dim_f in GEOMETRIES}  # fmt: skip


def _spec(n_fft: int, dim_f: int, compensate: float, denoise: bool) -> ModelSpec:
    return ModelSpec("random-mdx", ("vocals", "instrumental"), family=ModelFamily.MDX_NET,
                     stft=StftSpec(n_fft, 1024, dim_f, DIM_T), mdx=MdxSpec(compensate, denoise))  # fmt: skip


@pytest.mark.slow  # exports three graphs (~10 s each) and runs them twice per case on 8 s of music
# denoise is the same arithmetic at every geometry: once
@pytest.mark.parametrize(("n_fft", "dim_f", "denoise"), [(*g, False) for g in GEOMETRIES] + [(7680, 3072, True)])
def test_native_pipeline_matches_audio_separator(graphs, excerpt, n_fft, dim_f, denoise):
    from builder.runtime import open_session

    waveform = to_stereo(excerpt[: 8 * 44100]).astype(np.float32)  # four chunks
    spec = _spec(n_fft, dim_f, 1.035, denoise)
    family = families.get(ModelFamily.MDX_NET)
    blocks = list(family.native(waveform, spec, graphs[(n_fft, dim_f)], 0, None))
    ours = np.concatenate([b for b, _ in blocks], axis=1)
    session = open_session(graphs[(n_fft, dim_f)], 0)
    primary, secondary = mdx_reference.separate(waveform, lambda x: session.run(None, {"input": x})[0],
                                                n_fft, dim_f, DIM_T, 1.035, denoise)  # fmt: skip
    sdrs = [sdr_db(primary, ours[0]), sdr_db(secondary, ours[1])]
    level = np.std(primary) / np.std(waveform)
    print(f"n_fft {n_fft}, dim_f {dim_f}, denoise {denoise}: ours vs audio-separator SDR "
          f"{sdrs[0]:.1f} / {sdrs[1]:.1f} dB, primary at {level:.2f} of the mix")  # fmt: skip
    assert ours.shape == (2, *waveform.shape)
    assert level > 0.03  # the random net's stem is not silence
    assert min(sdrs) >= 40.0
    # block by block: 8 s take four chunks, the first two chunks' steps cover the track
    assert blocks[-1][1].done_samples == len(waveform) and len(blocks) == 2
    assert np.max(np.abs(ours[0] + ours[1] - waveform)) <= 1e-6  # the stems sum to the mix (compensate included)


@pytest.mark.slow
def test_native_refuses_a_graph_whose_dims_are_not_the_descriptors(graphs, excerpt):
    wrong = _spec(7680, 2048, 1.0, False)  # the 7680 graph has dim_f 3072
    with pytest.raises(UnsupportedModelError, match="dim_f"):
        next(families.get(ModelFamily.MDX_NET).native(excerpt[:44100], wrong, graphs[(7680, 3072)], 0, None))


def test_descriptor_rules_take_mdx_net_and_give_its_spec_back():
    spec = _spec(7680, 3072, 1.009, True)
    family = families.get(ModelFamily.MDX_NET)
    descriptor = {**family.descriptor(spec, families.mdx_net.descriptor_fields(spec)),
                  "precision": "fp32", "sha256": "0" * 64, "file": "x.onnx"}  # fmt: skip
    bundle.check_descriptor(descriptor)
    back = bundle.spec_of(descriptor)
    assert (back.stft, back.mdx, back.stems) == (spec.stft, spec.mdx, spec.stems)
    for field, value in [("stft", {**descriptor["stft"], "nFft": 4096}), ("compensate", 7), ("denoise", "yes")]:
        with pytest.raises(bundle.BundleError):
            bundle.check_descriptor({**descriptor, field: value})


def test_silence_gives_silence():
    params = MdxParams(5120, 2048, 16)  # a short chunk, any core
    stems = separate_mdx(np.zeros((30000, 2), np.float32), params, lambda x: x * 0.5)
    assert stems.shape == (2, 30000, 2) and not np.any(stems)
