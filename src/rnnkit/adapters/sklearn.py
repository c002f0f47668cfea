"""scikit-learn estimators over rnnkit's sequence models: ``RNNClassifier`` and ``RNNRegressor``.

    from rnnkit.adapters.sklearn import RNNClassifier
    clf = RNNClassifier(cell="gru", hidden_size=32, bidirectional=True, max_epochs=40).fit(X_train, y_train)
    clf.predict(X_test); clf.predict_proba(X_test); clf.score(X_test, y_test)

``X`` may be
- a 2-D array (N, T): N univariate sequences of length T (UCR style; scikit-learn's usual checks apply: finite
  values, the same T at predict time as at fit time);
- a 3-D array (N, T, F), or a list of (T_i,) / (T_i, F) arrays of different lengths (multivariate, variable length);
- a list of strings: text, tokenized with ``tokenizer`` (a dict of ``rnnkit.data.text.Tokenizer.fit`` options).

They work with ``clone``, ``GridSearchCV`` and pipelines, and pass ``parametrize_with_checks`` (tests list the
expected failures with their reasons). The fitted model is ``model_`` (a ``SequenceClassifier`` /
``SequenceRegressor``: ``rnnkit.save(clf.model_, folder)`` writes a model folder).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.errors import UserError

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    raise UserError("rnnkit.adapters.sklearn needs scikit-learn: pip install 'rnnkit[sklearn]'") from None

from rnnkit.data.sequences import from_numpy, is_text
from rnnkit.pipelines.fit import fit_sequence_model
from rnnkit.nn.config import RecurrentConfig
from rnnkit.tasks.blocks.encoder import EncoderConfig
from rnnkit.tasks.models.classification import SequenceClassifier, SequenceRegressor
from rnnkit.train import TrainConfig, seed_everything


class _RNNEstimator(BaseEstimator):
    """Parameters shared by both estimators: the encoder (``cell`` .. ``dropout``: the fields of
    ``rnnkit.nn.RecurrentConfig`` and ``rnnkit.tasks.EncoderConfig``, flat as scikit-learn's parameter search
    wants them) and the training (see ``rnnkit.train.TrainConfig``). ``validation_fraction`` holds out that share
    of the training data for early stopping after ``patience`` epochs without improvement (None: train
    ``max_epochs``, no hold-out)."""

    def __init__(self, cell: str = "lstm", hidden_size: int = 32, num_layers: int = 1, bidirectional: bool = False,
                 pooling: str = "last", conv_channels: int = 0, conv_kernel: int = 5, embedding_dim: int = 64,
                 dropout: float = 0.0, tokenizer: dict | None = None, max_epochs: int = 50, batch_size: int = 32,
                 lr: float = 3e-3, weight_decay: float = 0.01, validation_fraction: float | None = None,
                 patience: int | None = 10, random_state: int | None = None, device: str = "cpu") -> None:
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.pooling = pooling
        self.conv_channels = conv_channels
        self.conv_kernel = conv_kernel
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.tokenizer = tokenizer
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.device = device

    def _inputs(self, X: Any, *, reset: bool) -> Any:
        """Raw inputs for the model: texts, or a list of (T, F) float arrays."""
        if isinstance(X, (list, tuple)) and X and all(isinstance(text, str) for text in X) or (
                hasattr(X, "dtype") and getattr(X, "ndim", 0) == 1 and is_text(X)):
            texts = list(X)
            if not all(isinstance(text, str) for text in texts):
                raise ValueError("a text input must hold strings only")
            return texts
        if _is_ragged_or_3d(X):
            sequences = from_numpy(X)
            if any(not np.isfinite(s).all() for s in sequences):
                raise ValueError("Input contains NaN or infinity.")
            return sequences
        return from_numpy(validate_data(self, X, reset=reset, dtype=np.float32))

    def _train_config(self, seed: int) -> TrainConfig:
        validating = bool(self.validation_fraction)
        return TrainConfig(max_epochs=self.max_epochs, batch_size=self.batch_size, lr=self.lr,
                           weight_decay=self.weight_decay, patience=self.patience if validating else None,
                           seed=seed, device=self.device, progress="none")

    def _fit(self, model_class: type, X: Any, y: Any, stratify: bool) -> Any:
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        seed_everything(seed)  # the weights' initialisation; the trainer seeds its own shuffling from the same
        try:
            rnn = RecurrentConfig(cell=self.cell, hidden_size=self.hidden_size, num_layers=self.num_layers,
                                  bidirectional=self.bidirectional, dropout=self.dropout)
            encoder = EncoderConfig(rnn=rnn, pooling=self.pooling, conv_channels=self.conv_channels,
                                    conv_kernel=self.conv_kernel, embedding_dim=self.embedding_dim)
            config = model_class.config_class(encoder=encoder)
            self.model_ = model_class.for_data(X, y, config, tokenizer=self.tokenizer)
        except (TypeError, ValueError) as error:  # invalid parameter values: scikit-learn expects ValueError
            raise ValueError(str(error)) from None
        self.history_ = fit_sequence_model(self.model_, X, y, validation_fraction=self.validation_fraction,
                                           stratify=stratify, train_config=self._train_config(seed)).history
        self.model_.cpu().eval()
        return self


class RNNClassifier(ClassifierMixin, _RNNEstimator):
    def fit(self, X: Any, y: Any) -> RNNClassifier:
        X = self._inputs(X, reset=True)
        y = _targets(y, len(X))
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"RNNClassifier needs at least 2 classes in y, got 1 class: {self.classes_[0]!r}")
        # The model's labels are Python scalars; remember the mapping back to the classes_ array's values.
        return self._fit(SequenceClassifier, X, [_plain(label) for label in y], stratify=True)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities (N, n_classes), columns in the order of ``classes_``."""
        check_is_fitted(self)
        return self.model_.predict_proba(self._inputs(X, reset=False))

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.classes_[self.predict_proba(X).argmax(1)]


class RNNRegressor(RegressorMixin, _RNNEstimator):
    def fit(self, X: Any, y: Any) -> RNNRegressor:
        X = self._inputs(X, reset=True)
        y = _targets(y, len(X), numeric=True)
        return self._fit(SequenceRegressor, X, y, stratify=False)

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.model_.predict(self._inputs(X, reset=False))

    def __sklearn_tags__(self):  # noqa: ANN204 (scikit-learn's Tags)
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _is_ragged_or_3d(X: Any) -> bool:
    if isinstance(X, np.ndarray):
        return X.ndim == 3 or X.dtype == object
    if isinstance(X, (list, tuple)) and X and all(isinstance(item, np.ndarray) for item in X):
        return len({item.shape for item in X}) > 1 or X[0].ndim == 2
    return False


def _targets(y: Any, count: int, numeric: bool = False) -> np.ndarray:
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    y = check_array(y, ensure_2d=False, dtype=np.float64 if numeric else None, input_name="y")  # NaN, inf
    if not numeric or (y.ndim == 2 and y.shape[1] == 1):
        y = column_or_1d(y, warn=True)
    if len(y) != count:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: [{count}, {len(y)}]")
    return y


def _plain(label: Any) -> Any:
    return label.item() if hasattr(label, "item") else label
