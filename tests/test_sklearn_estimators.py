"""scikit-learn's own estimator checks on RNNClassifier and RNNRegressor, and their use in sklearn tools."""

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from rnnkit.adapters.sklearn import RNNClassifier, RNNRegressor  # noqa: E402

# Small and quick, yet able to fit scikit-learn's toy problems (blobs, make_regression) to the checks' thresholds.
SMALL = dict(cell="gru", hidden_size=16, max_epochs=25, batch_size=32, lr=0.02, random_state=0)

# float32 matrix kernels (MKL's, in the models' linear heads) round differently with the batch's size: predicting
# a subset changes outputs by ~1e-7 absolute (measured 1.8e-7 absolute, 3.6e-6 relative on an output near 0;
# the classifier's probabilities 1.6e-7), above this check's rtol=1e-7. The recurrent layers themselves give
# every sequence the same numbers in any batch (tests/test_nn_extension.py); whether the heads' noise crosses
# the line depends on the weights the recurrent path trains, so both estimators may fail this one check.
_BATCH_ROUNDING = ("float32 kernels round differently with batch size (~1e-7 absolute), "
                   "above check_methods_subset_invariance's rtol=1e-7")
EXPECTED_FAILURES = {name: {"check_methods_subset_invariance": _BATCH_ROUNDING}
                     for name in ("RNNClassifier", "RNNRegressor")}



def expected_failures(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks([RNNClassifier(**SMALL), RNNRegressor(**SMALL)],
                         expected_failed_checks=expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.trained
def test_variable_length_and_text_inputs_in_sklearn_tools():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(rng.integers(3, 9)), 2)) for _ in range(80)]
    y = np.array([int(x[:, 1].mean() > 0) for x in X])
    clf = RNNClassifier(**SMALL)
    scores = cross_val_score(clf, X, y, cv=2)  # clones the estimator for each fold
    assert scores.mean() >= 0.85, scores
    texts = ["good car", "bad car", "very good", "very bad", "good road", "bad road"] * 10
    labels = ["pos" if "good" in t else "neg" for t in texts]
    fitted = clone(clf).set_params(tokenizer={"level": "word"}, embedding_dim=8).fit(texts, labels)
    assert list(fitted.predict(["bad bad", "good"])) == ["neg", "pos"]
    assert fitted.predict_proba(["good"]).shape == (1, 2) and list(fitted.classes_) == ["neg", "pos"]
    regressor = RNNRegressor(**SMALL).fit(X, [float(x.sum()) for x in X])
    assert regressor.predict(X[:5]).shape == (5,)
