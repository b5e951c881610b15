"""R4: GPU memory of a training job from its model and batch size, by a documented formula.

A job's memory need is a property of the job (model, batch size, optimiser), not of the GPU it
runs on::

    memory(B) = context + state_bytes x P + B x activation_bytes_per_sample

* ``context``: CUDA context, framework and cuDNN workspaces, 0.75 GiB (an assumption: PyTorch's
  CUDA context alone takes about 0.3-0.8 GiB depending on GPU and CUDA version).
* ``P``: the model's parameters (cited per model below), ``state_bytes``: bytes kept per parameter
  in FP32 training, 4 (weights) + 4 (gradients) + the optimiser's state: 0 for plain SGD, 4 for
  SGD with momentum, 8 for Adam (Rajbhandari et al., ZeRO, SC 2020, section 3.1).
* ``activation_bytes_per_sample``: what the forward pass keeps for the backward pass, per sample,
  per model:

  - CNNs (ResNet, CycleGAN): ``2 x 4 bytes x`` the sum of every convolution's output elements (the
    convolution output that batch normalisation keeps, and the normalised/ReLU output the next
    layer keeps; in-place ReLU), counted layer by layer from the published architecture
    (:func:`resnet_conv_outputs`, :func:`cyclegan_conv_outputs`). Check against a measurement:
    Lambda ran its FP32 ResNet-50 at per-GPU batches 128 / 224 / 496 on 16 / 24 / 48 GiB GPUs, a
    slope of 0.087 GiB per sample; the formula gives 0.083.
  - Transformer: ``2 x s x h x (34 + 5 a s / h)`` bytes per layer (Korthikanti et al., Reducing
    Activation Recomputation in Large Transformer Models, MLSys 2023, eq. 1, for 16-bit
    activations; x2 for FP32), encoder layers counted once, decoder layers 1.5 times (cross
    attention), plus the logits and their gradients ``2 x 4 x s x V``.
  - LSTM language model: per time step and layer the gates, cell and hidden states ``7 h`` floats,
    plus the embedding ``h`` and the logits and log-softmax ``2 V``, times ``bptt`` steps.
  - Recommendation (autoencoder): input, output and hidden layers, values and gradients.
  - A3C: one rollout of 20 steps of 84x84x4 frames through the network of Mnih et al. 2016.

An estimate, never a measurement: every figure it gives has kind ``derived`` with rule R4 and its
inputs in the rule text. Where a source measured the job's throughput on a GPU (so it ran there),
the figure is capped at that GPU's memory: a formula never removes a measured configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 2.0**30
#: CUDA context, framework and workspaces (GiB), an assumption (module docstring).
CONTEXT_GIB = 0.75
#: Bytes per parameter in FP32 training by optimiser (weights + gradients + optimiser state).
STATE_BYTES = {"sgd": 8, "sgd-momentum": 12, "adam": 16}


def resnet_conv_outputs(variant: str, size: int) -> int:
    """Sum of the output elements of every convolution (downsampling shortcuts included) of one
    sample: ``"resnet50-imagenet"`` (He et al., CVPR 2016, torchvision v1.5, stride on the 3x3) or
    ``"resnet18-cifar"`` (3x3 stem, no max-pool, as in CIFAR-10 training code)."""
    tot = 0
    if variant == "resnet50-imagenet":
        h = size // 2
        tot += 64 * h * h
        h //= 2
        for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            for i in range(blocks):
                h2 = h // (stride if i == 0 else 1)
                tot += width * h * h + width * h2 * h2 + 4 * width * h2 * h2
                if i == 0:
                    tot += 4 * width * h2 * h2
                h = h2
        return tot
    if variant == "resnet18-cifar":
        h, cin = size, 64
        tot += 64 * h * h
        for width, blocks, stride in ((64, 2, 1), (128, 2, 2), (256, 2, 2), (512, 2, 2)):
            for i in range(blocks):
                st = stride if i == 0 else 1
                h2 = h // st
                tot += 2 * width * h2 * h2
                if i == 0 and (st != 1 or cin != width):
                    tot += width * h2 * h2
                cin, h = width, h2
        return tot
    raise ValueError(f"unknown ResNet variant {variant!r}")


def cyclegan_conv_outputs(size: int = 256) -> int:
    """Output elements of one CycleGAN training iteration's convolutions, one sample: six passes of
    the ResNet-9-block generator (two translations, two cycle reconstructions, two identity
    mappings) and four of the 70x70 PatchGAN discriminator (Zhu et al., ICCV 2017)."""
    s = size
    gen = (
        64 * s * s
        + 128 * (s // 2) ** 2
        + 256 * (s // 4) ** 2
        + 9 * 2 * 256 * (s // 4) ** 2
        + 128 * (s // 2) ** 2
        + 64 * s * s
        + 3 * s * s
    )
    disc = 64 * (s // 2) ** 2 + 128 * (s // 4) ** 2 + 256 * (s // 8) ** 2 + 512 * (s // 8 - 1) ** 2 + (s // 8 - 2) ** 2
    return 6 * gen + 4 * disc


def _transformer(s: int, h: int, a: int, enc: int, dec: int, vocab: int) -> float:
    per_layer = 2 * s * h * (34 + 5 * a * s / h)
    return per_layer * (enc + 1.5 * dec) + 2 * 4 * s * vocab


@dataclass(frozen=True)
class ModelMemory:
    """Constants of one model: parameters, optimiser, activation bytes per sample, default batch
    (for models without one), and where they come from."""

    params: float
    optimiser: str
    act_bytes: float
    basis: str
    default_batch: int = 1

    def gib(self, batch: int | None) -> float:
        """Memory of one training step in GiB at batch size ``batch`` (None: the model's default batch)."""
        b = self.default_batch if batch is None else batch
        return CONTEXT_GIB + (STATE_BYTES[self.optimiser] * self.params + b * self.act_bytes) / GIB


#: Gavel's models (scheduler/job_table.py of Narayanan et al., OSDI 2020) by the catalogue's model name.
MODELS: dict[str, ModelMemory] = {
    "ResNet-50": ModelMemory(
        25_557_032,
        "sgd-momentum",
        2 * 4 * resnet_conv_outputs("resnet50-imagenet", 224),
        "ResNet-50 on 224x224 ImageNet crops: 25,557,032 parameters (torchvision), SGD with momentum; "
        "activations 2 x 4 B x 11.1 M convolution outputs per sample",
    ),
    "ResNet-18": ModelMemory(
        11_173_962,
        "sgd-momentum",
        2 * 4 * resnet_conv_outputs("resnet18-cifar", 32),
        "ResNet-18 for 32x32 CIFAR-10: 11,173,962 parameters, SGD with momentum; activations 2 x 4 B x "
        "0.61 M convolution outputs per sample",
    ),
    "Transformer": ModelMemory(
        54_000_000,
        "adam",
        _transformer(32, 512, 8, 6, 6, 10_000),
        "Transformer base (Vaswani et al., NeurIPS 2017: d_model 512, 8 heads, 6+6 layers) on Multi30k: "
        "about 54 M parameters with a 10,000-token vocabulary (assumed), Adam; activations per sentence "
        "of 32 tokens by Korthikanti et al.'s formula",
    ),
    "LSTM language model": ModelMemory(
        13_950_000,
        "sgd",
        4 * 35 * (2 * 7 * 200 + 200 + 2 * 33_278),
        "PyTorch word_language_model defaults (2-layer LSTM, 200 units, bptt 35) on WikiText-2 (33,278-word "
        "vocabulary): about 13.95 M parameters, plain SGD; activations per sequence of 35 tokens",
    ),
    "Recommendation": ModelMemory(
        29_500_000,
        "adam",
        2 * 4 * (2 * 27_278 + 2 * (512 + 512 + 1024)),
        "autoencoder collaborative filtering on MovieLens-20M (27,278 movies; hidden layers 512, 512, 1024 "
        "assumed): about 29.5 M parameters, Adam; activations and their gradients per user vector",
    ),
    "A3C": ModelMemory(
        670_000,
        "adam",
        4 * 20 * (4 * 84 * 84 + 16 * 20 * 20 + 32 * 9 * 9 + 256) * 2,
        "A3C on Atari Pong with the network of Mnih et al., ICML 2016 (two convolutions, 256 units): about "
        "0.67 M parameters, Adam (shared statistics); one rollout of 20 steps",
        default_batch=1,
    ),
    "CycleGAN": ModelMemory(
        28_286_000,
        "adam",
        2 * 4 * cyclegan_conv_outputs(256),
        "CycleGAN (Zhu et al., ICCV 2017) on monet2photo, 256x256, batch 1: two ResNet-9-block generators "
        "(11.378 M parameters each) and two PatchGAN discriminators (2.765 M each), Adam; activations of six "
        "generator and four discriminator passes",
        default_batch=1,
    ),
}

#: Source key of the R4 constants (the citations above).
SOURCE_KEY = "schedbench-memory-model"
SOURCE_CITATION = (
    "schedbench memory formula R4 (schedbench/catalogue/memory.py): parameter counts from the models' "
    "papers and reference implementations (He et al. CVPR 2016; Vaswani et al. NeurIPS 2017; Zhu et "
    "al. ICCV 2017; Mnih et al. ICML 2016); optimiser state per Rajbhandari et al. SC 2020; "
    "Transformer activations per Korthikanti et al. MLSys 2023"
)


def estimate_gib(model: str, batch: int | None) -> float | None:
    """R4 memory (GiB per GPU) of ``model`` at per-GPU batch ``batch``; None for a model without
    constants."""
    m = MODELS.get(model)
    return None if m is None else m.gib(batch)
