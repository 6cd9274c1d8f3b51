"""Docstring pieces shared by the estimators, so each parameter is described once."""

CELL_DESCRIPTIONS = {
    "rnn": "an Elman recurrent network (``torch.nn.RNN``)",
    "lstm": "a long short-term memory network (``torch.nn.LSTM``)",
    "gru": "a gated recurrent unit network (``torch.nn.GRU``)",
}

NONLINEARITY = """\
nonlinearity : {"tanh", "relu"}, default="tanh"
    Activation of the Elman cell.
"""

NETWORK_PARAMETERS = """\
hidden_size : int, default=64
    Number of features of the hidden state.
num_layers : int, default=1
    Number of stacked recurrent layers.
bidirectional : bool, default=False
    Whether to add a second recurrent pass that reads each sequence backwards.
dropout : float in [0, 1), default=0.0
    Dropout between stacked recurrent layers; has no effect when ``num_layers=1``.
pooling : {"last", "mean", "max", "attention"}, default="last"
    How the sequence of hidden states becomes one vector for the head:
    the state after the last time step (for bidirectional networks, the forward
    state at the end joined with the backward state at the start), the mean or
    maximum over time steps, or an additive attention-weighted sum (read the
    weights with ``attention_weights``).
"""

RETURN_SEQUENCES = """\
return_sequences : bool, default=False
    Many-to-many: predict at every time step (sequence labelling for
    classifiers, per-step regression) from the hidden state there, instead of
    once per sequence. ``y`` then holds a target per time step: shape
    (n_samples, n_timesteps) (or (n_samples, n_timesteps, n_outputs) for
    regression), or a list of arrays (n_timesteps_i,) for sequences of
    different lengths; padded steps never count in the loss. ``pooling`` is
    not used then.
"""

TRAINING_PARAMETERS = """\
max_epochs : int, default=200
    Maximum number of passes over the training data.
batch_size : int, default=32
    Number of sequences per gradient step.
lr : float, default=0.01
    Learning rate of the optimizer.
lr_schedule : {"plateau", "constant"}, default="plateau"
    ``"plateau"`` halves the learning rate each time the monitored loss (see
    ``early_stopping``) stops improving, at most 4 times, and ends training
    at the fifth plateau. ``"constant"`` keeps the rate and ends training at
    the first plateau.
optimizer : {"adam", "adamw", "sgd", "rmsprop"} or callable, default="adam"
    The torch optimizer, by name or as a class (or callable) taking the
    parameters, ``lr`` and ``weight_decay``.
weight_decay : float, default=0.0
    L2 penalty (decoupled for ``"adamw"``).
clip_grad_norm : float or None, default=1.0
    Maximum norm of the gradient of all parameters together, the remedy for
    exploding gradients in backpropagation through time. None turns it off.
early_stopping : bool, default=False
    Whether to hold out ``validation_fraction`` of the training data, monitor
    the validation loss and restore the weights of the epoch with the lowest
    one at the end. When False, the training loss is monitored. A plateau of
    the monitored loss (no improvement by ``tol`` for ``n_iter_no_change``
    epochs) lowers the learning rate or ends training, see ``lr_schedule``.
validation_fraction : float in (0, 1), default=0.1
    Share of the training data held out when ``early_stopping=True``.
n_iter_no_change : int, default=10
    Epochs without improvement that make a plateau.
tol : float, default=1e-4
    Smallest decrease of the (scaled) loss that counts as an improvement.
scale_inputs : bool, default=True
    Whether to standardise each input feature with the mean and standard
    deviation seen in ``fit`` (over all samples and time steps). Recurrent
    cells saturate on unscaled inputs, so leave this on unless the inputs are
    already scaled.
callbacks : list of skorch callbacks or (name, callback) tuples, default=None
    Extra skorch callbacks. They are copied in ``fit``; the fitted ones are in
    ``net_.callbacks_``.
verbose : int, default=0
    0 trains silently; 1 prints a table row per epoch (losses and time).
device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
    Where to train: ``"auto"`` picks CUDA if available, else Apple MPS, else
    the CPU. A fitted model predicts, pickles and unpickles on a CPU-only
    machine whatever it was trained on.
precision : {"float32", "bfloat16", "float16"}, default="float32"
    Mixed precision: run the network's forward pass (in training and
    prediction) under ``torch.autocast`` with this dtype, keeping float32
    weights and losses. ``"float16"`` needs a GPU and scales the loss against
    underflow; ``"bfloat16"`` also runs on the CPU (slower there unless the CPU
    has bfloat16 units). Faster and lighter on GPUs, at some cost in accuracy.
compile : bool, default=False
    Run the forward pass through ``torch.compile``. The first batches pay the
    compilation (tens of seconds), so it pays off on long GPU trainings; the
    fitted model pickles and saves as an uncompiled one.
random_state : int, RandomState instance or None, default=None
    Seeds weight initialisation, dropout, shuffling and the validation split.
    An int gives identical results on every fit (on the CPU).
warm_start : bool, default=False
    Whether ``fit`` continues from the fitted weights instead of starting anew.
    The architecture and input size must stay the same.
checkpoint_dir : str, path-like or None, default=None
    Directory where ``fit`` writes a checkpoint every ``checkpoint_every``
    epochs and when it ends. If the directory holds an unfinished checkpoint of
    the same fit (same class, parameters and data), ``fit`` resumes from it and
    ends with the same weights as an uninterrupted fit. Each fit has its own
    file, so fits sharing the directory never overwrite each other.
checkpoint_every : int, default=10
    Epochs between checkpoints.
accelerator : accelerate.Accelerator or None, default=None
    Train through Hugging Face Accelerate (skorch's ``AccelerateMixin``):
    data-parallel on several GPUs or machines when the script is started with
    ``accelerate launch --num_processes N script.py``, with the Accelerator's
    mixed precision and gradient accumulation. The Accelerator places the model,
    so ``device`` is not used for training. None trains in this process only.
"""

COMMON_ATTRIBUTES = """\
net_ : skorch.NeuralNet
    The fitted skorch net; ``net_.module_`` is the torch module and
    ``net_.history`` the full training history.
n_features_in_ : int
    Number of features seen in ``fit``: features per time step for 3D input,
    columns (time steps of univariate sequences) for 2D input.
feature_names_in_ : ndarray of shape (n_features_in_,)
    Column names, when ``X`` was a DataFrame with string column names.
input_ndim_ : int
    2 or 3: the layout of ``X`` in ``fit``.
input_size_ : int
    Features per time step the network reads (1 for 2D input).
input_mean_, input_scale_ : ndarray of shape (input_size_,)
    The input standardisation learnt in ``fit`` (zeros and ones when
    ``scale_inputs=False``).
n_iter_ : int
    Number of epochs run by the last ``fit``.
loss_curve_ : list of float
    Training loss per epoch.
validation_loss_curve_ : list of float or None
    Validation loss per epoch when ``early_stopping=True``, else None.
device_ : str
    The device the model was trained on.
"""


def indent(text, spaces=4):
    """Indent every non-empty line of ``text``."""
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def estimator_doc(summary, cell, extra_parameters, extra_attributes, example):
    """Assemble a numpydoc class docstring from the shared pieces."""
    parameters = NETWORK_PARAMETERS + RETURN_SEQUENCES
    if cell == "rnn":
        parameters = NONLINEARITY + parameters
    parameters += TRAINING_PARAMETERS + extra_parameters
    attributes = extra_attributes + COMMON_ATTRIBUTES
    return (
        f"{summary.format(network=CELL_DESCRIPTIONS[cell])}\n\n"
        f"Parameters\n----------\n{parameters}\n"
        f"Attributes\n----------\n{attributes}\n"
        f"Examples\n--------\n{example}"
    )
