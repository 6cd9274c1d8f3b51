"""Pure PyTorch modules: the recurrent networks behind every estimator.

Nothing in this module knows about scikit-learn; it can be used on its own.
"""

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
    ):
        super().__init__()
        _check_cell(cell)
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        rnn_kwargs = dict(
            input_size=input_size,
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

    def encode(self, X, lengths=None):
        """Encode ``X`` of shape (batch, time, input_size) into (batch, n_features_out).

        ``lengths`` (batch,), when given, are the true lengths of zero-padded
        sequences; padding changes no result. Returns the pooled vector and the
        attention weights (or None).
        """
        outputs, mask = self.step_outputs(X, lengths)
        return self.pool(outputs, lengths, mask)

    def attention_weights(self, X, lengths=None):
        """Attention pooling's weights, shape (batch, time); with ``pooling="attention"``."""
        return self.encode(X, lengths)[1]

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
    **encoder_params
        The encoder's ``cell``, ``hidden_size``, ``num_layers``,
        ``bidirectional``, ``dropout``, ``nonlinearity`` and ``pooling``, as in
        :class:`RecurrentNetwork`; the decoder is a single cell of the same
        kind and ``hidden_size``.

    Returns
    -------
    forward : tensor of shape (batch, horizon, n_targets)
    """

    def __init__(self, input_size, horizon, n_targets, attention=True, **encoder_params):
        super().__init__()
        self.horizon = horizon
        self.encoder = RecurrentNetwork(input_size, None, **encoder_params)
        cell, nonlinearity = self.encoder.cell, self.encoder.nonlinearity
        hidden_size = self.encoder.hidden_size
        encoded_size = self.encoder.n_features_out
        self.decoder = _Decoder(cell, n_targets, hidden_size, encoded_size, nonlinearity)
        self.start = nn.Parameter(torch.zeros(n_targets))
        if attention:
            self.attend_query = nn.Linear(hidden_size, hidden_size, bias=False)
            self.attend_keys = nn.Linear(encoded_size, hidden_size)
            self.attend_score = nn.Linear(hidden_size, 1, bias=False)
            self.out = nn.Linear(hidden_size + encoded_size, n_targets)
        else:
            self.attend_query = None
            self.out = nn.Linear(hidden_size, n_targets)

    def decode(self, X, lengths=None):
        """Forecasts (batch, horizon, n_targets) and decoder attention weights
        (batch, horizon, time), or None without attention."""
        outputs, mask = self.encoder.step_outputs(X, lengths)
        summary, _ = self.encoder.pool(outputs, lengths, mask)
        state = self.decoder.initial_state(summary)
        previous = self.start.expand(X.shape[0], -1)
        keys = None if self.attend_query is None else self.attend_keys(outputs)
        forecasts, all_weights = [], []
        for _ in range(self.horizon):
            hidden, state = self.decoder.step(previous, state)
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
            forecasts.append(previous)
        weights = torch.stack(all_weights, dim=1) if all_weights else None
        return torch.stack(forecasts, dim=1), weights

    def attention_weights(self, X, lengths=None):
        """The decoder's attention weights, shape (batch, horizon, time); with ``attention``."""
        return self.decode(X, lengths)[1]

    def forward(self, X, lengths=None):
        return self.decode(X, lengths)[0]


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


class MaskedMSELoss(nn.Module):
    """Mean squared error over the targets that are not NaN (padded time steps)."""

    def forward(self, prediction, target):
        valid = ~torch.isnan(target)
        error = (prediction - torch.nan_to_num(target)) * valid
        return error.square().sum() / valid.sum().clamp(min=1)


class PerStepCrossEntropyLoss(nn.CrossEntropyLoss):
    """Cross-entropy of (batch, time, n_classes) logits against (batch, time) labels.

    Padded time steps carry the label ``-100`` and are skipped.
    """

    def __init__(self, weight=None):
        super().__init__(weight=weight, ignore_index=IGNORE_CLASS)

    def forward(self, logits, target):
        return super().forward(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


# This package's losses by class name: the ones a saved model may name.
LOSSES = {loss.__name__: loss for loss in (MaskedMSELoss, PerStepCrossEntropyLoss)}
