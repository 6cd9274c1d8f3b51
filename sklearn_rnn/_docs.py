"""Docstring entries shared by the estimators, each written once.

The estimators write their docstrings in their class bodies, with
``%(name)s`` placeholders where a shared entry (or a group of them) goes;
``fill_doc`` replaces each placeholder with the entry, indented to match.
``tests/test_docstrings.py`` checks every public docstring against the
signature with numpydoc: complete, and in signature order.
"""

import re

PARAMETERS = {
    "nonlinearity": """\
nonlinearity : {"tanh", "relu"}, default="tanh"
    Activation of the Elman cell.""",
    "hidden_size": """\
hidden_size : int, default=64
    Number of features of the hidden state.""",
    "rnn_regressor_hidden_size": """\
hidden_size : int, default=16
    Number of features of the hidden state. Smaller than the other regressors'
    64: an Elman cell's correction to the linear part overfitted the few
    windows of short series more often with 64 (``benchmarks/README.md``).""",
    "num_layers": """\
num_layers : int, default=1
    Number of stacked recurrent layers.""",
    "bidirectional": """\
bidirectional : bool, default=False
    Whether to add a second recurrent pass that reads each sequence backwards.""",
    "dropout": """\
dropout : float in [0, 1), default=0.0
    Dropout between stacked recurrent layers; has no effect when ``num_layers=1``.""",
    "pooling": """\
pooling : {"last", "mean", "max", "attention"}, default="last"
    How the sequence of hidden states becomes one vector for the head:
    the state after the last time step (for bidirectional networks, the forward
    state at the end joined with the backward state at the start), the mean or
    maximum over time steps, or an additive attention-weighted sum (read the
    weights with ``attention_weights``).""",
    "patch_size": """\
patch_size : int or "auto", default="auto"
    Time steps merged into one before the recurrent layers: each run of
    ``patch_size`` steps (from the first) is mapped linearly to one step of
    ``hidden_size`` features (a convolution with that kernel and stride, the
    patch embedding of PatchTST and the convolutional front end of LSTM-FCN),
    so the recurrent layers read ``ceil(n_timesteps / patch_size)`` steps.
    Long sequences train faster and more reliably that way. ``"auto"`` picks
    the smallest size that leaves the longest training sequence at most 32
    steps (1, no merging, for sequences of up to 32 steps and with
    ``return_sequences=True``); 1 reads every step as it is. With patches,
    ``attention_weights`` shares each patch's weight equally among its steps.""",
    "return_sequences": """\
return_sequences : bool, default=False
    Many-to-many: predict at every time step (sequence labelling for
    classifiers, per-step regression) from the hidden state there, instead of
    once per sequence. ``y`` then holds a target per time step: shape
    (n_samples, n_timesteps) (or (n_samples, n_timesteps, n_outputs) for
    regression), or a list of arrays (n_timesteps_i,) for sequences of
    different lengths; padded steps never count in the loss. ``pooling`` is
    not used then.""",
    "decoder": """\
decoder : {None, "rnn", "attention"}, default=None
    How a forecast horizon is produced. None: a linear head outputs every
    target at once (direct multi-output). ``"rnn"``: an encoder-decoder
    (sequence to sequence) network, whose decoder cell unrolls one step per
    horizon step, fed its previous prediction; ``"attention"``: the same, its
    decoder also attending over the encoder's time steps at every step (read
    the weights with ``attention_weights``). With a decoder, ``y`` has shape
    (n_samples, horizon) or (n_samples, horizon, n_targets).""",
    "linear_skip": """\
linear_skip : {"auto", "levels", "changes", "both"} or bool, default="auto"
    Forecast with a linear autoregression on the input window plus a recurrent
    correction of what it misses (LSTNet's "highway"). Before training, the
    linear part is fitted by ridge regression (penalty chosen by leave-one-out
    error, batch by batch) and frozen; the recurrent network's output starts at
    zero and learns the linear part's residual, measured in units of that
    residual's spread. With early stopping the untrained model (the linear part
    alone) is a candidate too, so training is kept only when it forecasts the
    held-out, most recent samples better; the linear part is then refitted on
    all samples. The regression:

    - ``"levels"``: on the window's values. Its penalty pulls forecasts towards
      the training mean, which far steps ahead of a trending series miss.
    - ``"changes"``: on each feature's changes from its value at the window's
      last step (standardised), forecasting each target's change from its last
      value: its penalty pulls towards "no change". It needs targets that
      continue features of the windows: equal to the values that follow each
      window (``make_windows`` on the series itself), or one affine map of
      them (``y`` kept in its units while a ``StandardScaler`` scaled the rows
      before windowing). Scaled by series or window (``scale_inputs``,
      ``scale_targets``), inputs and targets must be scaled alike and the
      targets be in their features' units.
    - ``"both"``: the average of the two forecasts.
    - ``"auto"`` (or True), for a direct head (no ``decoder``) and targets
      that continue the windows' features, with inputs and targets scaled per
      feature (not by series or window): ``"both"`` several steps ahead; one
      step ahead, the networks alternate between ``"levels"`` and ``"both"``
      (``n_networks="auto"`` then fits four, if early stopping holds
      samples out), or ``"levels"`` for one network.
      ``"levels"`` otherwise. Measured in ``benchmarks/quality.py``: several
      steps ahead, the average beats either regression alone on most series;
      one step ahead each wins on some series, and a network on each,
      averaged, beats two networks on either; with a decoder the average cost
      as much as it gained (``benchmarks/README.md``).

    Whether the targets continue features is found by comparing ``y`` with the
    values that follow each window: the series' next rows for windows cut from
    one (``make_windows``, ``SlidingWindowTransformer``), the next window's
    last step for other windows.
    Windows that do not follow one another (shuffled, or a fold with gaps) are
    not compared, so shuffled windows show nothing and keep ``"levels"``. See
    ``linear_skip_`` and ``target_features_``. False: the recurrent network
    alone maps windows to targets.""",
    "window_norm": """\
window_norm : {"auto", "window", "both"} or None, default="auto"
    What the recurrent network reads: each window normalised by its own
    per-feature mean and standard deviation (``"window"``, as RevIN and
    neuralforecast do), that and the (globally standardised) window side by side
    (``"both"``), or the window (None). ``"auto"``: ``"both"`` for one output,
    ``"window"`` for several outputs or a ``decoder`` (as measured in
    ``benchmarks/quality.py``), None without ``linear_skip``, whose level the
    normalised window no longer carries. Per-step outputs (``return_sequences``)
    always read the window itself: whole-sequence statistics would let a step
    see later ones.""",
    "n_networks": """\
n_networks : int or "auto", default="auto"
    Networks fitted and averaged, a deep ensemble. ``"auto"``: four when
    ``linear_skip="auto"`` (or True) forecasts one step ahead of targets that
    continue the windows, with early stopping, two on each linear part (see
    ``linear_skip``). Measured in ``benchmarks/quality.py``: a network on each
    part beat one network by 2-3% of RidgeCV's error on average; two on each
    beat one on each by another 0.2-0.6% over ten seeds and narrowed the
    worst seeds (the LSTM's from 9% to 7% worse than RidgeCV, the GRU's
    from 11% to 7%), at about twice the fit time, some series losing a
    little (the GRU's co2 0.5%). One otherwise (``partial_fit`` included).
    Each is fitted as a one-network model would be, with its own seed (the
    first with ``random_state``'s, the others derived from it): its own
    initial weights, batch order, early stopping, linear part and interval
    calibration (with ``linear_skip=False`` and a point loss, each is the
    forecasting network without its linear part). Where ``linear_skip_`` is
    ``"alternate"`` (one step ahead, see above), the second, fourth, ...
    networks are fitted on the ``"both"`` linear part, the others on
    ``"levels"``. The forecast is their mean;
    quantiles are averaged level by level, Gaussians combined into the
    Gaussian with their mixture's mean and variance. Averaging narrows how
    much forecasts change from one ``random_state`` to another
    (``benchmarks/README.md``), at ``n_networks`` times the training and
    prediction time. ``n_iter_`` and
    the loss curves are the first network's. ``partial_fit`` and
    ``warm_start`` continue every network on its own error (``partial_fit``
    from each one's optimizer state, at the first one's learning rate). With
    ``checkpoint_dir`` every network has its own checkpoint; a fit resumed
    after an interruption fits the networks that had finished again (to the
    same weights) and resumes the interrupted one.""",
    "loss": """\
loss : {"squared_error", "absolute_error", "huber", "quantile", "gaussian"}, \
        default="squared_error"
    What training minimises (names as in scikit-learn's
    ``HistGradientBoostingRegressor``). ``"huber"`` is quadratic for errors
    within one residual spread (of the linear part, see ``linear_skip``; else
    of the scaled targets) and linear beyond. ``"quantile"`` trains one output
    per level of ``quantiles`` and target, which never cross (each quantile is
    its neighbour plus a positive step); ``predict`` gives the median,
    ``predict_quantiles`` and ``predict_interval`` the rest. ``"gaussian"``
    trains a mean and a standard deviation per target by the Gaussian negative
    log-likelihood; ``predict`` gives the mean, ``predict(X, return_std=True)``
    the standard deviation too, and ``predict_quantiles`` any level.""",
    "quantiles": """\
quantiles : sequence of float in (0, 1), default=(0.1, 0.5, 0.9)
    The levels a ``loss="quantile"`` model is trained for (the median is
    always added: ``predict`` returns it), and the default levels of
    ``predict_quantiles`` for ``loss="gaussian"``.""",
    "scale_inputs": """\
scale_inputs : bool, "auto", "series" or "window", default="auto"
    How the input features are standardised. True: by the mean and standard
    deviation of each feature seen in ``fit`` (over all samples and time
    steps). ``"window"``: each window (or sequence) relative to its last value,
    in units of its own standard deviation, floored at a tenth of its series'
    (RevIN's and neuralforecast's temporal scaling). ``"series"``: by the mean
    and standard deviation of its series. A series seen in ``fit`` keeps the
    statistics learnt there; another has those of its rows up to each
    window's last step. ``"auto"``: ``"window"`` for a panel
    (:class:`~sklearn_rnn.Windows` over several series, from
    :func:`~sklearn_rnn.make_windows` on a (series, time) frame), else True.
    Recurrent cells saturate on unscaled inputs, so leave this on unless the
    inputs are already scaled.""",
    "scale_targets": """\
scale_targets : bool, "auto", "series" or "window", default="auto"
    Whether to standardise each numeric target with its mean and standard
    deviation for training; predictions are returned on the original scale.
    ``"window"`` and ``"series"`` scale each target as ``scale_inputs`` does
    the feature it is a column of (the windows of ``make_windows`` say which;
    a single feature is taken to be the target), so forecasts come back in
    each series' own units. ``"auto"``: ``"window"`` for a panel whose windows
    say which features the targets are, else True.""",
    "class_weight": """\
class_weight : dict, "balanced" or None, default=None
    Weights of the classes in the loss: ``{label: weight}``, ``"balanced"``
    for weights inversely proportional to class frequencies, or None for
    equal weights.""",
    "max_epochs": """\
max_epochs : int, default=200
    Maximum number of passes over the training data.""",
    "batch_size": """\
batch_size : int, default=32
    Number of sequences per gradient step.""",
    "lr": """\
lr : float, default=0.01
    Learning rate of the optimizer.""",
    "rnn_classifier_lr": """\
lr : float, default=0.003
    Learning rate of the optimizer. Lower than the other classifiers' 0.01, at
    which some seeds of an Elman cell ended far below the rest on the quality
    benchmark (ItalyPowerDemand 0.59 against 0.92-0.97; ``benchmarks/README.md``).""",
    "lr_schedule": """\
lr_schedule : {"plateau", "constant"}, default="plateau"
    ``"plateau"`` halves the learning rate each time the monitored loss (see
    ``early_stopping``) stops improving, at most 4 times, and ends training
    at the fifth plateau. ``"constant"`` keeps the rate and ends training at
    the first plateau.""",
    "optimizer": """\
optimizer : {"adam", "adamw", "sgd", "rmsprop"} or callable, default="adam"
    The torch optimizer, by name or as a class (or callable) taking the
    parameters, ``lr`` and ``weight_decay``.""",
    "weight_decay": """\
weight_decay : float, default=0.0
    L2 penalty (decoupled for ``"adamw"``).""",
    "clip_grad_norm": """\
clip_grad_norm : float or None, default=1.0
    Maximum norm of the gradient of all parameters together, the remedy for
    exploding gradients in backpropagation through time. None turns it off.""",
    "early_stopping": """\
early_stopping : bool or "auto", default="auto"
    Whether to hold out ``validation_fraction`` of the training data (the most
    recent samples for regressors, a stratified share for classifiers),
    monitor the validation loss and restore the weights of the epoch with the
    lowest one at the end (the untrained network's among them). When False,
    the training loss is monitored. A plateau of the monitored loss (no
    improvement by ``tol`` for ``n_iter_no_change`` epochs) lowers the learning
    rate or ends training, see ``lr_schedule``. ``"auto"``: on for regressors
    with ``linear_skip`` and at least 20 sequences, off otherwise.""",
    "validation_fraction": """\
validation_fraction : float in (0, 1), default=0.2
    Share of the training data held out when early stopping is on. A
    regressor holds out the last samples with no gap before them: with
    targets ``h`` steps long from overlapping windows (``make_windows(...,
    horizon=h)``), the last ``h - 1`` training windows share target values
    with the first validation windows, so the validation loss is a little
    optimistic. Dropping those training windows was measured and not
    adopted: it helped some series of ``benchmarks/quality.py`` and cost
    others more (``benchmarks/README.md``).""",
    "n_iter_no_change": """\
n_iter_no_change : int, default=10
    Epochs without improvement that make a plateau.""",
    "tol": """\
tol : float, default=1e-4
    Smallest decrease of the (scaled) loss that counts as an improvement.""",
    "callbacks": """\
callbacks : list of skorch callbacks or (name, callback) tuples, default=None
    Extra skorch callbacks. They are copied in ``fit``; the fitted ones are in
    ``net_.callbacks_``.""",
    "verbose": """\
verbose : int, default=0
    0 trains silently; 1 prints a table row per epoch (losses and time).""",
    "device": """\
device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
    Where to train: ``"auto"`` picks CUDA if available, else Apple MPS, else
    the CPU. A fitted model predicts, pickles and unpickles on a CPU-only
    machine whatever it was trained on.""",
    "precision": """\
precision : {"float32", "bfloat16", "float16"}, default="float32"
    Mixed precision: run the network's forward pass (in training and
    prediction) under ``torch.autocast`` with this dtype, keeping float32
    weights and losses. ``"float16"`` needs a GPU and scales the loss against
    underflow; ``"bfloat16"`` also runs on the CPU (slower there unless the CPU
    has bfloat16 units). Faster and lighter on GPUs, at some cost in accuracy.""",
    "compile": """\
compile : bool, default=False
    Run the forward pass through ``torch.compile``. The first batches pay the
    compilation (tens of seconds), so it pays off on long GPU trainings; the
    fitted model pickles and saves as an uncompiled one.""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seeds weight initialisation, dropout, shuffling and the validation split.
    An int gives identical results on every fit (on the CPU).""",
    "warm_start": """\
warm_start : bool, default=False
    Whether ``fit`` continues from the fitted weights instead of starting anew.
    The architecture and input size must stay the same.""",
    "checkpoint_dir": """\
checkpoint_dir : str, path-like or None, default=None
    Directory where ``fit`` writes a checkpoint every ``checkpoint_every``
    epochs and when it ends. If the directory holds an unfinished checkpoint of
    the same fit (same class, parameters and data), ``fit`` resumes from it and
    ends with the same weights as an uninterrupted fit. Each fit has its own
    file, so fits sharing the directory never overwrite each other.""",
    "checkpoint_every": """\
checkpoint_every : int, default=10
    Epochs between checkpoints.""",
    "accelerator": """\
accelerator : accelerate.Accelerator or None, default=None
    Train through Hugging Face Accelerate (skorch's ``AccelerateMixin``):
    data-parallel on several GPUs or machines when the script is started with
    ``accelerate launch --num_processes N script.py``, with the Accelerator's
    mixed precision and gradient accumulation. The Accelerator places the model,
    so ``device`` is not used for training. None trains in this process only.""",
}

ATTRIBUTES = {
    "patch_size_": """\
patch_size_ : int
    The ``patch_size`` used (``"auto"`` resolved).""",
    "classes_": """\
classes_ : ndarray of shape (n_classes,)
    The class labels, sorted; ``predict`` returns values from this array.""",
    "n_outputs_": """\
n_outputs_ : int
    Number of targets (per time step with ``return_sequences``, per horizon
    step with a ``decoder``).""",
    "horizon_": """\
horizon_ : int
    Number of forecast steps; only with a ``decoder``.""",
    "quantiles_": """\
quantiles_ : ndarray of shape (n_quantiles,)
    The levels a ``loss="quantile"`` model was trained for, the median
    included; only with that loss.""",
    "n_future_": """\
n_future_, future_steps_ : int
    Known-future columns per step and the steps they span, when ``X`` had them
    (:func:`~sklearn_rnn.make_windows` with ``future=``); predicting needs the same.
future_mean_, future_scale_ : ndarray of shape (n_future_,)
    Their standardisation.""",
    "target_features_": """\
target_features_ : tuple of int or None
    Positions among the features of the targets' columns: the columns the
    targets are scaled by (targets scaled by series or window), or the features
    the targets were found to continue, in their units or through one affine
    map (see ``linear_skip``); None if none.""",
    "linear_skip_": """\
linear_skip_ : {"levels", "changes", "both", "alternate"} or None
    The linear part's regression that ``linear_skip`` resolved to;
    ``"alternate"``: the networks (``n_networks_``) alternate between
    ``"levels"`` (the first) and ``"both"``; None without a linear part.""",
    "n_networks_": """\
n_networks_ : int
    The networks fitted and averaged (``n_networks`` resolved).""",
    "target_mean_": """\
target_mean_, target_scale_ : ndarray of shape (n_outputs_,)
    The target standardisation learnt in ``fit`` (zeros and ones when
    ``scale_targets=False``).""",
    "net_": """\
net_ : skorch.NeuralNet
    The fitted skorch net; ``net_.module_`` is the torch module and
    ``net_.history`` the full training history.""",
    "n_features_in_": """\
n_features_in_ : int
    Number of features seen in ``fit``: features per time step for 3D input,
    columns (time steps of univariate sequences) for 2D input.""",
    "feature_names_in_": """\
feature_names_in_ : ndarray of shape (n_features_in_,)
    Column names, when ``X`` was a DataFrame with string column names.""",
    "input_ndim_": """\
input_ndim_ : int
    2 or 3: the layout of ``X`` in ``fit``.""",
    "input_size_": """\
input_size_ : int
    Features per time step the network reads (1 for 2D input).""",
    "input_mean_": """\
input_mean_, input_scale_ : ndarray of shape (input_size_,)
    The input standardisation learnt in ``fit`` (zeros and ones when the
    inputs are not scaled per feature: ``scale_inputs`` False, or by series
    or window).""",
    "scaling_": """\
scaling_ : dict
    The scalings ``fit`` used, ``"auto"`` resolved: ``{"inputs": ...,
    "targets": ...}`` (targets None without numeric targets).""",
    "series_labels_": """\
series_labels_ : ndarray of shape (n_series,)
    The series seen in ``fit`` (one, labelled None, for input that is not a
    panel); with scaling by series or window only.
series_mean_, series_scale_ : ndarray of shape (n_series, input_size_)
    Their features' means and standard deviations.""",
    "n_iter_": """\
n_iter_ : int
    Number of epochs run by the last ``fit``.""",
    "loss_curve_": """\
loss_curve_ : list of float
    Training loss per epoch.""",
    "validation_loss_curve_": """\
validation_loss_curve_ : list of float or None
    Validation loss per epoch when ``early_stopping=True``, else None.""",
    "device_": """\
device_ : str
    The device the model was trained on.""",
}

# Runs of entries that every estimator documents together, in signature order.
GROUPS = {
    "network_parameters": ("hidden_size", "num_layers", "bidirectional", "dropout", "pooling"),
    "training_parameters": (
        "max_epochs",
        "batch_size",
        "lr",
        "lr_schedule",
        "optimizer",
        "weight_decay",
        "clip_grad_norm",
        "early_stopping",
        "validation_fraction",
        "n_iter_no_change",
        "tol",
    ),
    "runtime_parameters": (
        "callbacks",
        "verbose",
        "device",
        "precision",
        "compile",
        "random_state",
        "warm_start",
        "checkpoint_dir",
        "checkpoint_every",
        "accelerator",
    ),
    "common_attributes": (
        "net_",
        "n_features_in_",
        "feature_names_in_",
        "input_ndim_",
        "input_size_",
        "input_mean_",
        "scaling_",
        "series_labels_",
        "n_iter_",
        "loss_curve_",
        "validation_loss_curve_",
        "device_",
    ),
}

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)%\((?P<name>\w+)\)s[ \t]*$", re.MULTILINE)


def _entry(name, replaced=None, used=None):
    if name in GROUPS:
        return "\n".join(_entry(member, replaced, used) for member in GROUPS[name])
    if name in (replaced or {}):
        used.add(name)
        name = replaced[name]
    if name in PARAMETERS:
        return PARAMETERS[name]
    return ATTRIBUTES[name]


def fill_doc(obj=None, **replaced):
    """Replace each ``%(name)s`` line of ``obj.__doc__`` with the shared entry ``name``.

    A placeholder stands alone on its line; the entry (or group of entries)
    is indented as the placeholder was. An unknown name is a ``KeyError`` at
    import time, not a silently broken docstring. Called with keywords
    (``@fill_doc(lr="rnn_classifier_lr")``), it documents those entries with
    others instead, inside groups too: an estimator whose default differs. A
    replacement that the docstring never reaches is a ``KeyError`` as well.
    """

    def decorate(obj):
        used = set()

        def replace(match):
            indent = match["indent"]
            entry = _entry(match["name"], replaced, used)
            return "\n".join(indent + line if line else line for line in entry.splitlines())

        if obj.__doc__:  # None under python -OO
            obj.__doc__ = _PLACEHOLDER.sub(replace, obj.__doc__)
            unused = sorted(set(replaced) - used)
            if unused:
                raise KeyError(f"{obj.__name__}'s docstring has no entry {unused} to replace.")
        return obj

    return decorate if obj is None else decorate(obj)


def _summary(entry):
    """The first sentence of an entry's description, on one line."""
    description = " ".join(line.strip() for line in entry.splitlines()[1:])
    return description.split(". ")[0].rstrip(".") + "."


def parameter_table(estimators):
    """The Markdown table of every estimator's hyperparameters, for the README.

    Parameters
    ----------
    estimators : dict of str to list of classes
        The public recurrent estimators in named groups ("regressors", ...).

    Returns
    -------
    table : str
        A row per parameter, in signature order of first appearance: its
        default (the most common one, and the estimators whose default
        differs), the estimators that have it, and the first sentence of its
        entry (from the class docstring, where the entry is not shared).
    """
    import inspect

    from numpydoc.docscrape import ClassDoc

    rows = {}
    for classes in estimators.values():
        for cls in classes:
            documented = {p.name: p for p in ClassDoc(cls)["Parameters"]}
            for name, param in inspect.signature(cls).parameters.items():
                entry = PARAMETERS.get(name) or "\n".join([name] + documented[name].desc)
                row = rows.setdefault(name, {"defaults": {}, "entry": entry, "in": set()})
                row["defaults"][cls] = param.default
                row["in"].add(cls)
    lines = ["| parameter | default | estimators | what it sets |", "|---|---|---|---|"]
    for name, row in rows.items():
        owners = []
        for group, classes in estimators.items():
            if set(classes) <= row["in"]:
                owners.append(group)
            else:
                owners.extend(f"`{cls.__name__}`" for cls in classes if cls in row["in"])
        everywhere = all(set(classes) <= row["in"] for classes in estimators.values())
        owners = "all" if everywhere else ", ".join(owners)
        defaults = [repr(value) for value in row["defaults"].values()]
        default = max(defaults, key=defaults.count)  # on a tie, the first estimator's
        others = [
            f"`{cls.__name__}`: `{value!r}`"
            for cls, value in row["defaults"].items()
            if repr(value) != default
        ]
        default = f"`{default}`" + (f" ({', '.join(others)})" if others else "")
        lines.append(f"| `{name}` | {default} | {owners} | {_summary(row['entry'])} |")
    return "\n".join(lines)
