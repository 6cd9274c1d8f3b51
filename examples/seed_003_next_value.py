"""Seed 003: learn the sequence ``m*m/2 + m`` and predict the 5th value from 4.

The seed trains ``Sequential([LSTM(50), Dense(1)])`` in Keras for 100 epochs
with batch size 1 and prints a table of input, prediction and true value; its
"true value" column is taken from the wrong row (two steps ahead). Here the same
data go through ``LSTMRegressor(hidden_size=50)`` at default settings, and the
table shows the value that really follows each input.

Run: ``python examples/seed_003_next_value.py``
"""

# %%
import numpy as np

from sklearn_rnn import LSTMRegressor


def value(m):
    return round(m * (m / 2) + m, 2)


def make_sequences(start, n_sequences, length):
    """``n_sequences`` runs of ``length`` values, the k-th starting at start + 0.1 k.

    Built the way the seed builds them: by adding 0.1 step by step.
    """
    sequences = []
    n = start
    for _ in range(n_sequences):
        m = n
        sequence = [value(m)]
        for _ in range(length - 1):
            m += 0.1
            sequence.append(value(m))
        sequences.append(sequence)
        n += 0.1
    return np.array(sequences)


# %%
# Training data as in the seed: 40 sequences of 5 values; the first 4 are the input.
data = make_sequences(0.0, 40, 5)
X, y = data[:, :4, np.newaxis], data[:, 4]

# Test data: the seed's 10 input sequences starting at 1.0, plus the true 5th value
# (the seed leaves it out and reads the wrong row instead).
test = make_sequences(1.0, 10, 5)
X_test, y_test = test[:, :4, np.newaxis], test[:, 4]


def fit_and_score(random_state=0):
    """Fit at default settings (but the seed's 50 units); return predictions and MAE."""
    model = LSTMRegressor(hidden_size=50, random_state=random_state).fit(X, y)
    predictions = model.predict(X_test)
    return model, predictions, float(np.mean(np.abs(predictions - y_test)))


# %%
if __name__ == "__main__":
    model, predictions, mae = fit_and_score()
    print(f"Trained for {model.n_iter_} epochs, final training loss {model.loss_curve_[-1]:.2e}")
    print("-" * 72)
    print("|{:^7s}|{:^30s}|{:^15s}|{:^15s}|".format("№", "Input", "Prediction", "True value"))
    print("-" * 72)
    for i, (inputs, prediction, truth) in enumerate(zip(X_test[:, :, 0], predictions, y_test)):
        row = str([round(float(v), 2) for v in inputs])
        print(f"|{i + 1:^7d}|{row:^30s}|{prediction:^15.2f}|{truth:^15.2f}|")
    print("-" * 72)
    print(f"Mean absolute error on the 10 test sequences: {mae:.4f}")
