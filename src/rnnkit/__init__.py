"""rnnkit: recurrent neural networks for sequence data. Batch-first everywhere."""

from rnnkit._version import __version__

__all__ = ["__version__"]
