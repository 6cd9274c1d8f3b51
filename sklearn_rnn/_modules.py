"""Pure PyTorch modules: the recurrent networks behind every estimator.

Nothing in this module knows about scikit-learn; it can be used on its own.
"""

import math

import torch
from torch import nn

_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_STEP_CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}
POOLINGS = ("last", "mean", "max", "attention")
# Target value of padded time steps, which the per-step losses skip.
IGNORE_CLASS = -100


def _check_cell(cell):
    if cell not in _CELLS:
        raise ValueError(f"cell must be one of {sorted(_CELLS)}, got {cell!r}.")


def unwrapped(module):
    """The module itself, out of a DistributedDataParallel wrapper if it is in one."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def in_loss_units(module, y_pred, y_true):
    """Predictions and targets in the units a module measures its errors in.

    A module may declare ``loss_scale`` (a :class:`ForecastNetwork`: the spread of
    its linear part's residual, one value per output); errors are divided by it.
    """
    scale = getattr(unwrapped(module), "loss_scale", None)
    if scale is None:
        return y_pred, y_true
    y_true = y_true.to(y_pred.device) / scale
    if y_pred.dim() > y_true.dim():  # a distribution's parameters on a last axis
        scale = scale.unsqueeze(-1)
    return y_pred / scale, y_true


def loss_inputs(module, y_pred, y_true, weights=None):
    """``(y_pred, y_true, weights)`` as a loss reads them: in the module's loss
    units (:func:`in_loss_units`) and, for a training forward of a
    :class:`ForecastEnsemble` (each network's forecast on a leading axis),
    every network's forecasts against the targets, so that each network learns
    from its own error, not from the error of their average. The fourth value
    multiplies the mean loss: the number of networks, so that the loss is the
    sum of theirs and each network's gradient is the one it has alone.
    """
    inner = unwrapped(module)
    n_networks = getattr(inner, "n_networks", 1)
    y_true = y_true.to(y_pred.device)
    if n_networks == 1 or not inner.training:
        return (*in_loss_units(module, y_pred, y_true), weights, 1)
    y_pred = y_pred.flatten(0, 1)
    y_true = y_true.repeat(n_networks, *([1] * (y_true.dim() - 1)))
    if weights is not None:
        weights = weights.repeat(n_networks, *([1] * (weights.dim() - 1)))
    return (*in_loss_units(module, y_pred, y_true), weights, n_networks)


def recurrent_loss(net, y_pred, y_true, X, unweighted):
    """A batch's loss for a skorch net's ``get_loss``: in the module's loss units, with
    the batch's sample weights, summed over an ensemble's networks in training
    (:func:`loss_inputs`); ``unweighted(y_pred, y_true)``
    is the net class's own loss, for batches without weights."""
    y_pred, y_true, weights, n_networks = loss_inputs(net.module_, y_pred, y_true, batch_weights(X))
    if weights is None:
        return n_networks * unweighted(y_pred, y_true)
    return n_networks * net.criterion_(y_pred, y_true, sample_weight=weights.to(y_pred.device))


def clip_gradient_norms(module, max_norm, norm_type=2):
    """Clip the gradient norm of each network of a :class:`ForecastEnsemble`
    on its own (as it is clipped when it trains alone), else of the module."""
    inner = unwrapped(module)
    for network in getattr(inner, "networks", [inner]):
        nn.utils.clip_grad_norm_(network.parameters(), max_norm=max_norm, norm_type=norm_type)


def batch_weights(X):
    """A batch's sample weights (``X["sample_weight"]``), or None."""
    return X.get("sample_weight") if isinstance(X, dict) else None


def without_weights(X):
    """A batch's inputs for the module: ``X`` less its sample weights."""
    if isinstance(X, dict) and "sample_weight" in X:
        return {key: value for key, value in X.items() if key != "sample_weight"}
    return X


def step_mask(lengths, n_timesteps, device):
    """(batch, time) booleans marking the real steps of padded sequences, or None."""
    if lengths is None:
        return None
    steps = torch.arange(n_timesteps, device=device)
    return steps.unsqueeze(0) < lengths.to(device).unsqueeze(1)


class AttentionPooling(nn.Module):
    """Additive attention over time steps: ``softmax_t(v . tanh(W h_t))``.

    Parameters
    ----------
    n_features : int
        Size of each time step's vector.
    """

    def __init__(self, n_features):
        super().__init__()
        self.project = nn.Linear(n_features, n_features)
        self.score = nn.Linear(n_features, 1, bias=False)

    def forward(self, outputs, mask=None):
        """Pool ``outputs`` of shape (batch, time, features).

        ``mask`` (batch, time) marks the real time steps of padded sequences.
        Returns the pooled tensor of shape (batch, features) and the weights
        of shape (batch, time).
        """
        scores = self.score(torch.tanh(self.project(outputs))).squeeze(-1)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        pooled = torch.bmm(weights.unsqueeze(1), outputs).squeeze(1)
        return pooled, weights


class RecurrentNetwork(nn.Module):
    """A recurrent encoder, a pooling over time and a linear head.

    Parameters
    ----------
    input_size : int
        Number of features per time step.
    output_size : int or None
        Number of outputs of the linear head (targets or class logits); None
        builds the encoder alone (no head), for the networks built on it.
    cell : {"rnn", "lstm", "gru"}, default="lstm"
        The recurrent cell: Elman RNN, LSTM or GRU.
    hidden_size : int, default=64
        Number of features of the hidden state.
    num_layers : int, default=1
        Number of stacked recurrent layers.
    bidirectional : bool, default=False
        Whether to run a second recurrent pass from the end of the sequence.
    dropout : float, default=0.0
        Dropout between stacked layers (``torch.nn.LSTM``'s meaning).
    nonlinearity : {"tanh", "relu"}, default="tanh"
        Activation of the Elman cell; ignored by LSTM and GRU.
    pooling : {"last", "mean", "max", "attention"}, default="last"
        How the sequence of hidden states becomes one vector. ``"last"`` takes
        the forward state after the last step and, when bidirectional, the
        backward state after the first step (which has seen the whole sequence).
    per_step : bool, default=False
        Many-to-many: apply the head to the hidden state of every time step,
        giving outputs of shape (batch, time, output_size); no pooling.
    patch_size : int, default=1
        With more than 1, ``encode`` first merges each run of ``patch_size``
        time steps (from the first) into one step of ``hidden_size`` features by
        a linear map (a convolution with kernel and stride ``patch_size``), so
        the recurrent layers read ``ceil(time / patch_size)`` steps. Not with
        ``per_step``.
    """

    def __init__(
        self,
        input_size,
        output_size,
        cell="lstm",
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        nonlinearity="tanh",
        pooling="last",
        per_step=False,
        patch_size=1,
    ):
        super().__init__()
        _check_cell(cell)
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        if patch_size > 1 and per_step:
            raise ValueError("patch_size > 1 merges time steps, so it excludes per_step outputs.")
        self.patch_size = patch_size
        self.patch = (
            nn.Conv1d(input_size, hidden_size, patch_size, stride=patch_size)
            if patch_size > 1
            else None
        )
        rnn_kwargs = dict(
            input_size=hidden_size if self.patch is not None else input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            # torch warns when dropout is set on a single layer; it has no effect there.
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        if cell == "rnn":
            rnn_kwargs["nonlinearity"] = nonlinearity
        self.cell = cell
        self.nonlinearity = nonlinearity
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional
        self.pooling = pooling
        self.per_step = per_step
        self.rnn = _CELLS[cell](**rnn_kwargs)
        self.n_features_out = hidden_size * (2 if bidirectional else 1)
        self.attention = (
            AttentionPooling(self.n_features_out)
            if pooling == "attention" and not per_step
            else None
        )
        self.head = None if output_size is None else nn.Linear(self.n_features_out, output_size)
        self._init_recurrent_weights(cell)

    def _init_recurrent_weights(self, cell):
        """Start the gated cells remembering: bias +1 on the gate that keeps the state.

        LSTM: the forget gate's bias is 1 (Keras' ``unit_forget_bias``; Gers et
        al. 2000, Jozefowicz et al. 2015), other weights as torch initialises
        them. GRU: Keras' initialisation (Glorot-uniform input weights,
        orthogonal recurrent weights, zero biases) with the update gate's bias
        at 1, so that a new unit keeps about 3/4 of its state at each step.
        Without it, gradients from the end of long sequences fade before they
        reach the steps that matter, and training can stall at chance level
        (GunPoint's 150 steps did, on some seeds).
        """
        if cell == "rnn":
            return
        n_gates = 4 if cell == "lstm" else 3
        # torch's gate order: LSTM (input, forget, cell, output); GRU (reset, update, new).
        keep = slice(self.hidden_size, 2 * self.hidden_size)
        with torch.no_grad():
            for name, param in self.rnn.named_parameters():
                if cell == "gru":
                    if name.startswith("weight_ih"):
                        nn.init.xavier_uniform_(param)
                    elif name.startswith("weight_hh"):
                        for gate in param.chunk(n_gates, 0):
                            nn.init.orthogonal_(gate)
                    else:
                        param.zero_()
                if name.startswith("bias_ih"):
                    param[keep] = 1.0
                elif name.startswith("bias_hh"):
                    param[keep] = 0.0

    def step_outputs(self, X, lengths=None):
        """Hidden states of every time step, shape (batch, time, n_features_out).

        ``lengths`` (batch,), when given, are the true lengths of zero-padded
        sequences; the states up to each true end do not depend on the padding.
        Bidirectional networks pack the sequences, so that the backward pass
        starts at each true end. Also returns the (batch, time) mask of real
        steps, or None.
        """
        if lengths is None or not self.bidirectional:
            # A forward pass never reads the padding after a sequence's end before
            # reaching it, so its outputs up to the true end are exact, and the fused
            # kernel is much faster than a packed pass on the CPU.
            outputs, _ = self.rnn(X)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(
                X, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            outputs, _ = self.rnn(packed)
            outputs, _ = nn.utils.rnn.pad_packed_sequence(
                outputs, batch_first=True, total_length=X.shape[1]
            )
        return outputs, step_mask(lengths, X.shape[1], X.device)

    def pool(self, outputs, lengths=None, mask=None):
        """Pool ``step_outputs`` into (batch, n_features_out) and the attention weights (or None)."""
        weights = None
        if self.pooling == "last":
            if lengths is None:
                forward_last = outputs[:, -1, : self.hidden_size]
            else:
                last = (lengths.to(outputs.device) - 1).view(-1, 1, 1)
                forward_last = outputs.gather(
                    1, last.expand(-1, 1, outputs.shape[2])
                ).squeeze(1)[:, : self.hidden_size]
            if self.bidirectional:
                # The backward pass ends at the first step, having read the whole sequence.
                pooled = torch.cat([forward_last, outputs[:, 0, self.hidden_size :]], dim=1)
            else:
                pooled = forward_last
        elif self.pooling == "mean":
            if mask is None:
                pooled = outputs.mean(dim=1)
            else:
                pooled = (outputs * mask.unsqueeze(2)).sum(dim=1) / mask.sum(dim=1, keepdim=True)
        elif self.pooling == "max":
            if mask is not None:
                outputs = outputs.masked_fill(~mask.unsqueeze(2), float("-inf"))
            pooled = outputs.amax(dim=1)
        else:
            pooled, weights = self.attention(outputs, mask)
        return pooled, weights

    def patches(self, X, lengths=None):
        """``X`` (batch, time, input_size) with every ``patch_size`` steps merged
        into one, and the sequences' lengths in patches; unchanged without patching.

        A sequence's last patch may be partly padding (zeros, for any batch), so a
        sequence's patches never depend on what else is in its batch.
        """
        if self.patch is None:
            return X, lengths
        missing = -X.shape[1] % self.patch_size
        if missing:
            X = nn.functional.pad(X, (0, 0, 0, missing))
        X = self.patch(X.transpose(1, 2)).transpose(1, 2)
        if lengths is not None:
            lengths = torch.div(lengths + self.patch_size - 1, self.patch_size, rounding_mode="floor")
        return X, lengths

    def encode(self, X, lengths=None):
        """Encode ``X`` of shape (batch, time, input_size) into (batch, n_features_out).

        ``lengths`` (batch,), when given, are the true lengths of zero-padded
        sequences; padding changes no result. Returns the pooled vector and the
        attention weights (or None), over patches when ``patch_size > 1``.
        """
        X, lengths = self.patches(X, lengths)
        outputs, mask = self.step_outputs(X, lengths)
        return self.pool(outputs, lengths, mask)

    def attention_weights(self, X, lengths=None):
        """Attention pooling's weights, shape (batch, time); with ``pooling="attention"``.

        With patches, each patch's weight is shared equally among its real steps,
        so the weights still sum to 1 over each sequence's time steps.
        """
        weights = self.encode(X, lengths)[1]
        if self.patch is None:
            return weights
        size, n_steps = self.patch_size, X.shape[1]
        steps = torch.arange(n_steps, device=weights.device)
        ends = torch.full((X.shape[0], 1), n_steps, device=weights.device)
        if lengths is not None:
            ends = lengths.to(weights.device).view(-1, 1)
        # Real steps in each step's patch: the patch size, fewer in a last, partial one.
        start = (steps - steps % size).unsqueeze(0)
        shared = (ends - start).clamp(min=1, max=size)
        return weights.repeat_interleave(size, dim=1)[:, :n_steps] / shared * (steps < ends)

    def forward(self, X, lengths=None):
        if self.per_step:
            return self.head(self.step_outputs(X, lengths)[0])
        return self.head(self.encode(X, lengths)[0])


class _Decoder(nn.Module):
    """A one-layer recurrent cell started from a fixed-size summary of the input."""

    def __init__(self, cell, input_size, hidden_size, summary_size, nonlinearity):
        super().__init__()
        kwargs = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.cell = _STEP_CELLS[cell](input_size, hidden_size, **kwargs)
        self.is_lstm = cell == "lstm"
        self.init_hidden = nn.Linear(summary_size, hidden_size)
        self.init_cell = nn.Linear(summary_size, hidden_size) if self.is_lstm else None

    def initial_state(self, summary):
        hidden = torch.tanh(self.init_hidden(summary))
        return (hidden, self.init_cell(summary)) if self.is_lstm else hidden

    def step(self, inputs, state):
        """One step: returns the new hidden vector and the full state."""
        state = self.cell(inputs, state)
        return (state[0] if self.is_lstm else state), state


class Seq2SeqNetwork(nn.Module):
    """Encoder-decoder for multi-step forecasting (many-to-many, sequence to sequence).

    The encoder reads the input sequence; a decoder cell, started from the
    encoder's pooled summary, unrolls ``horizon`` steps, each fed the previous
    step's prediction (the first step a learnt start vector). Training and
    prediction both feed back the model's own predictions, so what is trained
    is what predicts. With ``attention``, every decoder step also reads an
    additive-attention context over the encoder's hidden states.

    Parameters
    ----------
    input_size : int
        Number of features per input time step.
    horizon : int
        Number of steps to forecast.
    n_targets : int
        Number of values forecast per step.
    attention : bool, default=True
        Whether the decoder attends over the encoder's time steps.
    n_params : int, default=1
        Raw outputs per target and step (a :class:`DistributionHead`'s
        parameters: quantiles, or a mean and a scale); ``decode``'s
        ``step_output`` turns them into what the next step is fed.
    n_future : int, default=0
        Known-future values per forecast step, fed to the decoder beside the
        previous step's forecast (``future`` of ``forward``).
    **encoder_params
        The encoder's ``cell``, ``hidden_size``, ``num_layers``,
        ``bidirectional``, ``dropout``, ``nonlinearity`` and ``pooling``, as in
        :class:`RecurrentNetwork`; the decoder is a single cell of the same
        kind and ``hidden_size``.

    Returns
    -------
    forward : tensor of shape (batch, horizon, n_targets)
    """

    def __init__(
        self,
        input_size,
        horizon,
        n_targets,
        attention=True,
        n_params=1,
        n_future=0,
        **encoder_params,
    ):
        super().__init__()
        self.horizon = horizon
        self.n_future = n_future
        self.encoder = RecurrentNetwork(input_size, None, **encoder_params)
        cell, nonlinearity = self.encoder.cell, self.encoder.nonlinearity
        hidden_size = self.encoder.hidden_size
        encoded_size = self.encoder.n_features_out
        self.decoder = _Decoder(
            cell, n_targets + n_future, hidden_size, encoded_size, nonlinearity
        )
        self.start = nn.Parameter(torch.zeros(n_targets))
        if attention:
            self.attend_query = nn.Linear(hidden_size, hidden_size, bias=False)
            self.attend_keys = nn.Linear(encoded_size, hidden_size)
            self.attend_score = nn.Linear(hidden_size, 1, bias=False)
            self.out = nn.Linear(hidden_size + encoded_size, n_targets * n_params)
        else:
            self.attend_query = None
            self.out = nn.Linear(hidden_size, n_targets * n_params)

    def decode(self, X, lengths=None, step_output=None, future=None):
        """Forecasts (batch, horizon, ...) and decoder attention weights (batch,
        horizon, time), or None without attention.

        ``future`` (batch, horizon, n_future), with ``n_future``, holds the
        known-future values of every step; step ``t`` reads those of step ``t``.

        ``step_output(raw, step)``, when given, turns a step's raw output
        (batch, n_targets * n_params) into (what the next step is fed, of shape
        (batch, n_targets), the step's forecast); a :class:`ForecastNetwork`
        adds its linear forecast and spread there. Without it both are the raw
        output.
        """
        outputs, mask = self.encoder.step_outputs(X, lengths)
        summary, _ = self.encoder.pool(outputs, lengths, mask)
        state = self.decoder.initial_state(summary)
        previous = self.start.expand(X.shape[0], -1)
        keys = None if self.attend_query is None else self.attend_keys(outputs)
        forecasts, all_weights = [], []
        for step in range(self.horizon):
            inputs = previous if future is None else torch.cat([previous, future[:, step]], dim=1)
            hidden, state = self.decoder.step(inputs, state)
            if keys is None:
                previous = self.out(hidden)
            else:
                scores = self.attend_score(
                    torch.tanh(keys + self.attend_query(hidden).unsqueeze(1))
                ).squeeze(-1)
                if mask is not None:
                    scores = scores.masked_fill(~mask, float("-inf"))
                weights = torch.softmax(scores, dim=1)
                context = torch.bmm(weights.unsqueeze(1), outputs).squeeze(1)
                previous = self.out(torch.cat([hidden, context], dim=1))
                all_weights.append(weights)
            forecast = previous
            if step_output is not None:
                previous, forecast = step_output(previous, len(forecasts))
            forecasts.append(forecast)
        weights = torch.stack(all_weights, dim=1) if all_weights else None
        return torch.stack(forecasts, dim=1), weights

    def attention_weights(self, X, lengths=None, future=None):
        """The decoder's attention weights, shape (batch, horizon, time); with ``attention``."""
        return self.decode(X, lengths, future=future)[1]

    def forward(self, X, lengths=None, future=None):
        return self.decode(X, lengths, future=future)[0]


# Floor of a window's per-feature variance when it is normalised by its own
# statistics; the inputs are standardised, so this is relative to the feature's
# spread over the whole training data (a flat window is not blown up).
WINDOW_VARIANCE_FLOOR = 1e-2


def window_statistics(X, lengths=None):
    """Per-sequence mean and floored standard deviation of every feature over time.

    Parameters
    ----------
    X : tensor of shape (batch, time, features)
    lengths : tensor of shape (batch,) or None
        True lengths of zero-padded sequences.

    Returns
    -------
    mean, std : tensors of shape (batch, features)
    """
    if lengths is None:
        mean = X.mean(dim=1)
        variance = X.var(dim=1, unbiased=False)
    else:
        mask = step_mask(lengths, X.shape[1], X.device).unsqueeze(2).to(X.dtype)
        count = mask.sum(dim=1).clamp(min=1)
        mean = (X * mask).sum(dim=1) / count
        variance = (((X - mean.unsqueeze(1)) * mask) ** 2).sum(dim=1) / count
    return mean, torch.sqrt(variance + WINDOW_VARIANCE_FLOOR)


def lagged_windows(X, lengths, k, per_step=False):
    """The last ``k`` steps of every sequence, flattened step by step.

    Steps before a sequence's start repeat its first step, so a sequence shorter
    than ``k`` still has a window.

    Returns
    -------
    windows : tensor of shape (batch, k * features); with ``per_step``, the
        window ending at every step, (batch, time, k * features), which reads
        nothing after its step
    """
    batch, n_steps, n_features = X.shape
    if per_step:
        padded = torch.cat([X[:, :1].expand(-1, k - 1, -1), X], dim=1) if k > 1 else X
        windows = padded.unfold(1, k, 1)  # (batch, time, features, k)
        return windows.transpose(2, 3).reshape(batch, n_steps, k * n_features)
    if lengths is None:
        ends = torch.full((batch,), n_steps, dtype=torch.int64, device=X.device)
    else:
        ends = lengths.to(X.device, torch.int64)
    steps = (ends.unsqueeze(1) - k + torch.arange(k, device=X.device).unsqueeze(0)).clamp(min=0)
    gathered = X.gather(1, steps.unsqueeze(2).expand(-1, -1, n_features))
    return gathered.reshape(batch, k * n_features)


DISTRIBUTIONS = ("point", "quantile", "gaussian")


def _inverse_softplus(value):
    return value + math.log(-math.expm1(-value))


def _normal_quantile(level):
    return math.sqrt(2.0) * torch.special.erfinv(torch.tensor(2.0 * level - 1.0)).item()


class DistributionHead(nn.Module):
    """What the recurrent part's raw outputs mean: a point, quantiles or a Gaussian.

    ``forward(raw, offset, spread)`` maps raw outputs (..., n_outputs * n_params)
    to forecasts, ``offset + spread * (...)`` in the targets' units:

    - ``"point"``: (..., n_outputs), ``offset + spread * raw``;
    - ``"quantile"``: (..., n_outputs, n_quantiles). The quantile nearest the
      median is ``offset + spread * (raw + z_m)``; every other quantile adds to
      its inner neighbour ``spread * softplus(raw + b)`` (above the median) or
      subtracts it (below), so quantiles never cross, by construction;
    - ``"gaussian"``: (..., n_outputs, 2), the mean ``offset + spread * raw_0``
      and the standard deviation ``spread * softplus(raw_1 + b)``, positive.

    ``z`` and ``b`` are set so that raw outputs of zero give a Gaussian with mean
    ``offset`` and standard deviation ``spread``: the untrained forecast of a
    :class:`ForecastNetwork` is its linear part with the Gaussian quantiles of
    that part's leave-one-out residual.

    Parameters
    ----------
    n_outputs : int
    kind : {"point", "quantile", "gaussian"}, default="point"
    quantiles : sequence of float in (0, 1), default=()
        Increasing levels, with ``kind="quantile"``.
    """

    def __init__(self, n_outputs, kind="point", quantiles=()):
        super().__init__()
        if kind not in DISTRIBUTIONS:
            raise ValueError(f"kind must be one of {DISTRIBUTIONS}, got {kind!r}.")
        self.n_outputs = n_outputs
        self.kind = kind
        self.quantiles = tuple(float(q) for q in quantiles) if kind == "quantile" else ()
        if kind == "quantile":
            if not self.quantiles or list(self.quantiles) != sorted(set(self.quantiles)):
                raise ValueError(f"quantiles must be increasing levels, got {quantiles!r}.")
            z = [_normal_quantile(q) for q in self.quantiles]
            self.center = min(range(len(z)), key=lambda k: abs(self.quantiles[k] - 0.5))
            gaps = [abs(z[k] - z[k - 1]) if k > self.center else abs(z[k + 1] - z[k])
                    for k in range(len(z))]
            bias = [z[self.center] if k == self.center else _inverse_softplus(gaps[k])
                    for k in range(len(z))]
            self.register_buffer("bias", torch.tensor(bias))
        elif kind == "gaussian":
            self.register_buffer("bias", torch.tensor([0.0, _inverse_softplus(1.0)]))

    @property
    def n_params(self):
        """Raw outputs per target."""
        return {"point": 1, "quantile": len(self.quantiles), "gaussian": 2}[self.kind]

    def forward(self, raw, offset=None, spread=None, calibration=None):
        """Forecasts from raw outputs; ``calibration`` (n_outputs, n_params), when
        given, multiplies each quantile's distance from the median (the Gaussian's
        standard deviation), as :class:`~sklearn_rnn._callbacks.IntervalCalibration`
        sets it."""
        if self.kind == "point":
            value = raw if spread is None else raw * spread
            return value if offset is None else value + offset
        raw = raw.unflatten(-1, (self.n_outputs, self.n_params)) + self.bias
        level = raw.new_ones(1) if spread is None else spread.unsqueeze(-1)  # (n_outputs, 1)
        # The scale of each parameter's distance from the centre: (n_outputs, n_params).
        distance = level * (raw.new_ones(self.n_params) if calibration is None else calibration)
        if self.kind == "gaussian":
            mean = raw[..., :1] * level
            if offset is not None:
                mean = mean + offset.unsqueeze(-1)
            std = nn.functional.softplus(raw[..., 1:]) * distance[..., 1:]
            return torch.cat([mean, std], dim=-1)
        center = raw[..., self.center : self.center + 1] * level
        if offset is not None:
            center = center + offset.unsqueeze(-1)
        # Each quantile is the one inside it (towards the median) plus a positive step.
        steps = nn.functional.softplus(raw)
        above = steps[..., self.center + 1 :].cumsum(dim=-1) * distance[..., self.center + 1 :]
        below = steps[..., : self.center].flip(-1).cumsum(dim=-1).flip(-1)
        below = below * distance[..., : self.center]
        return torch.cat([center - below, center, center + above], dim=-1)

    def combine(self, forecasts):
        """One forecast from several networks' ``forward`` outputs stacked on a
        leading axis: the mean of points; the mean of each quantile (averaged
        quantile functions do not cross); the moments of the Gaussians' equal
        mixture (its mean, and a standard deviation that adds the spread of the
        means to the mean variance)."""
        if self.kind != "gaussian":
            return forecasts.mean(dim=0)
        means, stds = forecasts[..., 0], forecasts[..., 1]
        mean = means.mean(dim=0)
        variance = (stds.square() + (means - mean).square()).mean(dim=0)
        return torch.stack([mean, variance.sqrt()], dim=-1)

    def point(self, forecast):
        """The point forecast (..., n_outputs) of ``forward``'s output: the median
        (the central quantile) or the mean."""
        if self.kind == "point":
            return forecast
        return forecast[..., self.center if self.kind == "quantile" else 0]


class ForecastNetwork(nn.Module):
    """A linear autoregression, and a recurrent network that learns what it misses.

    ``forecast = head(f(Z), skip(X), spread)``, for a point forecast
    ``skip(X) + spread * f(Z)``:

    - ``skip`` maps the last ``skip_window`` input steps (every feature,
      flattened) linearly to every output, LSTNet's "highway". Its weights are
      not trained by gradient: the estimator sets them by ridge regression
      (:class:`~sklearn_rnn._callbacks.LinearSkipFit`). Without ``linear_skip``
      it is left out (an offset of zero).
    - ``spread`` (one value per output) is that regression's leave-one-out
      residual spread; the loss is measured in these units (``loss_scale``), so
      the recurrent network learns a unit-variance problem however much of the
      target the linear part explains.
    - ``f`` is a :class:`RecurrentNetwork` (or, with a ``horizon``, a
      :class:`Seq2SeqNetwork`, whose every decoder step is fed the full point
      forecast) with its output layer at zero, so that the untrained network
      forecasts what the linear part forecasts.
    - ``Z`` is what ``f`` reads: the window normalised by its own per-feature
      mean and standard deviation (``window_norm="window"``, as RevIN and
      neuralforecast do), that and the input side by side (``"both"``), or the
      input (None). Per-step outputs read the input: whole-sequence statistics
      would let earlier steps see later ones.
    - ``head`` is a :class:`DistributionHead`: a point forecast, quantiles or a
      Gaussian per output.
    - Known-future values (``future``, of shape (batch, future_steps,
      n_future)) are read by the linear part beside the window, and by ``f``:
      a direct head adds a linear map of them to its output (a head over the
      recurrent summary and the future side by side), a decoder reads each
      step's values at that step.

    Parameters
    ----------
    input_size : int
        Features per time step.
    n_outputs : int
        Outputs per sequence (per step with ``per_step``, per horizon step with
        a ``horizon``).
    horizon : int or None, default=None
        Forecast steps of a sequence-to-sequence network; None: a direct head.
    attention : bool, default=False
        Whether the decoder attends over the encoder's steps (with a horizon).
    linear_skip : bool, default=True
    skip_window : int, default=1
        Steps the linear part reads.
    window_norm : {"window", "both"} or None, default="window"
    per_step : bool, default=False
        A forecast at every time step (many-to-many).
    distribution : {"point", "quantile", "gaussian"}, default="point"
    quantiles : sequence of float, default=()
        With ``distribution="quantile"``.
    n_future : int, default=0
        Known-future values per forecast step.
    future_steps : int or None, default=None
        Forecast steps the known future spans (the ``horizon`` with a decoder).
    **encoder_params
        As in :class:`RecurrentNetwork`.
    """

    def __init__(
        self,
        input_size,
        n_outputs,
        horizon=None,
        attention=False,
        linear_skip=True,
        skip_window=1,
        window_norm="window",
        per_step=False,
        distribution="point",
        quantiles=(),
        n_future=0,
        future_steps=None,
        **encoder_params,
    ):
        super().__init__()
        if n_future and (per_step or (horizon is not None and future_steps != horizon)):
            raise ValueError("Known-future values need a direct head or a decoder of their horizon.")
        if window_norm not in ("window", "both", None):
            raise ValueError(f"window_norm must be 'window', 'both' or None, got {window_norm!r}.")
        self.horizon = horizon
        self.per_step = per_step
        self.skip_window = skip_window
        self.window_norm = None if per_step else window_norm
        self.head = DistributionHead(n_outputs, distribution, quantiles)
        inner_size = 2 * input_size if self.window_norm == "both" else input_size
        n_raw = n_outputs * self.head.n_params
        if horizon is None:
            self.inner = RecurrentNetwork(inner_size, n_raw, per_step=per_step, **encoder_params)
            last = self.inner.head
        else:
            self.inner = Seq2SeqNetwork(
                inner_size,
                horizon,
                n_outputs,
                attention,
                self.head.n_params,
                n_future,
                **encoder_params,
            )
            last = self.inner.out
        n_known = n_future * (future_steps or 0)
        self.future_head = None
        if n_known and horizon is None:
            self.future_head = nn.Linear(n_known, n_raw, bias=False)
            nn.init.zeros_(self.future_head.weight)
        self.output_shape = (n_outputs,) if horizon is None else (horizon, n_outputs)
        self.register_buffer("spread", torch.ones(self.output_shape))
        # Multipliers of the quantiles' distances from the median (the Gaussian's
        # scale), set by the intervals' calibration on held-out samples.
        self.register_buffer("calibration", torch.ones(self.output_shape + (self.head.n_params,)))
        self.skip = None
        if linear_skip:
            self.skip = nn.Linear(
                input_size * skip_window + n_known, math.prod(self.output_shape)
            )
            self.skip.requires_grad_(False)
            nn.init.zeros_(self.skip.weight)
            nn.init.zeros_(self.skip.bias)
        # The untrained forecast is the offset (and, for distributions, the
        # head's Gaussian around it).
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    @property
    def rnn(self):
        """The recurrent layer that reads the sequences."""
        inner = self.inner
        return inner.rnn if self.horizon is None else inner.encoder.rnn

    @property
    def loss_scale(self):
        """What the loss divides errors by (the residual spread), or None."""
        return None if self.skip is None else self.spread

    def skip_features(self, X, lengths=None, future=None):
        """What the linear part reads: (batch, skip_window * features), and the
        known future flattened after it; per step (batch, time, skip_window *
        features)."""
        lagged = lagged_windows(X, lengths, self.skip_window, self.per_step)
        return lagged if future is None else torch.cat([lagged, future.flatten(1)], dim=1)

    def _parts(self, X, lengths, future=None):
        if self.window_norm is None:
            Z = X
        else:
            mean, std = window_statistics(X, lengths)
            Z = (X - mean.unsqueeze(1)) / std.unsqueeze(1)
            if lengths is not None:  # padding stays zero, as the encoder expects
                Z = Z * step_mask(lengths, X.shape[1], X.device).unsqueeze(2)
            if self.window_norm == "both":
                Z = torch.cat([Z, X], dim=2)
        if self.skip is None:
            return Z, None, None
        # In float32 under mixed precision too: the recurrent part learns the linear
        # part's residual, which bfloat16's rounding of the level would swamp.
        with torch.autocast(X.device.type, enabled=False):
            known = None if future is None else future.float()
            offset = self.skip(self.skip_features(X.float(), lengths, known))
        if not self.per_step:
            offset = offset.view(X.shape[0], *self.output_shape)
        return Z, offset, self.spread

    def _decode(self, X, lengths, future=None):
        Z, offset, spread = self._parts(X, lengths, future)

        def step_output(raw, step):
            forecast = self.head(
                raw,
                None if offset is None else offset[:, step],
                None if spread is None else spread[step],
                self.calibration[step],
            )
            return self.head.point(forecast), forecast

        return self.inner.decode(Z, lengths, step_output, future)

    def forward(self, X, lengths=None, future=None):
        if self.horizon is not None:
            return self._decode(X, lengths, future)[0]
        Z, offset, spread = self._parts(X, lengths, future)
        raw = self.inner(Z, lengths)
        if self.future_head is not None:
            raw = raw + self.future_head(future.flatten(1))
        return self.head(raw, offset, spread, self.calibration)

    def point_forecast(self, X, lengths=None, future=None):
        """The point forecast (the median or mean of a distribution), shaped as the targets."""
        return self.head.point(self(X, lengths, future))

    def attention_weights(self, X, lengths=None, future=None):
        """The attention weights of the recurrent part (pooling or decoder)."""
        if self.horizon is not None:
            return self._decode(X, lengths, future)[1]
        Z, _, _ = self._parts(X, lengths)
        return self.inner.attention_weights(Z, lengths)


class ForecastEnsemble(nn.Module):
    """Several :class:`ForecastNetwork` s, each trained on its own, forecasting as one.

    The estimators fit every network alone (its own initial weights, batch
    order, early stopping, linear part and calibration) and then load them
    here. In evaluation mode the forecast is their combination
    (:meth:`DistributionHead.combine`); in training mode (``partial_fit`` of a
    fitted ensemble) every network's forecast, stacked on a new leading axis,
    which :func:`loss_inputs` scores one network at a time.

    Parameters
    ----------
    n_networks : int, default=2
        Networks, at least 2.
    **network_params
        Each network's parameters, as in :class:`ForecastNetwork`.
    """

    member_class = ForecastNetwork

    def __init__(self, n_networks=2, **network_params):
        super().__init__()
        if n_networks < 2:
            raise ValueError(f"An ensemble needs at least 2 networks, got {n_networks!r}.")
        self.n_networks = n_networks
        self.networks = nn.ModuleList(ForecastNetwork(**network_params) for _ in range(n_networks))

    @property
    def head(self):
        return self.networks[0].head

    @property
    def per_step(self):
        return self.networks[0].per_step

    @property
    def loss_scale(self):
        """The networks' shared loss units (their linear parts share the
        training samples, so their residual spreads are the same), or None."""
        return self.networks[0].loss_scale

    def _forecasts(self, X, lengths=None, future=None):
        return torch.stack([network(X, lengths, future) for network in self.networks])

    def forward(self, X, lengths=None, future=None):
        forecasts = self._forecasts(X, lengths, future)
        return forecasts if self.training else self.head.combine(forecasts)

    def point_forecast(self, X, lengths=None, future=None):
        """The point forecast of the combined distribution, shaped as the targets."""
        return self.head.point(self.head.combine(self._forecasts(X, lengths, future)))

    def attention_weights(self, X, lengths=None, future=None):
        """The networks' attention weights, averaged (they still sum to 1)."""
        return torch.stack(
            [network.attention_weights(X, lengths, future) for network in self.networks]
        ).mean(dim=0)


class SequenceEmbeddingNetwork(nn.Module):
    """Sequences to fixed-size embeddings, trained supervised or as an autoencoder.

    The encoder's pooled summary is projected to ``n_components`` values: the
    embedding. With ``output_size``, a linear head maps the embedding to the
    targets (supervised). With ``output_size=None``, a recurrent decoder reads
    the embedding at every time step and reconstructs the input sequence (an
    encoder-decoder autoencoder); the output then has the input's shape.

    Parameters
    ----------
    input_size : int
        Number of features per time step.
    n_components : int
        Size of the embedding.
    output_size : int or None
        Outputs of the supervised head, or None for the autoencoder.
    **encoder_params
        The encoder's parameters, as in :class:`RecurrentNetwork`; the
        autoencoder's decoder is a recurrent layer of the same cell and size.
    """

    def __init__(self, input_size, n_components, output_size=None, **encoder_params):
        super().__init__()
        self.encoder = RecurrentNetwork(input_size, None, **encoder_params)
        cell, nonlinearity = self.encoder.cell, self.encoder.nonlinearity
        hidden_size = self.encoder.hidden_size
        self.project = nn.Linear(self.encoder.n_features_out, n_components)
        # An orthogonal projection passes the encoder's gradients on undamped; with
        # torch's default (smaller) init the LSTM encoder stalled more often.
        nn.init.orthogonal_(self.project.weight)
        nn.init.zeros_(self.project.bias)
        if output_size is None:
            kwargs = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
            self.decoder = _CELLS[cell](n_components, hidden_size, batch_first=True, **kwargs)
            self.head = nn.Linear(hidden_size, input_size)
        else:
            self.decoder = None
            self.head = nn.Linear(n_components, output_size)

    def embed(self, X, lengths=None):
        """Embeddings of shape (batch, n_components)."""
        return self.project(self.encoder.encode(X, lengths)[0])

    def attention_weights(self, X, lengths=None):
        """The encoder's attention pooling weights, shape (batch, time); with ``pooling="attention"``."""
        return self.encoder.attention_weights(X, lengths)

    def forward(self, X, lengths=None):
        embedding = self.embed(X, lengths)
        if self.decoder is None:
            return self.head(embedding)
        # A forward-only decoder: its outputs up to each true end ignore the padding.
        repeated = embedding.unsqueeze(1).expand(-1, X.shape[1], -1)
        return self.head(self.decoder(repeated)[0])


def _weighted_mean(loss, counted, sample_weight):
    """``sum(w * c * loss) / sum(c)``: the mean of ``loss`` over the ``counted``
    elements (a float mask: 1, 0, or a class weight), each multiplied by its
    sample's (or time step's) weight ``w``.

    The weights act as numbers of copies (the estimators scale them to a mean of
    1), so a batch's loss adds up over batches as skorch averages them, by batch
    size, whatever samples a batch holds. ``sample_weight`` of shape (batch,) or
    (batch, time) is broadcast over the remaining axes of ``loss``.
    """
    sample_weight = sample_weight.to(loss.device, loss.dtype)
    shape = sample_weight.shape + (1,) * (loss.dim() - sample_weight.dim())
    weighted = (loss * counted * sample_weight.view(shape)).sum()
    return weighted / counted.sum().clamp(min=torch.finfo(loss.dtype).tiny)


class MaskedMSELoss(nn.Module):
    """Mean squared error over the targets that are not NaN (padded time steps);
    ``sample_weight`` (batch,) weighs each sequence."""

    def forward(self, prediction, target, sample_weight=None):
        valid = ~torch.isnan(target)
        error = (prediction - torch.nan_to_num(target)) * valid
        if sample_weight is None:
            return error.square().sum() / valid.sum().clamp(min=1)
        return _weighted_mean(error.square(), valid.to(error.dtype), sample_weight)


class WeightedCrossEntropyLoss(nn.CrossEntropyLoss):
    """torch's cross-entropy of (batch, n_classes) logits, with class weights, that
    also takes a weight per sample: ``sum(s_i c_i l_i) / sum(c_i)`` for sample
    weights ``s``, class weights ``c`` of the true labels and losses ``l`` (torch's
    own ``sum(c_i l_i) / sum(c_i)`` for weights of 1)."""

    def forward(self, logits, target, sample_weight=None):
        if sample_weight is None:
            return super().forward(logits, target)
        losses = nn.functional.cross_entropy(
            logits, target, ignore_index=self.ignore_index, reduction="none"
        )
        valid = target != self.ignore_index
        counted = valid.to(losses.dtype)
        if self.weight is not None:
            counted = counted * self.weight[target.clamp(min=0)]
        return _weighted_mean(losses, counted, sample_weight.reshape(target.shape))


class PerStepCrossEntropyLoss(WeightedCrossEntropyLoss):
    """Cross-entropy of (batch, time, n_classes) logits against (batch, time) labels.

    Padded time steps carry the label ``-100`` and are skipped; ``sample_weight``
    is of shape (batch,) (each sequence) or (batch, time) (each step).
    """

    def __init__(self, weight=None):
        super().__init__(weight=weight, ignore_index=IGNORE_CLASS)

    def forward(self, logits, target, sample_weight=None):
        if sample_weight is not None:
            shape = sample_weight.shape + (1,) * (target.dim() - sample_weight.dim())
            sample_weight = sample_weight.reshape(shape).expand(target.shape).reshape(-1)
        return super().forward(
            logits.reshape(-1, logits.shape[-1]), target.reshape(-1), sample_weight
        )


class RegressionLoss(nn.Module):
    """A regressor's loss, averaged over the targets that are not NaN (padded steps).

    Parameters
    ----------
    kind : {"squared_error", "absolute_error", "huber", "quantile", "gaussian"}
        ``"huber"`` is quadratic within 1 of the target (in the loss's units, the
        linear part's residual spread or the scaled targets') and linear beyond;
        ``"quantile"`` is the pinball loss averaged over ``quantiles``, for
        predictions with a last axis of quantiles; ``"gaussian"`` the negative
        log-likelihood of predictions whose last axis holds a mean and a
        standard deviation (floored at 1e-4 so the loss stays finite).
    quantiles : sequence of float, default=()

    ``forward(prediction, target, sample_weight=None)``: ``sample_weight`` of
    shape (batch,) or, per step, (batch, time) weighs the targets.
    """

    KINDS = ("squared_error", "absolute_error", "huber", "quantile", "gaussian")

    def __init__(self, kind="squared_error", quantiles=()):
        super().__init__()
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got {kind!r}.")
        self.kind = kind
        self.quantiles = tuple(float(q) for q in quantiles)
        self.register_buffer("levels", torch.tensor(self.quantiles or (0.5,)))

    def forward(self, prediction, target, sample_weight=None):
        valid = ~torch.isnan(target)
        target = torch.nan_to_num(target)
        if self.kind == "quantile":
            error = target.unsqueeze(-1) - prediction
            loss = torch.maximum(self.levels * error, (self.levels - 1) * error).mean(dim=-1)
        elif self.kind == "gaussian":
            mean, std = prediction[..., 0], prediction[..., 1].clamp(min=1e-4)
            loss = 0.5 * ((target - mean) / std) ** 2 + torch.log(std) + 0.5 * math.log(2 * math.pi)
        elif self.kind == "absolute_error":
            loss = (prediction - target).abs()
        elif self.kind == "huber":
            loss = nn.functional.huber_loss(prediction, target, reduction="none", delta=1.0)
        else:
            loss = (prediction - target) ** 2
        if sample_weight is None:
            return (loss * valid).sum() / valid.sum().clamp(min=1)
        return _weighted_mean(loss, valid.to(loss.dtype), sample_weight)


# This package's losses by class name: the ones a saved model may name.
LOSSES = {
    loss.__name__: loss
    for loss in (MaskedMSELoss, WeightedCrossEntropyLoss, PerStepCrossEntropyLoss, RegressionLoss)
}
