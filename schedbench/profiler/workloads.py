"""What ``schedbench profile`` can measure: the article's four models and user models.

A :class:`Workload` says how to build the model(s), the synthetic inputs of one sample, the loss
and how one training step goes. It holds no torch objects (torch is imported by
:mod:`schedbench.profiler.measure` only), so the CLI can parse and check a request before torch is
loaded.

Built-in workloads (the models the source article defines in Keras; see docs/profile.md for the
layer-by-layer mapping): ``cnn``, ``rnn``, ``lstm`` and ``gan``.

User workloads: ``pkg.module:factory`` names a callable that takes no arguments and returns a
``torch.nn.Module``; ``--input`` gives each forward argument of one sample (the batch dimension is
added in front) and ``--loss`` the loss (``cross-entropy``, ``bce`` or ``mse``; the targets are
synthesized from the shape of the model's output).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schedbench.profiler import ProfileError

#: dtypes an input may have.
FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16")
INT_DTYPES = ("int64", "int32")
DTYPES = FLOAT_DTYPES + INT_DTYPES

#: Losses of a user workload. ``cross-entropy``: the output's dim 1 holds class logits, targets are
#: class indices; ``bce``: logits, targets 0/1 of the output's shape; ``mse``: targets N(0, 1).
LOSSES = ("cross-entropy", "bce", "mse")

_FAMILIES = ("cnn", "rnn", "transformer", "gan", "recommendation", "rl", "speech")
_SPEC_RE = re.compile(r"^(?P<dtype>[a-z0-9]+):(?P<shape>[0-9]+(?:x[0-9]+)*|scalar)(?::(?P<high>[0-9]+))?$")
_FACTORY_RE = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*"
    r"(?:\.[A-Za-z_][A-Za-z0-9_]*)*$"
)
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class TensorSpec:
    """One input of one sample: ``dtype`` and ``shape`` without the batch dimension; integer inputs
    are drawn uniformly from ``[0, high)``, float inputs from N(0, 1).

    Text form: ``DTYPE:SHAPE[:HIGH]``, e.g. ``float32:3x224x224``, ``int64:100:10000`` (100 token
    ids below 10000), ``float32:scalar`` (one number per sample)."""

    dtype: str
    shape: tuple[int, ...]
    high: int | None = None

    @classmethod
    def parse(cls, text: str) -> TensorSpec:
        """Parse the text form; :class:`ProfileError` naming what was expected otherwise."""
        m = _SPEC_RE.match(text.strip())
        if m is None:
            raise ProfileError(
                f"--input {text!r}: expected DTYPE:SHAPE[:HIGH], e.g. float32:3x224x224 or int64:100:10000"
            )
        dtype = m["dtype"]
        if dtype not in DTYPES:
            raise ProfileError(f"--input {text!r}: dtype must be one of {list(DTYPES)}, not {dtype!r}")
        shape = () if m["shape"] == "scalar" else tuple(int(s) for s in m["shape"].split("x"))
        if any(s < 1 for s in shape):
            raise ProfileError(f"--input {text!r}: every dimension must be >= 1")
        high = None if m["high"] is None else int(m["high"])
        if dtype in INT_DTYPES and (high is None or high < 1):
            raise ProfileError(
                f"--input {text!r}: an integer input needs its range, e.g. int64:100:10000 for ids in [0, 10000)"
            )
        if dtype in FLOAT_DTYPES and high is not None:
            raise ProfileError(f"--input {text!r}: only integer inputs take a range")
        return cls(dtype, shape, high)

    def text(self) -> str:
        """The spec as the CLI writes it: ``dtype:shape[:high]``."""
        shape = "x".join(map(str, self.shape)) if self.shape else "scalar"
        return f"{self.dtype}:{shape}" + (f":{self.high}" if self.high is not None else "")


@dataclass(frozen=True)
class Workload:
    """A model to profile.

    Attributes:
        name: what the user typed (``cnn``, ``pkg.mod:factory``).
        key: stem of the catalogue job type keys (``article-cnn``; the key is ``<key>-bs<B>``).
        family: catalogue family.
        model: model name and size for the catalogue.
        task: task and data for the catalogue.
        kind: ``"supervised"`` (one model, one loss, one optimizer) or ``"gan"`` (the article's
            generator and discriminator, two optimizers; see :mod:`schedbench.profiler.measure`).
        inputs: the forward arguments of one sample.
        loss: one of :data:`LOSSES` (supervised only).
        factory: ``module:callable`` returning the model (built-ins: in :mod:`.models`).
        description: one paragraph for the catalogue's job type.
        samples: what one sample is (the throughput unit is ``samples/s``).
    """

    name: str
    key: str
    family: str
    model: str
    task: str
    kind: str
    inputs: tuple[TensorSpec, ...]
    loss: str
    factory: str
    description: str
    samples: str = "samples"


_ARTICLE = (
    "Defined after the Keras model of the source article (the Dutch tutorial on GPU scheduling "
    "schedbench starts from), written in PyTorch with the same layers and sizes (docs/profile.md "
    "gives the layer mapping); trained with Adam on synthetic data of the article's shapes."
)

BUILTIN: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "cnn",
            "article-cnn",
            "cnn",
            "article CNN: Conv2D 32-64-64 3x3 + MaxPool x2 + Dense 64-10 (93,322 parameters)",
            "MNIST-shaped 28x28x1 image classification, 10 classes (synthetic data)",
            "supervised",
            (TensorSpec("float32", (1, 28, 28)),),
            "cross-entropy",
            "schedbench.profiler.models:article_cnn",
            "Image classifier of the article's CNN section: three 3x3 convolutions (32, 64, 64 filters, ReLU, "
            "valid padding) with 2x2 max pooling after the first two, then Dense 64 (ReLU) and Dense 10 "
            "(softmax, categorical cross-entropy). " + _ARTICLE,
            "images",
        ),
        Workload(
            "rnn",
            "article-rnn",
            "rnn",
            "article simple RNN: Embedding 10000x128 + SimpleRNN 64 + Dense 1 (1,292,417 parameters)",
            "binary text classification of 100-token sequences, vocabulary 10,000 (synthetic data)",
            "supervised",
            (TensorSpec("int64", (100,), 10000),),
            "bce",
            "schedbench.profiler.models:article_rnn",
            "Text classifier of the article's RNN section: Embedding(10000, 128) over 100 token ids, SimpleRNN "
            "with 64 tanh units (last state), Dense 1 (sigmoid, binary cross-entropy). " + _ARTICLE,
            "sequences",
        ),
        Workload(
            "lstm",
            "article-lstm",
            "rnn",
            "article LSTM: Embedding 10000x128 + LSTM 128 + Dense 10000 (2,701,584 parameters)",
            "next-token prediction over a 10,000-word vocabulary from 100-token sequences (synthetic data)",
            "supervised",
            (TensorSpec("int64", (100,), 10000),),
            "cross-entropy",
            "schedbench.profiler.models:article_lstm",
            "Text generation model of the article's LSTM section: Embedding(10000, 128) over 100 token ids, LSTM "
            "with 128 units (last state), Dense 10000 (softmax, categorical cross-entropy): one prediction per "
            "sequence. " + _ARTICLE,
            "sequences",
        ),
        Workload(
            "gan",
            "article-gan",
            "gan",
            "article GAN: generator Dense 12544 + Conv2DTranspose 128-64-1 5x5 (2,292,737 parameters), "
            "discriminator Conv2D 64-128 5x5 + Dense 1 (212,865 parameters)",
            "MNIST-shaped 28x28x1 image generation from a 100-dimensional noise vector (synthetic data)",
            "gan",
            (TensorSpec("float32", (1, 28, 28)),),
            "bce",
            "schedbench.profiler.models:article_gan",
            "Generator and discriminator of the article's GAN section. One training step is one discriminator "
            "update on B real and B generated images (binary cross-entropy) and one generator update through the "
            "frozen discriminator on B noise vectors, each with its own Adam optimizer; a sample is one real "
            "image. " + _ARTICLE,
            "images",
        ),
    )
}


def builtin_names() -> list[str]:
    """Names of the built-in workloads, sorted."""
    return sorted(BUILTIN)


def user_workload(
    factory: str,
    inputs: list[str],
    loss: str | None,
    *,
    family: str | None = None,
    key: str | None = None,
    task: str | None = None,
) -> Workload:
    """A user workload from ``pkg.module:factory``, the ``--input`` specs and ``--loss``.

    Raises:
        ProfileError: a malformed import path, input spec, loss, family or key.
    """
    if not _FACTORY_RE.match(factory):
        raise ProfileError(
            f"model {factory!r}: expected one of {builtin_names()} or an import path "
            "pkg.module:factory (a callable returning a torch.nn.Module)"
        )
    if not inputs:
        raise ProfileError(
            f"model {factory!r}: a user model needs --input DTYPE:SHAPE[:HIGH] for each forward "
            "argument of one sample (e.g. --input float32:3x32x32)"
        )
    if loss is None:
        raise ProfileError(f"model {factory!r}: a user model needs --loss, one of {list(LOSSES)}")
    if loss not in LOSSES:
        raise ProfileError(f"--loss must be one of {list(LOSSES)}, not {loss!r}")
    family = family or "cnn"
    if family not in _FAMILIES:
        raise ProfileError(f"--family must be one of {list(_FAMILIES)}, not {family!r}")
    specs = tuple(TensorSpec.parse(s) for s in inputs)
    stem = key or re.sub(r"[^A-Za-z0-9._-]+", "-", factory.replace(":", "-")).strip("-")
    if not _KEY_RE.match(stem):
        raise ProfileError(f"--key {stem!r}: expected letters, digits, '.', '_' or '-'")
    shapes = ", ".join(s.text() for s in specs)
    return Workload(
        factory,
        stem,
        family,
        f"user model {factory}",
        task or f"user model, inputs {shapes}, loss {loss} (synthetic data)",
        "supervised",
        specs,
        loss,
        factory,
        f"User model {factory} (a torch.nn.Module from its factory), inputs per sample {shapes}, loss "
        f"{loss}, trained with Adam on synthetic data.",
    )


def resolve(
    name: str,
    inputs: list[str] | None = None,
    loss: str | None = None,
    *,
    family: str | None = None,
    key: str | None = None,
    task: str | None = None,
) -> Workload:
    """The workload a ``MODEL`` argument names: a built-in name, or a user ``pkg.module:factory``.

    Raises:
        ProfileError: an unknown name, or options that do not apply.
    """
    if name in BUILTIN:
        if inputs or loss or family or task:
            raise ProfileError(
                f"--input, --loss, --family and --task apply to user models, not to the built-in {name!r}"
            )
        w = BUILTIN[name]
        if key is not None:
            if not _KEY_RE.match(key):
                raise ProfileError(f"--key {key!r}: expected letters, digits, '.', '_' or '-'")
            w = Workload(**{**w.__dict__, "key": key})
        return w
    if ":" not in name:
        raise ProfileError(f"unknown model {name!r}; expected one of {builtin_names()} or pkg.module:factory")
    return user_workload(name, inputs or [], loss, family=family, key=key, task=task)


__all__ = ["BUILTIN", "DTYPES", "LOSSES", "TensorSpec", "Workload", "builtin_names", "resolve", "user_workload"]
