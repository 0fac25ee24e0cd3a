"""Errors of the model code, in a module of their own so that loaders and the catalog share them
without importing each other."""


class CheckpointFormatError(ValueError):
    """The checkpoint file is not one the model's loader can rebuild."""
