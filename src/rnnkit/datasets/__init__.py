"""Data sets for examples, tests and benchmarks, read from registry packages or generated (nothing downloaded)."""

from rnnkit.datasets.airline import load_airline
from rnnkit.datasets.elecdemand import load_elecdemand
from rnnkit.datasets.shakespeare import load_shakespeare, shakespeare_splits
from rnnkit.datasets.spoken_digits import make_spoken_digits
from rnnkit.datasets.tweets import load_tweets
from rnnkit.datasets.ucr import UCR_DATASETS, load_ucr

__all__ = ["load_airline", "load_elecdemand", "UCR_DATASETS", "load_ucr", "load_tweets", "make_spoken_digits",
           "load_shakespeare", "shakespeare_splits"]
