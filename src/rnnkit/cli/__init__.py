"""The ``rnnkit`` command line: argument parsing only, over the Python API. Entry point: ``rnnkit.cli.main``."""
