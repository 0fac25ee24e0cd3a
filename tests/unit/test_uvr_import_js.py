"""The page's half of importing a UVR MDX-Net .onnx, under Node: ``shared/md5.js`` against
hashlib (UVR's key: the MD5 of the last 10 000 x 1024 bytes, on files whose tails are built
for it), ``shared/onnx-graph.js`` on exported graphs, ``shared/mdx-model.js``'s refusals and
descriptor, and UVR's table (``shared/uvr-models.js``) consistent with the family's rules."""

from __future__ import annotations

import hashlib
import json
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from builder.families.mdx_net import graph_dims
from builder.mdx_chunks import consistent_n_ffts
from tests.node_tree import NODE, staged_script

pytestmark = pytest.mark.slow  # stages the extension
TAIL = 10000 * 1024

SCRIPT = """
import fs from 'node:fs';
import { md5Hex, uvrModelHash } from './shared/md5.js';
import { graphSignature } from './shared/onnx-graph.js';
import { mdxGraphDims, mdxDescriptor, consistentNffts, MdxRefusal } from './shared/mdx-model.js';
import { UVR_MDX_MODELS } from './shared/uvr-models.js';
const out = {};
const files = JSON.parse(fs.readFileSync('files.json', 'utf8'));
out.md5 = {};
out.uvr = {};
for (const name of files.md5) out.md5[name] = md5Hex(new Uint8Array(fs.readFileSync(name)));
for (const name of files.uvr) out.uvr[name] = await uvrModelHash(new Blob([fs.readFileSync(name)]));
out.graphs = {};
for (const name of files.graphs) {
  const bytes = new Uint8Array(fs.readFileSync(name));
  let signature = null;
  try { signature = graphSignature(bytes); } catch (error) { signature = { error: error.constructor.name }; }
  let dims;
  try { dims = mdxGraphDims(bytes); } catch (error) {
    dims = error instanceof MdxRefusal ? { refused: error.key, subs: error.subs } : { thrown: String(error) };
  }
  out.graphs[name] = { signature, dims };
}
out.table = Object.fromEntries(Object.entries(UVR_MDX_MODELS).map(([key, m]) => {
  const descriptor = mdxDescriptor({ ...m, dimT: 256, denoise: false, sha256: '0'.repeat(64) });
  return [key, { nFfts: consistentNffts(m.dimF, 256), stems: descriptor.stems }];
}));
fs.writeFileSync('out.json', JSON.stringify(out));
"""


def _graph(path, shape, names=("input", "output"), elem=TensorProto.FLOAT, with_initializer_input=False):
    """A one-node ONNX graph (Identity, or Add of an initializer) from ``names[0]`` to ``names[1]``."""
    (iname, oname), inits = names, []
    graph_inputs = [helper.make_tensor_value_info(iname, elem, shape)]
    nodes = [helper.make_node("Identity", [iname], [oname])]
    if with_initializer_input:  # old exporters list the weights as inputs too
        inits.append(helper.make_tensor("w", TensorProto.FLOAT, [1], [0.5]))
        graph_inputs.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [1]))
        nodes = [helper.make_node("Add", [iname, "w"], [oname])]
    graph = helper.make_graph(nodes, "g", graph_inputs, [helper.make_tensor_value_info(oname, elem, shape)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    return path


def test_uvr_import_under_node(tmp_path):
    rng = np.random.default_rng(3)
    md5_files, uvr_files, expected_md5, expected_uvr = [], [], {}, {}
    for length in [0, 1, 55, 56, 63, 64, 65, 127, 1000, 100_003]:
        path = tmp_path / f"bytes-{length}"
        data = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        path.write_bytes(data)
        md5_files.append(str(path))
        expected_md5[str(path)] = hashlib.md5(data).hexdigest()
    # UVR's key: two files with the same last 10 000 x 1024 bytes and different heads share it;
    # a file one byte shorter than the tail is hashed whole (UVR's seek fails, it hashes all).
    tail = rng.integers(0, 256, TAIL, dtype=np.uint8).tobytes()
    for name, data in [("head-a", b"a" * 5000 + tail), ("head-b", b"bb" * 777 + tail), ("exact", tail),
                       ("short", tail[1:])]:  # fmt: skip
        path = tmp_path / name
        path.write_bytes(data)
        uvr_files.append(str(path))
        expected_uvr[str(path)] = hashlib.md5(data[-TAIL:]).hexdigest()

    static = [1, 4, 2048, 256]
    graphs = {
        "mdx": _graph(tmp_path / "mdx.onnx", ["batch", 4, 3072, 256]),
        "mdx-init": _graph(tmp_path / "mdx-init.onnx", static, with_initializer_input=True),
        "names": _graph(tmp_path / "names.onnx", static, names=("x", "y")),
        "dynamic": _graph(tmp_path / "dynamic.onnx", [1, 4, 2048, "time"]),
        "double": _graph(tmp_path / "double.onnx", static, elem=TensorProto.DOUBLE),
        "too-many-bins": _graph(tmp_path / "bins.onnx", [1, 4, 4000, 256]),
    }
    not_onnx = tmp_path / "song.onnx"
    not_onnx.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    graph_files = [*map(str, graphs.values()), str(not_onnx)]

    staged = staged_script(tmp_path / "stage", SCRIPT)
    (staged / "files.json").write_text(json.dumps({"md5": md5_files, "uvr": uvr_files, "graphs": graph_files}))
    subprocess.run([*NODE, "check.mjs"], cwd=staged, check=True, timeout=300)
    out = json.loads((staged / "out.json").read_text())

    assert out["md5"] == expected_md5
    assert out["uvr"] == expected_uvr
    assert out["uvr"][str(tmp_path / "head-a")] == out["uvr"][str(tmp_path / "head-b")]
    assert out["uvr"][str(tmp_path / "short")] == hashlib.md5(tail[1:]).hexdigest()

    got = {name: out["graphs"][str(path)] for name, path in graphs.items()}
    assert got["mdx"]["signature"]["inputs"] == [{"name": "input", "elemType": 1, "dims": ["batch", 4, 3072, 256]}]
    assert got["mdx"]["dims"] == {"dimF": 3072, "dimT": 256}
    assert [i["name"] for i in got["mdx-init"]["signature"]["inputs"]] == ["input"]  # the initializer is not an input
    assert got["mdx-init"]["dims"] == {"dimF": 2048, "dimT": 256}
    assert graph_dims([1, 4, 2048, 256]) == (2048, 256)  # the native side's reading, the same
    for name in ["names", "dynamic", "double"]:
        assert got[name]["dims"]["refused"] == "mdxNotMdxNet", got[name]
    assert "x [1, 4, 2048, 256]" in got["names"]["dims"]["subs"][0]  # the message says what the file has
    assert got["too-many-bins"]["dims"]["refused"] == "mdxNoNfft"
    assert out["graphs"][str(not_onnx)]["dims"]["refused"] == "mdxNotOnnx"

    # UVR's table: every entry's n_fft among those consistent with its dim_f (the JS rule and the Python one)
    table = {"970b3f9492014d18fefeedfe4773cb42": 7680, "73492b58195c3b52d34590d5474452f6": 7680,
             "77d07b2667ddf05b9e3175941b4454a0": 7680, "1d64a6d2c30f709b8c9b4ce1366d96ee": 5120,
             "0ddfc0eb5792638ad5dc27850236c246": 6144}  # fmt: skip
    assert set(out["table"]) == set(table)
    for key, n_fft in table.items():
        assert n_fft in out["table"][key]["nFfts"]
    assert out["table"]["1d64a6d2c30f709b8c9b4ce1366d96ee"]["stems"] == ["instrumental", "vocals"]  # KARA_2
    assert out["table"]["970b3f9492014d18fefeedfe4773cb42"]["stems"] == ["vocals", "instrumental"]
    assert consistent_n_ffts(3072) == out["table"]["970b3f9492014d18fefeedfe4773cb42"]["nFfts"]
