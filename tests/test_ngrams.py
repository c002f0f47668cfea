"""The n-gram partner of text classifiers: its features are scikit-learn's TF-IDF (word 1-2 grams and char_wb 2-5
grams, sublinear tf, smooth idf, min_df 2, each block L2-normalised), hashed; its weights are scikit-learn's logistic
regression on those features; its second head is the multinomial NB-LR objective's minimum; the AutoClassifier mixes
it in on the validation share and saves it."""

import json
import zlib

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from scipy import optimize, sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import BernoulliNB

from rnnkit.eval.reports.document import Report
from rnnkit.eval.reports.selection import add_selection_section
from rnnkit.pipelines.select.classify import NGRAM_WEIGHTS, AutoClassifier
from rnnkit.tasks.models.ngrams import NgramClassifier, NgramConfig, _transpose, hashed_counts, naive_bayes_ratios

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
    config = NgramConfig(buckets=2 ** 16, C=1.0, max_iter=2000, naive_bayes_C=None)  # the plain head alone
    model = NgramClassifier.fit(texts, labels, config)
    features = model._features(hashed_counts(texts, config), len(texts)).to_dense().double().numpy()
    assert (features != 0).any(axis=1).all()
    reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=5000).fit(sparse.csr_matrix(features), labels)
    assert list(reference.classes_) == model.labels
    assert np.allclose(model.predict_proba(texts), reference.predict_proba(sparse.csr_matrix(features)), atol=2e-4)


def test_naive_bayes_ratios_are_the_log_count_ratios_of_bernoulli_counts():
    texts, labels = corpus()
    model = NgramClassifier.fit(texts, labels, NgramConfig(buckets=2 ** 12, max_iter=1))
    features = model._features(hashed_counts(texts, model.config), len(texts))
    target = torch.tensor([model.labels.index(label) for label in labels])
    ours = naive_bayes_ratios(_transpose(features), target, len(model.labels)).numpy().T
    in_class = BernoulliNB(binarize=0.0).fit(features.to_dense().numpy(), labels).feature_count_  # n_c(g)
    elsewhere = in_class.sum(0) - in_class
    p, q = 1 + in_class, 1 + elsewhere
    expected = np.log(p / p.sum(1, keepdims=True)) - np.log(q / q.sum(1, keepdims=True))
    assert np.allclose(ours, expected, atol=1e-5) and np.abs(expected).max() > 1


def test_the_naive_bayes_head_minimises_its_objective_and_the_heads_are_averaged():
    """The NB head's (V, b') against scipy's L-BFGS-B on the same objective in float64 (dense, autograd)."""
    texts, labels = corpus()
    C = 2.0
    model = NgramClassifier.fit(texts, labels, NgramConfig(buckets=2 ** 12, max_iter=2000, naive_bayes_C=C))
    features = model._features(hashed_counts(texts, model.config), len(texts))
    target = torch.tensor([model.labels.index(label) for label in labels])
    scale = naive_bayes_ratios(_transpose(features), target, len(model.labels)).double()
    X, k = features.to_dense().double(), len(model.labels)

    def objective(flat):
        parameters = torch.tensor(flat, requires_grad=True)
        V, b = parameters[:-k].view(-1, k), parameters[-k:]
        loss = (torch.nn.functional.cross_entropy(X @ (V * scale) + b, target)
                + V.pow(2).sum() / (2 * C * len(target)))
        loss.backward()
        return loss.item(), parameters.grad.numpy()

    solution = optimize.minimize(objective, np.zeros(X.shape[1] * k + k), jac=True, method="L-BFGS-B",
                                 options={"maxiter": 5000, "gtol": 1e-10, "ftol": 1e-14})
    V, b = torch.tensor(solution.x[:-k]).view(-1, k), torch.tensor(solution.x[-k:])
    expected_nb = torch.softmax(X @ (V * scale) + b, -1).numpy()
    heads = [torch.softmax(X @ w.double() + bias.double(), -1).numpy() for w, bias in zip(model.weight, model.bias)]
    assert len(heads) == 2 and np.allclose(heads[1], expected_nb, atol=2e-4)
    assert np.allclose(model.predict_proba(texts), (heads[0] + heads[1]) / 2, atol=1e-5)


def test_folders_saved_before_the_second_head_still_load(tmp_path):
    texts, labels = corpus(200)
    plain = NgramClassifier.fit(texts, labels, NgramConfig(buckets=2 ** 14, naive_bayes_C=None))
    plain.save(tmp_path)
    tensors = load_file(str(tmp_path / "ngrams.safetensors"))  # the old layout: one (buckets, classes) matrix
    save_file({**tensors, "weight": tensors["weight"][0].contiguous(), "bias": tensors["bias"][0].contiguous()},
              str(tmp_path / "ngrams.safetensors"))
    document = json.loads((tmp_path / "ngrams.json").read_text())
    del document["config"]["naive_bayes_C"]
    (tmp_path / "ngrams.json").write_text(json.dumps(document))
    assert np.array_equal(NgramClassifier.load(tmp_path).predict_proba(texts), plain.predict_proba(texts))


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
