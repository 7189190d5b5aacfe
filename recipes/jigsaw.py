"""Context prediction: learn by guessing where a patch sits relative to the middle of the picture.

Each image is cut into a 3x3 grid of small patches, with gaps between them. The same backbone
embeds every patch; a small classifier sees the middle patch together with one of its eight
neighbours and must say which neighbour it is (top-left, top, top-right, left, ...). To answer,
the network has to recognise the parts of an object and how they fit together. The classifier
is thrown away afterwards and the backbone is evaluated on whole images.

Doersch, Gupta and Efros, "Unsupervised Visual Representation Learning by Context Prediction",
ICCV 2015 (arXiv:1505.05192). Cookbook section 2.1 (origins: spatial context). Its big sibling,
the jigsaw puzzle of Noroozi and Favaro (ECCV 2016, arXiv:1603.09246), shuffles all nine patches
and asks for the permutation; tried here with 64 permutations, it learned less on the toy shapes
in the quick budget (kNN 0.22 against 0.39), so this recipe poses the simpler relative-position puzzle.

Pretext tasks invite shortcuts: low-level cues that answer the question without any
understanding of objects. Doersch et al. found two: lines and textures that continue across
the border of adjacent patches, and chromatic aberration (lenses shift the colours differently
towards the edges of a photograph). This recipe leaves a gap between the patches and jitters
each one by a pixel or so against the first, and gives each patch its own colour jitter and
grayscale against colour cues like the second; on the toy shapes that also hides the background's
lighting gradient, whose brightness difference between two patches would betray their offset.

With ``f`` the backbone followed by the per-patch ``projector``, ``x_c`` the middle patch, ``x_j``
its neighbour number ``j`` (0..7, row by row) and ``p`` the pair classifier's softmax::

    loss = - 1/(8N) sum_i sum_{j=0..7} log p(j | [f(x_c,i), f(x_j,i)])
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from cookbook import cli, models
from cookbook.augment import AugmentConfig, crop, grid_patches, grid_span, recolour
from cookbook.config import TrainConfig, need
from cookbook.method import Method

NUM_NEIGHBOURS = 8
CENTRE = 4                                              # the middle of a 3x3 grid, row by row
NEIGHBOURS = (0, 1, 2, 3, 5, 6, 7, 8)                   # label j is the patch at grid position NEIGHBOURS[j]

# The crop and flip act on the whole image before it is cut up; the colour changes act on every
# patch independently (see the module docstring: colour must not tell where a patch was).
JIGSAW_AUGMENT = AugmentConfig(crop_min_scale=0.7, jitter_strength=1.0, gray_p=0.5)


@dataclass
class Config(TrainConfig):
    patch_size: int = 8             # side of each patch of the 3x3 grid, in pixels of the image
    gap: int = 2                    # pixels left out between neighbouring patches (0: none, edges continue)
    jitter: int = 1                 # each patch moves by up to this many pixels (0: the patches line up)
    patch_resize: int = 16          # side the patches are resized to before the backbone (0: keep patch_size)
    proj_hidden_dim: int = 256      # width of the per-patch head's hidden layer
    proj_dim: int = 128             # per-patch embedding that the pair classifier receives (two of them)
    head_hidden_dim: int = 256      # width of the pair classifier's hidden layer
    augment: AugmentConfig = field(default_factory=lambda: JIGSAW_AUGMENT)  # image crop/flip, colour per patch

    ZERO_ALLOWED = TrainConfig.ZERO_ALLOWED | {"gap", "jitter", "patch_resize"}
    BUDGETS = {
        # 64 images x 9 patches of 16 px: a step costs what a SimCLR step does (measured; 2 x 128 views of 32 px).
        # The patch geometry and colour jitter: benchmarks/results/tuning/jigsaw.md.
        "quick": {"batch_size": 64},
        "cpu": {"batch_size": 128},
        # cuda: the base budget and the toy geometry. Doersch et al. train on ImageNet (96 px patches, 48 px gaps):
        # there is no CIFAR setting to follow.
    }

    def validate(self) -> None:
        super().validate()
        need(self.patch_size >= 2, f"patch_size={self.patch_size}: a patch needs at least 2x2 pixels "
             "to show anything (8 on 32 px images)")
        need(self.patch_resize != 1, f"patch_resize={self.patch_resize} would shrink every patch to a single pixel: "
             "use 0 (keep patch_size) or a side of at least 2 pixels (16 on 32 px images)")


def neighbour_pairs(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The middle patch paired with each of its neighbours: ``(N, 9, D)`` patch embeddings ->
    ``(8N, 2D)`` concatenations ``[z_middle, z_neighbour]`` and labels ``(8N,)``, the neighbour's
    number 0..7 (row-major grid positions 0, 1, 2, 3, 5, 6, 7, 8)."""
    if z.ndim != 3 or z.shape[1] != 9:
        raise ValueError(f"expected (N, 9, D) embeddings of the 3x3 grid's patches; got {tuple(z.shape)}")
    n = len(z)
    centre = z[:, CENTRE:CENTRE + 1].expand(-1, NUM_NEIGHBOURS, -1)
    neighbours = z[:, list(NEIGHBOURS)]
    pairs = torch.cat([centre, neighbours], dim=2).flatten(0, 1)
    labels = torch.arange(NUM_NEIGHBOURS, device=z.device).repeat(n)
    return pairs, labels


def relative_position_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the predicted neighbour position, averaged over the pairs.

    ``logits``: ``(M, 8)`` pair-classifier scores; ``labels``: ``(M,)``, the true neighbour number
    in 0..7 of each pair (as :func:`neighbour_pairs` numbers them)::

        loss = - 1/M sum_m log softmax(logits_m)[labels_m]

    Guessing scores ``log 8 = 2.079``.
    """
    if logits.ndim != 2 or logits.shape[1] != NUM_NEIGHBOURS:
        raise ValueError(f"logits must be (M, {NUM_NEIGHBOURS}), one score per neighbour; got {tuple(logits.shape)}")
    if labels.shape != logits.shape[:1]:
        raise ValueError(f"labels must be (M,) = ({len(logits)},), one per row of logits; got {tuple(labels.shape)}")
    if labels.numel() == 0:
        raise ValueError("no patch pairs: the relative-position loss needs at least one")
    if labels.min() < 0 or labels.max() >= NUM_NEIGHBOURS:
        raise ValueError(f"labels must be neighbour numbers in 0..{NUM_NEIGHBOURS - 1}; got values from "
                         f"{int(labels.min())} to {int(labels.max())}")
    return F.cross_entropy(logits.float(), labels)


class RelativePosition(Method):
    """Backbone + per-patch head (``projector``) + pair classifier.

    ``projector`` maps one patch's features to the embedding the pair classifier receives (the
    shared layer before the concatenation, fc6 in Doersch et al.); ``embed`` applies it to whole
    images, which is meaningful because the backbone pools over any input size.
    """

    name = "jigsaw"
    distributed_ready = True  # a mean of per-image losses: averaging the gradients over processes suffices

    def __init__(self, config: Config, data):
        super().__init__(config, data)
        span = grid_span(config.patch_size, config.gap, config.jitter)
        need(span <= data.image_size, f"patch_size={config.patch_size}, gap={config.gap}, jitter={config.jitter}: the "
             f"3x3 grid needs {span} px but the images have {data.image_size}; lower them (8, 2, 1 fit 32 px images)")
        self.backbone = models.build_backbone(config.backbone, image_size=data.image_size, mean=data.mean,
                                              std=data.std, width=config.width)
        self.projector = models.mlp(self.backbone.dim, config.proj_hidden_dim, config.proj_dim, 2)
        self.classifier = models.mlp(2 * config.proj_dim, config.head_hidden_dim, NUM_NEIGHBOURS, 2)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.backbone(x))

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        c, a = self.config, self.config.augment
        patches = grid_patches(crop(images, a), c.patch_size, c.gap, c.jitter)
        n = len(patches)
        patches = patches.flatten(0, 1)
        if c.patch_resize:
            # The backbone is evaluated on whole 32 px images: patches blown up to 16 px keep its inputs
            # closer to that size than 8 px ones, which its stride-2 layers shrink to a single pixel.
            patches = F.interpolate(patches, size=c.patch_resize, mode="bilinear", align_corners=False)
        patches = recolour(patches, a)
        z = self.embed(patches).view(n, 9, -1)
        pairs, labels = neighbour_pairs(z)
        logits = self.classifier(pairs)
        return {"loss": relative_position_loss(logits, labels),
                "position_acc": (logits.argmax(dim=1) == labels).float().mean()}


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"gap": (0, 4, 1), "jitter": (0, 2, 1)}

build_model, train, main = cli.entry_points(RelativePosition)

if __name__ == "__main__":
    raise SystemExit(main())
