"""recipes.diet: the smoothed cross-entropy by hand, its errors, and the Trainer handing over dataset indices."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cookbook.augment import augment
from cookbook.config import ConfigError, TrainConfig
from cookbook.method import Method
from cookbook.train import Trainer
from recipes import diet


def test_loss_by_hand():
    # Two classes, logits (ln 3, 0): softmax (3/4, 1/4). Index 0 with eps 0.5: target
    # (1 - 0.5 + 0.5/2, 0.5/2) = (3/4, 1/4), loss = 3/4 ln(4/3) + 1/4 ln 4.
    logits = torch.tensor([[math.log(3.0), 0.0]])
    expected = 0.75 * math.log(4 / 3) + 0.25 * math.log(4)
    assert diet.diet_loss(logits, torch.tensor([0]), 0.5).item() == pytest.approx(expected)


def test_without_smoothing_it_is_the_plain_cross_entropy_and_uniform_logits_cost_log_n():
    torch.manual_seed(0)
    logits, index = torch.randn(8, 100), torch.randint(0, 100, (8,))
    assert diet.diet_loss(logits, index, 0.0).item() == pytest.approx(F.cross_entropy(logits, index).item())
    assert diet.diet_loss(torch.zeros(8, 100), index, 0.8).item() == pytest.approx(math.log(100))


def test_smoothing_rewards_a_mild_preference_and_penalises_overconfidence():
    # With eps 0.8 over 10 classes the target gives the image's own index only 0.2 + 0.08 = 0.28, so a
    # logit margin of 1 (softmax 0.23 on the index) beats uniform logits, but a margin of 5 does not.
    index = torch.arange(4)
    uniform = diet.diet_loss(torch.zeros(4, 10), index)
    mild, confident = (margin * F.one_hot(index, 10).float() for margin in (1.0, 5.0))
    wrong = F.one_hot((index + 1) % 10, 10).float()
    assert diet.diet_loss(mild, index) < uniform < diet.diet_loss(wrong, index)
    assert diet.diet_loss(confident, index) > uniform
    assert diet.diet_loss(confident, index, 0.0) < diet.diet_loss(mild, index, 0.0)  # without smoothing it wins


def test_bad_inputs_are_refused():
    logits = torch.zeros(4, 10)
    with pytest.raises(ValueError, match="label_smoothing"):
        diet.diet_loss(logits, torch.arange(4), 1.0)
    with pytest.raises(ValueError, match=r"\(B, N_train\)"):
        diet.diet_loss(logits, torch.arange(3))
    with pytest.raises(ValueError, match="long"):
        diet.diet_loss(logits, torch.arange(4).float())
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        diet.diet_loss(logits, torch.tensor([0, 1, 2, 10]))
    with pytest.raises(ConfigError, match="label_smoothing"):
        diet.Config.for_budget("quick", label_smoothing=-0.1)


class RecordsIndices(Method):
    """The smallest model that reads the dataset indices the Trainer hands over; it keeps what it was given."""

    name = "records_indices"

    def __init__(self):
        super().__init__(None, None)
        self.backbone = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 4))
        self.calls = []

    def forward(self, images, indices=None):
        self.calls.append((images, indices))
        return {"loss": self.backbone(images.float() / 255).pow(2).mean()}


def test_trainer_passes_dataset_indices_to_the_model(tiny_toy):
    config = TrainConfig(steps=2, batch_size=16, warmup_steps=1, eval_every=0, progress=False, device="cpu")
    model = RecordsIndices()
    trainer = Trainer(model, tiny_toy, config)
    list(trainer.run())
    assert len(model.calls) == 2
    for step, (images, indices) in enumerate(model.calls):
        assert torch.equal(indices, trainer.batch_indices(step))
        assert torch.equal(images, tiny_toy.pretrain_x[indices])


def test_forward_classifies_one_view_of_each_image_by_its_index(tiny_toy):
    config = diet.Config.for_budget("quick", batch_size=16, width=4, label_smoothing=0.5, device="cpu")
    model = diet.build_model(config, tiny_toy)
    assert model.classifier.out_features == len(tiny_toy.pretrain_x)  # one class per training image
    indices = torch.arange(10, 26)
    images = tiny_toy.pretrain_x[indices]
    torch.manual_seed(6)
    out = model(images, indices)
    torch.manual_seed(6)  # the same view by hand; the embedding the collapse probe reads is these logits
    logits = model.embed(augment(images, config.augment))
    assert out["loss"].item() == pytest.approx(diet.diet_loss(logits, indices, 0.5).item(), rel=1e-6)
    assert out["index_acc"].item() == (logits.argmax(dim=1) == indices).float().mean().item()
    # The targets are the indices: the same images under other indices cost something else.
    assert out["loss"].item() != pytest.approx(diet.diet_loss(logits, indices.flip(0), 0.5).item(), rel=1e-4)
    with pytest.raises(ValueError, match="pass indices"):
        model(images)
