"""Data sets for examples, tests and benchmarks, read from registry packages or generated (nothing downloaded)."""

from rnnkit.datasets.airline import load_airline
from rnnkit.datasets.bible import load_bible_pairs, split_by_book
from rnnkit.datasets.cmudict import load_cmudict, split_by_word, strip_stress
from rnnkit.datasets.digit_strings import digit_strings_split, make_digit_strings
from rnnkit.datasets.elecdemand import load_elecdemand
from rnnkit.datasets.handwriting import handwriting_split, make_handwriting
from rnnkit.datasets.shakespeare import load_shakespeare, shakespeare_splits
from rnnkit.datasets.spoken_digits import make_spoken_digits
from rnnkit.datasets.tweets import load_tweets
from rnnkit.datasets.twemoji import load_twemoji, split_emoji
from rnnkit.datasets.ucr import UCR_DATASETS, load_ucr

__all__ = ["load_airline", "load_elecdemand", "UCR_DATASETS", "load_ucr", "load_tweets", "make_spoken_digits",
           "load_shakespeare", "shakespeare_splits",
           "make_handwriting", "handwriting_split", "make_digit_strings", "digit_strings_split",
           "load_cmudict", "split_by_word", "strip_stress", "load_bible_pairs", "split_by_book", "load_twemoji",
           "split_emoji"]
