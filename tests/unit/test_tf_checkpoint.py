import hashlib
import json

import numpy as np
import pytest

from builder.tf_checkpoint import CheckpointError, read_checkpoint, write_checkpoint
from tests.conftest import DATA


def test_reader_matches_tensorflows_own_reader(checkpoint):
    """Every variable, shape and byte equals what tf.train.load_checkpoint returned."""
    listing = json.loads((DATA / "checkpoint-listing.json").read_text())
    tensors = read_checkpoint(checkpoint)
    assert sorted(tensors) == sorted(listing)
    for name, expected in listing.items():
        value = np.asarray(tensors[name], order="C")
        assert list(value.shape) == expected["shape"], name
        assert str(value.dtype) == expected["dtype"], name
        assert hashlib.sha256(value.tobytes()).hexdigest() == expected["sha256"], name


def test_not_a_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "model.index").write_bytes(b"definitely not an sstable" * 4)
    with pytest.raises(CheckpointError, match="bad magic"):
        read_checkpoint(tmp_path / "model")


def test_missing_data_shard_is_a_clear_error(tmp_path, checkpoint):
    index = checkpoint.with_name("model.index")
    (tmp_path / "model.index").write_bytes(index.read_bytes())
    with pytest.raises(CheckpointError, match="missing checkpoint data file"):
        read_checkpoint(tmp_path / "model")


def test_writer_round_trips_the_published_checkpoint_through_the_reader(tmp_path, checkpoint):
    """The writer (random-weight test checkpoints; TF's Saver restores them in make_golden_random.py)
    is the reader's exact inverse; a folder holding one bundle reads like its prefix."""
    tensors = read_checkpoint(checkpoint)
    again = read_checkpoint(write_checkpoint(tmp_path / "copy" / "model", tensors).parent)
    assert sorted(again) == sorted(tensors)
    assert all(np.array_equal(again[name], tensors[name]) for name in tensors)


def test_a_folder_with_two_checkpoints_is_ambiguous(tmp_path):
    for prefix in ("a", "b"):
        write_checkpoint(tmp_path / prefix, {"x": np.zeros(2, np.float32)})
    with pytest.raises(CheckpointError, match="expected one checkpoint"):
        read_checkpoint(tmp_path)
