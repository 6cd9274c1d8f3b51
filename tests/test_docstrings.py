"""Every public docstring is complete and in signature order; the README's
parameter table is generated from the same entries.

In the style of scikit-learn's ``test_docstring_parameters``, with numpydoc's
validator. Run ``python tests/test_docstrings.py`` to rewrite the README table.
"""

import inspect
import re
import sys
from pathlib import Path

import pytest

import sklearn_rnn

numpydoc_validate = pytest.importorskip("numpydoc.validate")

README = Path(__file__).resolve().parent.parent / "README.md"
TABLE = re.compile(r"(<!-- parameter-table -->)(.*?)(<!-- /parameter-table -->)", re.DOTALL)

# Style codes this project does not follow: an extended summary, "See Also" and
# "Examples" on every method, and unnamed Returns entries (we name them, as
# scikit-learn does). Everything else numpydoc checks must pass, among it
# PR01/PR02 (every parameter documented, none unknown) and PR03 (signature order).
IGNORED = {"ES01", "SA01", "EX01", "RT02"}


def public_api():
    """Import paths of every public class, function and method the package defines."""
    paths = []
    for name in sklearn_rnn.__all__:
        obj = getattr(sklearn_rnn, name)
        if not callable(obj):
            continue
        paths.append(f"sklearn_rnn.{name}")
        if inspect.isclass(obj):
            for member, value in inspect.getmembers(obj):
                defined_here = (getattr(value, "__module__", None) or "").startswith("sklearn_rnn")
                if not member.startswith("_") and callable(value) and defined_here:
                    paths.append(f"sklearn_rnn.{name}.{member}")
    return paths


@pytest.mark.parametrize("path", public_api())
def test_docstring_is_complete_and_in_signature_order(path):
    errors = [
        f"{code}: {message}"
        for code, message in numpydoc_validate.validate(path)["errors"]
        if code not in IGNORED
    ]
    assert not errors, "\n".join(errors)


def test_placeholders_are_all_filled():
    for path in public_api():
        obj = eval(path, {"sklearn_rnn": sklearn_rnn})  # noqa: S307 - our own names
        assert "%(" not in (obj.__doc__ or ""), path


PUBLIC_CALLABLES = [name for name in sklearn_rnn.__all__ if callable(getattr(sklearn_rnn, name))]


@pytest.mark.parametrize("name", PUBLIC_CALLABLES)
def test_documented_defaults_are_the_signatures(name):
    """Each parameter's entry says ``default=`` exactly when the signature has one,
    and it is the signature's, of the same type: shared entries serve several
    estimators, and one estimator may differ."""
    import ast

    from numpydoc.docscrape import ClassDoc, FunctionDoc

    obj = getattr(sklearn_rnn, name)
    doc = ClassDoc(obj) if inspect.isclass(obj) else FunctionDoc(obj)
    signature = inspect.signature(obj).parameters
    for entry in doc["Parameters"]:
        for parameter in (part.strip() for part in entry.name.split(",")):
            actual = signature[parameter].default
            if actual is inspect.Parameter.empty or parameter.startswith("*"):
                assert "default=" not in entry.type, f"{name}({parameter}) has no default"
                continue
            assert "default=" in entry.type, f"{name}({parameter}={actual!r}): no default="
            documented = ast.literal_eval(entry.type.split("default=", 1)[1].strip())
            assert type(actual) is type(documented) and actual == documented, (
                f"{name}({parameter}={actual!r}), documented {documented!r}"
            )


def recurrent_estimators():
    from sklearn_rnn import (
        GRUClassifier,
        GRURegressor,
        LSTMClassifier,
        LSTMRegressor,
        RNNClassifier,
        RNNRegressor,
        RNNSequenceTransformer,
    )

    return {
        "regressors": [LSTMRegressor, GRURegressor, RNNRegressor],
        "classifiers": [LSTMClassifier, GRUClassifier, RNNClassifier],
        "`RNNSequenceTransformer`": [RNNSequenceTransformer],
    }


def rendered_readme():
    from sklearn_rnn._docs import parameter_table

    text = README.read_text()
    assert TABLE.search(text), "README.md lost its <!-- parameter-table --> markers"
    table = parameter_table(recurrent_estimators())
    return text, TABLE.sub(lambda m: f"{m[1]}\n{table}\n{m[3]}", text)


def test_readme_parameter_table_is_generated_from_the_docstrings():
    text, expected = rendered_readme()
    assert text == expected, "README.md's parameter table is stale: run python tests/test_docstrings.py"


if __name__ == "__main__":
    README.write_text(rendered_readme()[1])
    sys.exit(0)
