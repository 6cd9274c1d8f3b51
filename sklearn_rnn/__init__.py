"""Recurrent neural networks (Elman RNN, LSTM, GRU) as scikit-learn estimators.

Importing the package is cheap: torch and skorch are imported when a model is
first fitted or loaded, not here.
"""

from ._classifier import GRUClassifier, LSTMClassifier, RNNClassifier
from ._composite import load, save
from ._data import from_channels_first, from_lag_rows
from ._panel import Windows
from ._regressor import GRURegressor, LSTMRegressor, RNNRegressor
from ._transformer import RNNSequenceTransformer
from ._version import __version__
from ._windowing import SlidingWindowTransformer, make_forecast_windows, make_windows

__all__ = [
    "GRUClassifier",
    "GRURegressor",
    "LSTMClassifier",
    "LSTMRegressor",
    "RNNClassifier",
    "RNNRegressor",
    "RNNSequenceTransformer",
    "SlidingWindowTransformer",
    "Windows",
    "make_forecast_windows",
    "make_windows",
    "__version__",
    "from_channels_first",
    "from_lag_rows",
    "load",
    "save",
]
