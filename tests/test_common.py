"""scikit-learn's estimator checks on every public estimator, found automatically."""

import inspect

from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklearn_rnn


def public_estimators():
    """Every estimator class that ``sklearn_rnn`` exports."""
    return sorted(
        (
            obj
            for name in sklearn_rnn.__all__
            if inspect.isclass(obj := getattr(sklearn_rnn, name))
            and issubclass(obj, BaseEstimator)
        ),
        key=lambda cls: cls.__name__,
    )


# Checks that cannot pass, per estimator class name, each with its reason. The
# estimators pass every check at their default settings; the window transformer
# cannot pass the two that assume rows are independent of each other.
_WINDOWS_DEPEND_ON_EARLIER_ROWS = (
    "a window is made of the rows before it, so transforming a reordered or partial "
    "table is not the same as reordering or subsetting the transformed windows"
)
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "SlidingWindowTransformer": {
        "check_methods_sample_order_invariance": _WINDOWS_DEPEND_ON_EARLIER_ROWS,
        "check_methods_subset_invariance": _WINDOWS_DEPEND_ON_EARLIER_ROWS,
    },
}


def test_all_public_estimators_are_found():
    # Every estimator the package exports is checked; a new one joins by being exported.
    assert {cls.__name__ for cls in public_estimators()} == {
        "GRUClassifier",
        "GRURegressor",
        "LSTMClassifier",
        "LSTMRegressor",
        "RNNClassifier",
        "RNNRegressor",
        "RNNSequenceTransformer",
        "SlidingWindowTransformer",
    }


def distribution_regressors():
    """The regressors' distributional losses, which change the network's outputs."""
    return [
        sklearn_rnn.LSTMRegressor(loss="quantile"),
        sklearn_rnn.GRURegressor(loss="gaussian"),
    ]


@parametrize_with_checks(
    [cls() for cls in public_estimators()] + distribution_regressors(),
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(type(est).__name__, {}),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
