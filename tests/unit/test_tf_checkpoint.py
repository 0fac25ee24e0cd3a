import hashlib
import json

import numpy as np
import pytest

from builder.tf_checkpoint import CheckpointError, read_checkpoint
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
