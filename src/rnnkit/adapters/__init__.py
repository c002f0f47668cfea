"""Adapters to other libraries' APIs, each an optional extra: ``sklearn`` (``RNNClassifier``, ``RNNRegressor``) and
``sktime`` (``RnnkitForecaster``)."""
