"""Model bundles for tests: a valid bundle's parts re-zipped, and the bad ones the issue lists
(each tiny, made from a real bundle's descriptor), with the message each must be refused with.

The zip writer is our own (stored entries, ZIP64 where asked) so that a test can declare sizes
that the data does not have, as a zip bomb does; Python's zipfile cannot write such a file.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from builder.bundle import DESCRIPTOR_PART, FORMAT, FORMAT_VERSION, MANIFEST_PART, MODEL_PART, REPORT_PART


def write_zip(entries: list[tuple[str, bytes]], declared: dict[str, int] | None = None) -> bytes:
    """A stored zip of ``entries``; ``declared`` overrides an entry's uncompressed size in the
    central directory (ZIP64 extra field, so that sizes over 4 GiB can be declared)."""
    declared = declared or {}
    out, central = bytearray(), bytearray()
    for name, data in entries:
        raw_name, crc, offset = name.encode(), zlib.crc32(data), len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, crc, len(data), len(data), len(raw_name), 0)
        out += raw_name + data
        size = declared.get(name)
        if size is None:
            extra, fields = b"", (len(data), len(data))
        else:  # ZIP64: both sizes in the extra field, 0xFFFFFFFF in the header
            extra, fields = struct.pack("<HHQQ", 0x0001, 16, size, len(data)), (0xFFFFFFFF, 0xFFFFFFFF)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc, fields[1], fields[0],
                               len(raw_name), len(extra), 0, 0, 0, 0, offset)  # fmt: skip
        central += raw_name + extra
    start = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), start, 0)
    return bytes(out)


def parts_of(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def with_manifest(descriptor: dict, model: bytes, report: dict | None = None) -> list[tuple[str, bytes]]:
    """Entries of a bundle whose manifest's hashes match its parts (whatever the parts say)."""
    parts = {
        MODEL_PART: model,
        DESCRIPTOR_PART: json.dumps(descriptor).encode(),
        REPORT_PART: json.dumps(report or {"artifacts": []}).encode(),
    }
    listed = {n: {"bytes": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in parts.items()}
    manifest = {"format": FORMAT, "version": FORMAT_VERSION, "model": descriptor.get("name"),
                "precision": descriptor.get("precision"), "parts": listed}  # fmt: skip
    return [(MANIFEST_PART, json.dumps(manifest).encode()), *parts.items()]


def tiny_onnx(nb_stems_out: int) -> bytes:
    """A spectral-mask graph of the right names whose masks have ``nb_stems_out`` stems:
    masks = sigmoid(magnitude) repeated on a new stem axis."""
    from onnx import TensorProto, helper

    magnitude = helper.make_tensor_value_info("magnitude", TensorProto.FLOAT, ["p", 2, "t", "f"])
    masks = helper.make_tensor_value_info("masks", TensorProto.FLOAT, ["p", nb_stems_out, 2, "t", "f"])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [helper.make_node("Sigmoid", ["magnitude"], ["s"]), helper.make_node("Unsqueeze", ["s", "axes"], ["u"]),
             helper.make_node("Concat", ["u"] * nb_stems_out, ["masks"], axis=1)]  # fmt: skip
    graph = helper.make_graph(nodes, "tiny", [magnitude], [masks], initializer=[axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    return model.SerializeToString()


@dataclass(frozen=True)
class BadBundle:
    name: str  # file name, also the test id
    data: bytes
    message: str  # a fragment of the extension's refusal (English)
    python_message: str  # a fragment of builder/bundle.py's refusal


def bad_bundles(good: Path) -> list[BadBundle]:
    """The issue's list, each a tiny file: a valid spectral-mask bundle ``good`` gives the
    descriptor, a tiny graph of the right tensor names (``tiny_onnx``) stands in for its model."""
    descriptor = {**json.loads(parts_of(good)[DESCRIPTOR_PART]), "stems": ["a", "b", "c", "d"]}
    model = tiny_onnx(4)
    descriptor["sha256"] = hashlib.sha256(model).hexdigest()
    valid = with_manifest(descriptor, model)
    narrow = tiny_onnx(2)
    wrong_hash = [(n, d + b" " if n == DESCRIPTOR_PART else d) for n, d in valid]
    whole = write_zip(valid)
    return [
        BadBundle("declares-10-gb.demixer", write_zip(valid, {MODEL_PART: 10 * 10**9}),
                  "refused before unpacking", "over the limit"),
        BadBundle("path-traversal.demixer", write_zip([*valid, ("../../evil.js", b"alert(1)")]),
                  "unexpected file", "unexpected file"),
        BadBundle("html-stem.demixer",
                  write_zip(with_manifest({**descriptor, "stems": ["<img src=x onerror=alert(1)>", "b"]}, model)),
                  "not allowed in file names", "is not allowed"),
        BadBundle("10000-stems.demixer",
                  write_zip(with_manifest({**descriptor, "stems": [f"s{i}" for i in range(10000)]}, model)),
                  "this one declares 10000", "lists 10000"),
        BadBundle("truncated.demixer", whole[: len(whole) // 2], "damaged or truncated", "cannot be read"),
        BadBundle("wrong-hash.demixer", write_zip(wrong_hash), "does not match its sha256", "does not match"),
        BadBundle("not-onnx.demixer",
                  write_zip(with_manifest({**descriptor, "sha256": hashlib.sha256(b"not onnx").hexdigest()},
                                          b"not onnx")),
                  "onnxruntime cannot load", "onnxruntime cannot load"),
        BadBundle("wrong-output-shape.demixer",
                  write_zip(with_manifest({**descriptor, "sha256": hashlib.sha256(narrow).hexdigest()}, narrow)),
                  "declares nb_patches,nb_stems", "declares nb_patches,nb_stems"),
    ]  # fmt: skip


def hostile_onnx(kind: str, nb_stems: int) -> bytes:
    """``tiny_onnx(nb_stems)`` whose magnitude first goes through a hostile branch that adds
    nothing (its result times 0), so that every name, shape and output size is valid:
    ``constant-of-shape``: a ``ConstantOfShape`` of n * 2^31 floats (n: the input's size), which
    overflows a 32-bit size (onnxruntime-web) and asks for petabytes natively;
    ``loop``: a ``Loop`` of 2^40 trips adding one to a scalar (days, in any runtime).
    The branch depends on the input, so onnxruntime cannot fold it away at load."""
    from onnx import TensorProto, helper

    magnitude = helper.make_tensor_value_info("magnitude", TensorProto.FLOAT, ["p", 2, "t", "f"])
    masks = helper.make_tensor_value_info("masks", TensorProto.FLOAT, ["p", nb_stems, 2, "t", "f"])
    const = lambda name, kind_, dims, values: helper.make_node(  # noqa: E731
        "Constant", [], [name], value=helper.make_tensor(name + "_value", kind_, dims, values)
    )
    if kind == "constant-of-shape":
        branch = [
            helper.make_node("Size", ["magnitude"], ["n"]),
            helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"]),
            const("big", TensorProto.INT64, [1], [2**31]),
            helper.make_node("Concat", ["n1", "big"], ["shape"], axis=0),
            helper.make_node("ConstantOfShape", ["shape"], ["bomb"],
                             value=helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])),
            helper.make_node("ReduceSum", ["bomb"], ["total"], keepdims=0),
        ]  # fmt: skip
    elif kind == "loop":
        body = helper.make_graph(
            [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
             const("one", TensorProto.FLOAT, [], [1.0]),
             helper.make_node("Add", ["v_in", "one"], ["v_out"])],
            "spin",
            [helper.make_tensor_value_info("i", TensorProto.INT64, []),
             helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
             helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [])],
            [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
             helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [])],
        )  # fmt: skip
        branch = [
            helper.make_node("ReduceSum", ["magnitude"], ["v0"], keepdims=0),
            const("trips", TensorProto.INT64, [], [2**40]),
            const("go", TensorProto.BOOL, [], [True]),
            helper.make_node("Loop", ["trips", "go", "v0"], ["total"], body=body),
        ]
    else:
        raise ValueError(kind)
    nodes = [
        *branch,
        const("nought", TensorProto.FLOAT, [], [0.0]),
        helper.make_node("Mul", ["total", "nought"], ["nothing"]),
        helper.make_node("Add", ["magnitude", "nothing"], ["same"]),
        helper.make_node("Sigmoid", ["same"], ["s"]),
        helper.make_node("Unsqueeze", ["s", "axes1"], ["u"]),
        helper.make_node("Concat", ["u"] * nb_stems, ["masks"], axis=1),
    ]
    axes = [helper.make_tensor("axes1", TensorProto.INT64, [1], [1])]
    if kind == "constant-of-shape":
        axes.append(helper.make_tensor("axes0", TensorProto.INT64, [1], [0]))
    graph = helper.make_graph(nodes, f"hostile-{kind}", [magnitude], [masks], initializer=axes)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    return model.SerializeToString()


HOSTILE_KINDS = ("constant-of-shape", "loop")


def hostile_bundles(good: Path) -> dict[str, bytes]:
    """kind -> a bundle valid in every field the import checks (names, hashes, sizes, the
    descriptor of ``good``, a spectral-mask bundle; tensor names and shapes) whose model is
    ``hostile_onnx(kind)``: only running it shows what it does."""
    descriptor = json.loads(parts_of(good)[DESCRIPTOR_PART])
    made = {}
    for kind in HOSTILE_KINDS:
        model = hostile_onnx(kind, len(descriptor["stems"]))
        entries = with_manifest({**descriptor, "sha256": hashlib.sha256(model).hexdigest()}, model)
        made[kind] = write_zip(entries)
    return made
