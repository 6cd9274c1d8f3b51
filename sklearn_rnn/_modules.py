"""Pure PyTorch modules: the recurrent network behind every estimator.

Nothing in this module knows about scikit-learn; it can be used on its own.
"""

import torch
from torch import nn

_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
POOLINGS = ("last", "mean", "max", "attention")


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
    output_size : int
        Number of outputs of the linear head (targets or class logits).
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
    ):
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"cell must be one of {sorted(_CELLS)}, got {cell!r}.")
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
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional
        self.pooling = pooling
        self.rnn = _CELLS[cell](**rnn_kwargs)
        n_directions = 2 if bidirectional else 1
        self.attention = (
            AttentionPooling(hidden_size * n_directions) if pooling == "attention" else None
        )
        self.head = nn.Linear(hidden_size * n_directions, output_size)

    def encode(self, X, lengths=None):
        """Encode ``X`` of shape (batch, time, input_size) into (batch, features).

        ``lengths`` (batch,), when given, are the true lengths of zero-padded
        sequences; padding changes no result. Bidirectional networks pack the
        sequences, so the backward pass starts at each true end; a forward-only
        network reads each sequence's outputs up to its true end.

        Returns the pooled vector and the attention weights (or None).
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
        mask = None
        if lengths is not None:
            steps = torch.arange(X.shape[1], device=X.device)
            mask = steps.unsqueeze(0) < lengths.to(X.device).unsqueeze(1)
        weights = None
        if self.pooling == "last":
            if lengths is None:
                forward_last = outputs[:, -1, : self.hidden_size]
            else:
                last = (lengths.to(X.device) - 1).view(-1, 1, 1)
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

    def forward(self, X, lengths=None):
        pooled, _ = self.encode(X, lengths)
        return self.head(pooled)
