"""The tweets' n-gram model alone on a development split (issue 16): how buckets and L-BFGS iterations change its
validation accuracy, beside scikit-learn's TF-IDF + logistic regression on the same texts. Test data is not read.

    taskset -c 1 env OMP_NUM_THREADS=1 python bench/classify_tweets_ngrams.py     # about 10 minutes on one core

Split: the bench's stratified 80/20 (scikit-learn seed 0), then 80/20 of its training part (seed 1, 2, 3): the
models fit on the first and are scored on the second. First table, on split 1: ``NgramClassifier``'s plain head
(rnnkit.tasks.models.ngrams) at 2^18 and 2^20 buckets and 30/60/100 iterations; scikit-learn with plain word TF-IDF
(the bench's baseline) and with word 1-2 + char_wb 2-5 grams, min_df 2, sublinear tf (what ``NgramClassifier``
computes, without hashing). Second table, on splits 1-3: the plain head alone and beside the naive-Bayes head at
C' = 1, 2 (the default), 4.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from rnnkit.datasets.tweets import load_tweets
from rnnkit.tasks.models.ngrams import NgramClassifier, NgramConfig


def main() -> None:
    torch.set_num_threads(1)
    texts, labels = load_tweets()
    train_texts, _, train_labels, _ = train_test_split(texts, labels, test_size=0.2, stratify=labels, random_state=0)
    X_fit, X_dev, y_fit, y_dev = train_test_split(train_texts, train_labels, test_size=0.2, stratify=train_labels,
                                                  random_state=1)
    print("| model | dev accuracy | fit CPU s |\n|---|---|---|")
    for buckets, iterations in [(2 ** 18, 60), (2 ** 20, 30), (2 ** 20, 60), (2 ** 20, 100)]:
        started = time.process_time()
        model = NgramClassifier.fit(X_fit, y_fit, NgramConfig(buckets=buckets, max_iter=iterations,
                                                              naive_bayes_C=None))
        seconds = time.process_time() - started
        accuracy = np.mean(np.asarray(model.predict(X_dev)) == np.asarray(y_dev))
        print(f"| NgramClassifier 2^{buckets.bit_length() - 1} buckets, {iterations} iterations | {accuracy:.4f} | "
              f"{seconds:.1f} |", flush=True)
    word = dict(sublinear_tf=True, min_df=2)
    for name, vectorizers in [("scikit-learn word TF-IDF + LR", [TfidfVectorizer()]),
                              ("scikit-learn word 1-2 + char_wb 2-5 + LR",
                               [TfidfVectorizer(ngram_range=(1, 2), **word),
                                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), **word)])]:
        started = time.process_time()
        fit = hstack([v.fit_transform(X_fit) for v in vectorizers]).tocsr()
        model = LogisticRegression(max_iter=2000).fit(fit, y_fit)
        seconds = time.process_time() - started
        dev = hstack([v.transform(X_dev) for v in vectorizers]).tocsr()
        print(f"| {name} | {model.score(dev, y_dev):.4f} | {seconds:.1f} |", flush=True)
    heads = [None, 1.0, 2.0, 4.0]
    print("\n| split | " + " | ".join(f"NB head C' = {c}" if c else "plain head alone" for c in heads) + " |\n|---"
          + "|---" * len(heads) + "|")
    for split in (1, 2, 3):
        X_fit, X_dev, y_fit, y_dev = train_test_split(train_texts, train_labels, test_size=0.2,
                                                      stratify=train_labels, random_state=split)
        accuracies = [np.mean(np.asarray(NgramClassifier.fit(X_fit, y_fit, NgramConfig(naive_bayes_C=c))
                                         .predict(X_dev)) == np.asarray(y_dev)) for c in heads]
        print(f"| {split} | " + " | ".join(f"{a:.4f}" for a in accuracies) + " |", flush=True)


if __name__ == "__main__":
    main()
