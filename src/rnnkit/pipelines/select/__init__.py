"""Budgeted automatic selection: the defaults that carry the benchmarks, chosen on the user's training data.

    budget     a wall-time budget ("5m") and the search's progress on screen
    search     the engine: trials scored one by one while the budget allows, one candidates table
    folds      rolling-origin folds inside the training span, the forecasts candidates are scored on
    smoothing  level-and-season exponential smoothing (the ES half of the ES-RNN hybrid)
    members    what a forecasting selection fits: the recurrent forecaster, the hybrid, the baselines
    combine    the recurrent ensemble and its combinations with the baselines; the calibration space
    forecast   ``AutoForecaster``: the forecasting selection, its final fit, intervals and model folder
    oof        out-of-fold probabilities: the figures classification candidates and ensembles are compared by
    classify   ``AutoClassifier``: the classification selection on folds (a validation split for large tables), the
               ensemble chosen on the folds and refitted
"""

from rnnkit.pipelines.select.budget import Budget, parse_duration
from rnnkit.pipelines.select.classify import AutoClassifier
from rnnkit.pipelines.select.forecast import AutoForecaster
from rnnkit.pipelines.select.search import Search, Trial

__all__ = ["AutoClassifier", "AutoForecaster", "Budget", "Search", "Trial", "parse_duration"]
