"""The source article's four Keras models, written in PyTorch with the same layers and sizes.

Imports torch: import this module only after :func:`schedbench.profiler.require_torch`.

Mapping (docs/profile.md has the full table and the points where the article is ambiguous):

- Keras ``Dense(n, activation='softmax')`` + ``categorical_crossentropy`` -> ``nn.Linear`` giving
  logits + ``nn.CrossEntropyLoss`` (the softmax sits in the loss: the same function, fused);
  ``Dense(1, activation='sigmoid')`` + ``binary_crossentropy`` -> ``nn.Linear`` + ``nn.BCEWithLogitsLoss``.
- Images are NCHW (PyTorch) instead of NHWC (Keras); ``Reshape((7, 7, 256))`` becomes a view to
  ``(256, 7, 7)``: the same numbers in another order.
- ``padding='same'`` of a stride-2 5x5 convolution is TensorFlow's asymmetric padding (1 before,
  2 after); PyTorch pads 2 on both sides. Output shapes, parameter counts and FLOPs are identical.
  For ``Conv2DTranspose`` with ``padding='same'``: ``padding=2`` (and ``output_padding=1`` at
  stride 2), which gives the same output size (7 -> 7 -> 14 -> 28).
- Keras ``SimpleRNN`` and ``LSTM`` have one bias vector; PyTorch's ``nn.RNN``/``nn.LSTM`` have two
  (``bias_ih``, ``bias_hh``) that are only ever summed. ``bias_hh`` is set to zero and frozen, so
  the trainable parameters and their count are exactly Keras's.
"""

from __future__ import annotations

import torch
from torch import nn

VOCAB = 10_000
SEQ_LEN = 100
EMBED = 128
LATENT = 100


def _single_bias(rnn: nn.RNNBase) -> nn.RNNBase:
    """Zero and freeze the hidden-to-hidden biases: Keras's recurrent layers have one bias."""
    for name, p in rnn.named_parameters():
        if name.startswith("bias_hh"):
            with torch.no_grad():
                p.zero_()
            p.requires_grad_(False)
    return rnn


class ArticleCNN(nn.Module):
    """``Conv2D(32,3x3,relu) MaxPool(2) Conv2D(64,3x3,relu) MaxPool(2) Conv2D(64,3x3,relu) Flatten
    Dense(64,relu) Dense(10,softmax)`` on 28x28x1 images: 93,322 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 28 -> 26 -> 13
            nn.Conv2d(32, 64, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 13 -> 11 -> 5
            nn.Conv2d(64, 64, 3),
            nn.ReLU(),  # 5 -> 3
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(3 * 3 * 64, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of a batch of images."""
        return self.classifier(self.features(x))


class ArticleRNN(nn.Module):
    """``Embedding(10000, 128, input_length=100) SimpleRNN(64) Dense(1, sigmoid)``: 1,292,417
    trainable parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, EMBED)
        self.rnn = _single_bias(nn.RNN(EMBED, 64, nonlinearity="tanh", batch_first=True))
        self.head = nn.Linear(64, 1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Class logits of a batch of token sequences (from the last hidden state)."""
        _, h = self.rnn(self.embedding(tokens))
        return self.head(h[-1])


class ArticleLSTM(nn.Module):
    """``Embedding(10000, 128, input_length=100) LSTM(128) Dense(10000, softmax)``: 2,701,584
    trainable parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, EMBED)
        self.lstm = _single_bias(nn.LSTM(EMBED, 128, batch_first=True))
        self.head = nn.Linear(128, VOCAB)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Class logits of a batch of token sequences (from the last hidden state)."""
        _, (h, _) = self.lstm(self.embedding(tokens))
        return self.head(h[-1])


class GanGenerator(nn.Module):
    """``Dense(7*7*256, input_dim=100) LeakyReLU(0.2) Reshape(7,7,256)
    Conv2DTranspose(128,5x5,s1,same) LeakyReLU(0.2) Conv2DTranspose(64,5x5,s2,same) LeakyReLU(0.2)
    Conv2DTranspose(1,5x5,s2,same,tanh)``: 2,292,737 parameters, 100 -> 28x28x1."""

    def __init__(self) -> None:
        super().__init__()
        self.project = nn.Sequential(nn.Linear(LATENT, 7 * 7 * 256), nn.LeakyReLU(0.2))
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2),
            nn.LeakyReLU(0.2),  # 7x7
            nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1),
            nn.LeakyReLU(0.2),  # 14x14
            nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1),
            nn.Tanh(),  # 28x28
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images generated from a batch of latent vectors."""
        return self.deconv(self.project(z).view(-1, 256, 7, 7))


class GanDiscriminator(nn.Module):
    """``Conv2D(64,5x5,s2,same) LeakyReLU(0.2) Dropout(0.3) Conv2D(128,5x5,s2,same) LeakyReLU(0.2)
    Dropout(0.3) Flatten Dense(1, sigmoid)`` on 28x28x1: 212,865 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 64, 5, stride=2, padding=2),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.3),  # 28 -> 14
            nn.Conv2d(64, 128, 5, stride=2, padding=2),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.3),  # 14 -> 7
            nn.Flatten(),
            nn.Linear(7 * 7 * 128, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Real/fake logit of a batch of images."""
        return self.net(x)


def article_cnn() -> nn.Module:
    """The source article's CNN, freshly initialised."""
    return ArticleCNN()


def article_rnn() -> nn.Module:
    """The source article's RNN, freshly initialised."""
    return ArticleRNN()


def article_lstm() -> nn.Module:
    """The source article's LSTM, freshly initialised."""
    return ArticleLSTM()


def article_gan() -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator)."""
    return GanGenerator(), GanDiscriminator()


def keras_parameter_counts() -> dict[str, int]:
    """Parameter counts of the article's models as Keras counts them (``model.summary()``), from the
    layer formulas: conv ``k*k*cin*cout + cout``, dense ``in*out + out``, SimpleRNN
    ``units*(in + units + 1)``, LSTM ``4*units*(in + units + 1)``, embedding ``vocab*dim``."""
    conv = lambda k, cin, cout: k * k * cin * cout + cout  # noqa: E731
    dense = lambda i, o: i * o + o  # noqa: E731
    return {
        "cnn": conv(3, 1, 32) + conv(3, 32, 64) + conv(3, 64, 64) + dense(576, 64) + dense(64, 10),
        "rnn": VOCAB * EMBED + 64 * (EMBED + 64 + 1) + dense(64, 1),
        "lstm": VOCAB * EMBED + 4 * 128 * (EMBED + 128 + 1) + dense(128, VOCAB),
        "gan-generator": dense(LATENT, 7 * 7 * 256) + conv(5, 256, 128) + conv(5, 128, 64) + conv(5, 64, 1),
        "gan-discriminator": conv(5, 1, 64) + conv(5, 64, 128) + dense(7 * 7 * 128, 1),
    }
