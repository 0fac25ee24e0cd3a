"""Read (and, for tests, write) a TensorFlow checkpoint bundle without TensorFlow.

A TF2/TF1 "tensor bundle" is two files:

* ``<prefix>.index``: a LevelDB-format SSTable (no compression, as TF writes it) whose keys are
  variable names and whose values are ``BundleEntryProto`` messages (dtype, shape, shard, offset,
  size, crc32c); the empty key holds the ``BundleHeaderProto``.
* ``<prefix>.data-SSSSS-of-NNNNN``: the raw little-endian tensor bytes.

Formats: tensorflow/core/util/tensor_bundle/tensor_bundle.proto and LevelDB's table_format.md.
We read it ourselves (about a hundred lines) instead of importing TensorFlow (hundreds of MB, and
no wheel for every Python we run on) just to read ~20 float arrays; ``tests/unit`` checks this
reader against a listing produced by TensorFlow's own reader (``scripts/make_golden.py``).

:func:`write_checkpoint` is the inverse, for checkpoints of randomly initialised models in
Spleeter's own format (tests of the 4/5-stem converters); TensorFlow's ``Saver`` restores what it
writes (``scripts/make_golden_random.py`` does exactly that).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_LEN = 48
_BLOCK_TRAILER_LEN = 5  # 1 byte compression type + 4 bytes masked crc32c
# tensorflow/core/framework/types.proto DataType -> numpy
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_}
_CRC32C_MASK_DELTA = 0xA282EAD8  # LevelDB/TF store crc32c "masked": rotated right 15, plus this


def _masked_crc32c(data: bytes) -> int:
    import google_crc32c  # dev dependency: only writing checkpoints (tests, scripts) needs it

    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _CRC32C_MASK_DELTA) & 0xFFFFFFFF


class CheckpointError(ValueError):
    """The files are not a readable TensorFlow checkpoint bundle."""


@dataclass(frozen=True)
class _Entry:
    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _proto_fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """Decode one protobuf message into (field number, value) pairs (wire types 0, 1, 2, 5)."""
    fields: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire}")
        fields.append((number, value))
    return fields


def _parse_entry(buf: bytes) -> _Entry:
    dtype = shard_id = offset = size = 0
    shape: list[int] = []
    for number, value in _proto_fields(buf):
        if number == 1:
            dtype = int(value)  # type: ignore[arg-type]
        elif number == 2:
            for dim_number, dim in _proto_fields(value):  # type: ignore[arg-type]
                if dim_number == 2:  # TensorShapeProto.dim
                    sizes = [v for n, v in _proto_fields(dim) if n == 1]  # type: ignore[arg-type]
                    shape.append(int(sizes[0]) if sizes else 0)  # type: ignore[arg-type]
        elif number == 3:
            shard_id = int(value)  # type: ignore[arg-type]
        elif number == 4:
            offset = int(value)  # type: ignore[arg-type]
        elif number == 5:
            size = int(value)  # type: ignore[arg-type]
        elif number == 7:
            raise CheckpointError("partitioned (sliced) variables are not supported")
    return _Entry(dtype, tuple(shape), shard_id, offset, size)


def _block_entries(table: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    if table[offset + size] != 0:
        raise CheckpointError("compressed SSTable blocks are not supported")
    block = table[offset : offset + size]
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * num_restarts
    entries: list[tuple[bytes, bytes]] = []
    key = b""
    pos = 0
    while pos < end:
        shared, pos = _varint(block, pos)
        non_shared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + non_shared]
        pos += non_shared
        entries.append((key, block[pos : pos + value_len]))
        pos += value_len
    return entries


def _index_entries(index: bytes) -> dict[str, _Entry]:
    if len(index) < _FOOTER_LEN:
        raise CheckpointError("index file too short")
    footer = index[-_FOOTER_LEN:]
    if struct.unpack("<Q", footer[-8:])[0] != _TABLE_MAGIC:
        raise CheckpointError("not an SSTable (bad magic number)")
    _, pos = _varint(footer, 0)  # metaindex handle: offset
    _, pos = _varint(footer, pos)  # metaindex handle: size
    index_offset, pos = _varint(footer, pos)
    index_size, _ = _varint(footer, pos)
    entries: dict[str, _Entry] = {}
    for _, handle in _block_entries(index, index_offset, index_size):
        block_offset, pos = _varint(handle, 0)
        block_size, _ = _varint(handle, pos)
        for key, value in _block_entries(index, block_offset, block_size):
            if key:  # the empty key is the BundleHeaderProto
                entries[key.decode()] = _parse_entry(value)
    return entries


def read_checkpoint(prefix: Path | str) -> dict[str, np.ndarray]:
    """All variables of the bundle at ``prefix`` (e.g. ``.../2stems/model``, or the folder holding
    exactly one bundle, e.g. ``.../pretrained_models/4stems``), by name.

    Raises:
        CheckpointError: missing files, unsupported layout, or sizes that do not add up.
    """
    prefix = Path(prefix)
    if prefix.is_dir():
        indexes = sorted(prefix.glob("*.index"))
        if len(indexes) != 1:
            raise CheckpointError(f"{prefix}: expected one checkpoint (*.index), found {len(indexes)}")
        prefix = indexes[0].with_suffix("")
    index_path = prefix.with_name(prefix.name + ".index")
    if not index_path.is_file():
        raise CheckpointError(f"no checkpoint index at {index_path}")
    entries = _index_entries(index_path.read_bytes())
    shards: dict[int, bytes] = {}
    tensors: dict[str, np.ndarray] = {}
    for name, entry in sorted(entries.items()):
        if entry.dtype not in _DTYPES:
            continue  # e.g. DT_STRING bookkeeping variables; never model weights
        if entry.shard_id not in shards:
            n_shards = len({e.shard_id for e in entries.values()})
            data_path = prefix.with_name(f"{prefix.name}.data-{entry.shard_id:05d}-of-{n_shards:05d}")
            if not data_path.is_file():
                raise CheckpointError(f"missing checkpoint data file {data_path}")
            shards[entry.shard_id] = data_path.read_bytes()
        raw = shards[entry.shard_id][entry.offset : entry.offset + entry.size]
        dtype = np.dtype(_DTYPES[entry.dtype]).newbyteorder("<")
        count = int(np.prod(entry.shape, dtype=np.int64))
        if len(raw) != count * dtype.itemsize:
            raise CheckpointError(f"{name}: {len(raw)} bytes for shape {entry.shape}")
        tensors[name] = np.frombuffer(raw, dtype=dtype).reshape(entry.shape).copy()
    return tensors


def _put_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _proto_field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return _put_varint(number << 3 | 2) + _put_varint(len(value)) + value
    return _put_varint(number << 3) + _put_varint(value)


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    """An SSTable block: every key whole (no prefix sharing), one restart point."""
    body = b"".join(_put_varint(0) + _put_varint(len(k)) + _put_varint(len(v)) + k + v for k, v in entries)
    return body + struct.pack("<II", 0, 1)


def write_checkpoint(prefix: Path | str, variables: dict[str, np.ndarray]) -> Path:
    """Write ``variables`` (float32) as a one-shard bundle at ``prefix``; returns ``prefix``.

    Uncompressed SSTable with checksums, as TensorFlow's ``BundleWriter`` writes it.
    """
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    data = bytearray()
    entries: list[tuple[bytes, bytes]] = []
    version = _proto_field(1, 1)  # VersionDef.producer
    entries.append((b"", _proto_field(1, 1) + _proto_field(3, version)))  # header: 1 shard, little-endian
    for name in sorted(variables):
        raw = np.ascontiguousarray(variables[name], dtype="<f4").tobytes()
        dims = b"".join(_proto_field(2, _proto_field(1, size)) for size in variables[name].shape)
        entry = _proto_field(1, 1) + _proto_field(2, dims) + _proto_field(4, len(data)) + _proto_field(5, len(raw))
        entry += _put_varint(6 << 3 | 5) + struct.pack("<I", _masked_crc32c(raw))
        entries.append((name.encode(), entry))
        data += raw

    table = bytearray()

    def append_block(contents: bytes) -> bytes:
        handle = _put_varint(len(table)) + _put_varint(len(contents))
        table.extend(contents + b"\0" + struct.pack("<I", _masked_crc32c(contents + b"\0")))
        return handle

    data_handle = append_block(_block(entries))
    meta_handle = append_block(_block([]))
    index_handle = append_block(_block([(entries[-1][0], data_handle)]))
    footer = (meta_handle + index_handle).ljust(_FOOTER_LEN - 8, b"\0") + struct.pack("<Q", _TABLE_MAGIC)
    prefix.with_name(prefix.name + ".index").write_bytes(bytes(table) + footer)
    prefix.with_name(prefix.name + ".data-00000-of-00001").write_bytes(bytes(data))
    return prefix
