"""Datasets as in-memory tensors, looked up below the data roots (:func:`data_roots`).

* :mod:`~mrvae.data.roots`: where files are searched, checked and downloaded to;
* :mod:`~mrvae.data.mnist`: MNIST from its idx files;
* :mod:`~mrvae.data.images`: the image datasets of Section 5.2 (:func:`load_dataset`);
* :mod:`~mrvae.data.dsprites`: dSprites, official or rendered (Section 5.4).
"""

from mrvae.data.images import ImageData, dynamic_binarize, load_dataset, subset
from mrvae.data.mnist import load_mnist
from mrvae.data.roots import DATA_ENV_VAR, DatasetNotFoundError, data_roots, find_dataset

__all__ = ["DATA_ENV_VAR", "DatasetNotFoundError", "ImageData", "data_roots", "dynamic_binarize", "find_dataset",
           "load_dataset", "load_mnist", "subset"]
