"""MDX-Net (UVR's ``UVR-MDX-NET-*.onnx``, ``Kim_Vocal_*.onnx``): a chunk's complex spectrogram in,
the primary stem's out, both ``(nb_batch, 4, dim_f, dim_t)``; chunks, STFT, iSTFT and the
Hann-weighted overlap-add outside the graph (``builder/mdx_chunks.py``, twin of the extension's
``inference/families/mdx-net.js``).

Nothing is built: UVR publishes these models only as ONNX graphs, which both sides run as they
are (the extension imports the ``.onnx`` itself, ``ui/mdx-import.js``). What the graph does not
say (``n_fft``, ``compensate``, which stem it gives) comes from UVR's table of known files or
from the user, in the descriptor's ``stft.nFft``, ``compensate`` and ``stems``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from builder.families.base import BuildContext, Built, Family, Tensor, UnsupportedModelError
from builder.mdx_chunks import MdxParams, stem_blocks
from builder.separate import Progress
from models.catalog import CatalogEntry
from models.spec import MaskExtension, MdxSpec, ModelFamily, ModelSpec

INPUTS = (Tensor("input", "1,4,dim_f,dim_t"),)
OUTPUTS = (Tensor("output", "1,4,dim_f,dim_t"),)


def build(ctx: BuildContext) -> Built:
    raise UnsupportedModelError("MDX-Net models are UVR's .onnx files, run as they are: nothing to build")


def parity_data(entry: CatalogEntry) -> list[str]:
    """None: tests/unit/test_mdx_net.py holds the pipeline to a transcription of audio-separator's."""
    return []


def descriptor_fields(spec: ModelSpec) -> dict:
    mdx = spec.mdx or MdxSpec()
    stft = spec.stft
    return {"stft": {"nFft": stft.n_fft, "nHop": stft.n_hop, "nbBins": stft.nb_bins, "nbFrames": stft.nb_frames},
            "compensate": mdx.compensate, "denoise": mdx.denoise, "overlap": mdx.overlap}  # fmt: skip


def params_of(spec: ModelSpec) -> MdxParams:
    mdx = spec.mdx or MdxSpec()
    return MdxParams(spec.stft.n_fft, spec.stft.nb_bins, spec.stft.nb_frames, mdx.compensate, mdx.denoise,
                     spec.stft.n_hop, mdx.overlap)  # fmt: skip


def graph_dims(shape: list) -> tuple[int, int]:
    """(dim_f, dim_t) of an MDX-Net tensor's shape [nb_batch, 4, dim_f, dim_t], which must be static."""
    if len(shape) != 4 or shape[1] != 4 or not all(isinstance(d, int) for d in shape[2:]):
        raise UnsupportedModelError(f"not an MDX-Net graph: its tensor is {shape}, not [batch, 4, dim_f, dim_t] "
                                    "with dim_f and dim_t fixed")  # fmt: skip
    return shape[2], shape[3]


def native(waveform: np.ndarray, spec: ModelSpec, model: Path, threads: int,
           mask_extension: MaskExtension | None) -> Iterator[tuple[np.ndarray, Progress]]:  # fmt: skip
    """The graph between our STFT and iSTFT; dim_f and dim_t are read from the graph and must
    agree with the spec's."""
    from builder.runtime import open_session

    session = open_session(model, threads)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if [t.name for t in inputs] != ["input"] or [t.name for t in outputs] != ["output"]:
        raise UnsupportedModelError(f"{model.name}: an MDX-Net graph has one input 'input' and one output 'output'")
    dims = graph_dims(inputs[0].shape)
    if dims != (spec.stft.nb_bins, spec.stft.nb_frames) or graph_dims(outputs[0].shape) != dims:
        raise UnsupportedModelError(f"{model.name}: the graph's dim_f, dim_t {dims} are not the descriptor's "
                                    f"{(spec.stft.nb_bins, spec.stft.nb_frames)}")  # fmt: skip

    def core(spec_in: np.ndarray) -> np.ndarray:
        return session.run(None, {"input": spec_in})[0]

    return stem_blocks(waveform, params_of(spec), core)


FAMILY = Family(ModelFamily.MDX_NET, INPUTS, OUTPUTS, build, parity_data, native)
