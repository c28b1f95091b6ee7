"""Datasets for training: built-in (offline, deterministic), MNIST/CIFAR files, the user's own.

Every loader returns a `Dataset` (float32 (N, C, H, W) images in [0, 1], int64 labels, train /
validation / test) or raises `DataError` with one sentence a user can act on.
"""

from cnnviz.data.builtin import BUILTINS, builtin
from cnnviz.data.cifar import load_cifar10
from cnnviz.data.core import (
    AUGMENTS,
    DataError,
    Dataset,
    augment_batch,
    max_shift,
    preview_grid,
    stratified_sample,
    stratified_split,
)
from cnnviz.data.mnist import load_mnist, read_idx
from cnnviz.data.safe_pickle import safe_unpickle
from cnnviz.data.user import from_images, from_zip

__all__ = [
    "AUGMENTS",
    "BUILTINS",
    "DataError",
    "Dataset",
    "augment_batch",
    "builtin",
    "from_images",
    "from_zip",
    "load_cifar10",
    "load_mnist",
    "read_idx",
    "safe_unpickle",
    "max_shift",
    "preview_grid",
    "stratified_sample",
    "stratified_split",
]
