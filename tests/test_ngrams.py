"""The n-gram partner of text classifiers: its features are scikit-learn's TF-IDF (word 1-2 grams and char_wb 2-5
grams, sublinear tf, smooth idf, min_df 2, each block L2-normalised), hashed; its weights are scikit-learn's logistic
regression on those features; the AutoClassifier mixes it in on the validation share and saves it."""

import zlib

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from rnnkit.eval.reports.document import Report
from rnnkit.eval.reports.selection import add_selection_section
from rnnkit.pipelines.select.classify import NGRAM_WEIGHTS, AutoClassifier
from rnnkit.tasks.models.ngrams import NgramClassifier, NgramConfig, hashed_counts

WORDS = ["good", "great", "awful", "bad", "film", "plot", "the", "a", "was", "really", "not", "I", "it's", "!!"]


def corpus(n=60, seed=0):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        words = list(rng.choice(WORDS, size=rng.integers(3, 9)))
        label = "pos" if {"good", "great"} & set(words) else "neg" if {"awful", "bad"} & set(words) else "neutral"
        texts.append(" ".join(words) + (" Great\tSHOW" if i % 7 == 0 else ""))
        labels.append(label)
    return texts, labels


def sklearn_features(texts, buckets):
    """scikit-learn's two TF-IDF blocks side by side, each column moved to its n-gram's hashed bucket."""
    rows, columns, values, names = [], [], [], []
    for kind, vectorizer in (("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)),
                             ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                                      min_df=2))):
        block = vectorizer.fit_transform(texts).tocoo()
        bucket = np.array([zlib.crc32(f"{kind}:{gram}".encode()) % buckets
                           for gram in vectorizer.get_feature_names_out()])
        rows.append(block.row), columns.append(bucket[block.col]), values.append(block.data)
        names += [f"{kind}:{gram}" for gram in vectorizer.get_feature_names_out()]
    matrix = sparse.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
                               shape=(len(texts), buckets))
    return matrix, names


def test_features_are_scikit_learns_tfidf_hashed():
    texts, labels = corpus()
    model = NgramClassifier.fit(texts, labels, NgramConfig(buckets=2 ** 20))
    expected, names = sklearn_features(texts, 2 ** 20)
    buckets = {zlib.crc32(name.encode()) % 2 ** 20 for name in names}
    assert len(buckets) == len(names)  # no two kept n-grams share a bucket here: the idf is each n-gram's own
    ours = model._features(hashed_counts(texts, model.config), len(texts)).to_sparse_coo().coalesce()
    row, column = ours.indices().numpy()
    ours = sparse.csr_matrix((ours.values().double().numpy(), (row, column)), shape=expected.shape)
    assert abs(ours - expected).max() < 1e-6 and expected.nnz > 500


def test_counting_in_chunks_changes_nothing(monkeypatch):
    texts, _ = corpus(50)
    whole = hashed_counts(texts, NgramConfig())
    monkeypatch.setattr("rnnkit.tasks.models.ngrams.CHUNK", 7)
    chunked = hashed_counts(texts, NgramConfig())
    assert all(np.array_equal(a, b) for kind in whole for a, b in zip(whole[kind], chunked[kind]))


def test_weights_are_scikit_learns_logistic_regression():
    texts, labels = corpus()
    config = NgramConfig(buckets=2 ** 16, C=1.0, max_iter=2000)
    model = NgramClassifier.fit(texts, labels, config)
    features = model._features(hashed_counts(texts, config), len(texts)).to_dense().double().numpy()
    assert (features != 0).any(axis=1).all()
    reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=5000).fit(sparse.csr_matrix(features), labels)
    assert list(reference.classes_) == model.labels
    assert np.allclose(model.predict_proba(texts), reference.predict_proba(sparse.csr_matrix(features)), atol=2e-4)


def test_it_learns_and_saves_without_code(tmp_path):
    texts, labels = corpus(200)
    test_texts, test_labels = corpus(100, seed=1)
    model = NgramClassifier.fit(texts, labels)
    assert np.mean(np.asarray(model.predict(test_texts)) == np.asarray(test_labels)) >= 0.9
    model.save(tmp_path / "ngrams")
    assert sorted(p.name for p in (tmp_path / "ngrams").iterdir()) == ["ngrams.json", "ngrams.safetensors"]
    assert np.array_equal(NgramClassifier.load(tmp_path / "ngrams").predict_proba(test_texts),
                          model.predict_proba(test_texts))


def test_text_selection_mixes_in_the_ngram_model_by_validation_loss(tmp_path):
    texts, labels = corpus(120)
    test_texts, _ = corpus(40, seed=1)
    auto = AutoClassifier("20s", progress="none", train={"max_epochs": 2, "patience": None}).fit(texts, labels)
    mixtures = {row["ngram_weight"]: row["validation_loss"] for row in auto.summary["mixtures"]}
    assert set(mixtures) == {*NGRAM_WEIGHTS, 1.0}
    assert auto.ngram_weight == min(NGRAM_WEIGHTS, key=lambda w: (mixtures[w], w))
    # two epochs leave the network far behind the n-gram model on this task: the mixture leans on the n-grams
    assert auto.ngram_weight > 0 and auto.ngrams is not None
    rnn = np.mean([member.predict_proba(test_texts) for member in auto.members], axis=0)
    expected = (1 - auto.ngram_weight) * rnn + auto.ngram_weight * auto.ngrams.predict_proba(test_texts)
    assert np.allclose(auto.predict_proba(test_texts), expected)
    auto.save(tmp_path / "auto")
    assert np.allclose(AutoClassifier.load(tmp_path / "auto").predict_proba(test_texts), expected)
    report = add_selection_section(Report("texts"), auto.summary, auto.table, scored_on="the validation share")
    report.write(tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()
    assert "the n-gram model alone" in html and f"weight {auto.ngram_weight:g} gave the lowest" in html


def test_numeric_sequences_get_no_ngram_model():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(5, 2)) + (i % 2) for i in range(24)]
    y = [i % 2 for i in range(24)]
    auto = AutoClassifier("5s", progress="none", train={"max_epochs": 1}).fit(X, y)
    assert auto.ngrams is None and auto.ngram_weight == 0 and "mixtures" not in auto.summary


@pytest.mark.parametrize("classes, buckets", [(2, 2 ** 20), (3, 2 ** 20), (5, 2 ** 19), (100, 2 ** 15), (5000, 2 ** 12)])
def test_many_classes_get_fewer_buckets(classes, buckets):
    from rnnkit.tasks.models.ngrams import buckets_for

    assert buckets_for(classes) == buckets
