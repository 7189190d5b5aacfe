"""recipes.rotnet: the rotations, the loss by hand, the model's loss, and its errors."""
import math

import pytest
import torch

from cookbook.augment import augment
from cookbook.config import ConfigError
from recipes import rotnet


def test_rotate_batch_stacks_the_four_quarter_turns_with_their_labels():
    # A 2x2 image [[a, b], [c, d]] turned a quarter counter-clockwise is [[b, d], [a, c]].
    image = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    images = torch.cat([image, 10 * image])  # N = 2
    rotated, labels = rotnet.rotate_batch(images)
    assert rotated.shape == (8, 1, 2, 2)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert torch.equal(rotated[:2], images)
    assert rotated[2, 0].tolist() == [[2.0, 4.0], [1.0, 3.0]]
    assert rotated[5, 0].tolist() == [[40.0, 30.0], [20.0, 10.0]]  # half a turn of the second image
    assert rotated[6, 0].tolist() == [[3.0, 1.0], [4.0, 2.0]]


def test_turning_each_block_back_recovers_the_images():
    images = torch.rand(3, 3, 8, 8)
    rotated, labels = rotnet.rotate_batch(images)
    for k in range(4):
        block = rotated[labels == k]
        assert torch.equal(torch.rot90(block, -k, dims=(2, 3)), images)


def test_rotate_randomly_gives_each_image_one_rotation_matching_its_label():
    images = torch.rand(32, 3, 6, 6)
    rotated, labels = rotnet.rotate_randomly(images)
    assert rotated.shape == images.shape and labels.shape == (32,)
    assert set(labels.tolist()) == {0, 1, 2, 3}
    for image, turned, k in zip(images, rotated, labels.tolist()):
        assert torch.equal(torch.rot90(image, k, dims=(1, 2)), turned)


def test_rotation_loss_by_hand():
    # Uniform scores: every rotation gets probability 1/4, loss log 4.
    assert rotnet.rotation_loss(torch.zeros(8, 4), torch.arange(4).repeat(2)).item() == pytest.approx(math.log(4))
    # Scores (2, 0, 0, 0): p(0) = e^2 / (e^2 + 3), so the loss is log(1 + 3 e^-2) = 0.3387 for label 0, and
    # for label 1 it is -log(1 / (e^2 + 3)) = log(e^2 + 3) = 2.3387; their mean is 1.3387.
    logits = torch.tensor([[2.0, 0.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0]])
    expected = (math.log(1 + 3 * math.exp(-2)) + math.log(math.exp(2) + 3)) / 2
    assert rotnet.rotation_loss(logits, torch.tensor([0, 1])).item() == pytest.approx(expected)


def test_confident_right_answers_cost_nothing_and_wrong_ones_a_lot():
    labels = torch.tensor([0, 1, 2, 3])
    right = 50 * torch.eye(4)
    wrong = 50 * torch.eye(4).roll(1, dims=1)
    assert rotnet.rotation_loss(right, labels).item() == pytest.approx(0.0, abs=1e-6)
    assert rotnet.rotation_loss(wrong, labels).item() == pytest.approx(50.0, rel=1e-4)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="square"):
        rotnet.rotate_batch(torch.zeros(2, 3, 8, 6))
    with pytest.raises(ValueError, match=r"\(M, 4\)"):
        rotnet.rotation_loss(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="one per row"):
        rotnet.rotation_loss(torch.zeros(4, 4), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="quarter turns"):
        rotnet.rotation_loss(torch.zeros(2, 4), torch.tensor([0, 4]))
    with pytest.raises(ConfigError, match="head_depth=0"):
        rotnet.Config.for_budget("quick", head_depth=0)
    with pytest.raises(ConfigError, match="head_hidden_dim=0"):
        rotnet.Config.for_budget("quick", head_hidden_dim=0)


@pytest.mark.parametrize("all_rotations", [True, False], ids=["all-four", "one-random"])
def test_forward_is_the_rotation_loss_of_the_classifier_on_the_rotated_views(tiny_toy, all_rotations):
    config = rotnet.Config.for_budget("quick", width=4, head_hidden_dim=16, all_rotations=all_rotations)
    model = rotnet.RotNet(config, tiny_toy)
    images = tiny_toy.train_x[:8]
    torch.manual_seed(1)
    outputs = model(images)
    torch.manual_seed(1)  # the same crops and rotations, by hand
    x = augment(images, config.augment)
    rotated, labels = rotnet.rotate_batch(x) if all_rotations else rotnet.rotate_randomly(x)
    assert len(labels) == (32 if all_rotations else 8)
    logits = model.classifier(model.backbone(rotated))
    assert outputs["loss"].item() == pytest.approx(rotnet.rotation_loss(logits, labels).item(), rel=1e-6)
    assert outputs["rotation_acc"].item() == (logits.argmax(dim=1) == labels).float().mean().item()

