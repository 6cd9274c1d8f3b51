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

    def forward(self, outputs):
        """Pool ``outputs`` of shape (batch, time, features).

        Returns the pooled tensor of shape (batch, features) and the weights
        of shape (batch, time).
        """
        scores = self.score(torch.tanh(self.project(outputs))).squeeze(-1)
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

    def encode(self, X):
        """Encode ``X`` of shape (batch, time, input_size) into (batch, features).

        Returns the pooled vector and the attention weights (or None).
        """
        outputs, _ = self.rnn(X)
        weights = None
        if self.pooling == "last":
            if self.bidirectional:
                forward_last = outputs[:, -1, : self.hidden_size]
                backward_last = outputs[:, 0, self.hidden_size :]
                pooled = torch.cat([forward_last, backward_last], dim=1)
            else:
                pooled = outputs[:, -1]
        elif self.pooling == "mean":
            pooled = outputs.mean(dim=1)
        elif self.pooling == "max":
            pooled = outputs.amax(dim=1)
        else:
            pooled, weights = self.attention(outputs)
        return pooled, weights

    def forward(self, X):
        pooled, _ = self.encode(X)
        return self.head(pooled)
