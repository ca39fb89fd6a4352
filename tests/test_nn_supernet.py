"""Tests of the NAS-Bench-201 supernet (nascourse.nn.supernet, chapter 04)."""

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from nascourse.nn import NB201Supernet, discretise, evaluate_cell, extract_network, nb201_network
from nascourse.nn.supernet import BoxAverage, MixedOp, use_batch_statistics
from nascourse.spaces import nb201
from nascourse.train import evaluate

CELLS = [
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|avg_pool_3x3~1|none~2|",
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
]


@pytest.fixture
def batch():
    torch.manual_seed(1)
    return torch.randn(6, 3, 12, 12), torch.randint(0, 10, (6,))


def onehot(cell: nb201.Cell) -> torch.Tensor:
    return F.one_hot(torch.tensor(cell.op_ids()), len(nb201.OPS)).float()


def test_box_average_is_the_nb201_pooling():
    x = torch.randn(2, 5, 9, 7)
    pool = torch.nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    assert torch.allclose(BoxAverage(5)(x), pool(x), atol=1e-6)


@pytest.mark.parametrize("arch", CELLS)
def test_supernet_with_onehot_weights_is_the_standalone_network(arch, batch, one_torch_thread):
    cell = nb201.Cell.from_str(arch)
    torch.manual_seed(0)
    net = NB201Supernet(C=4, N=2, affine=True)
    # the benchmark's own network, holding the supernet's weights for this cell
    standalone = use_batch_statistics(nb201_network(cell, C=4, N=2))
    standalone.load_state_dict(extract_network(net, cell).state_dict())
    x, _ = batch
    with torch.no_grad():
        expected = standalone(x)
        assert torch.allclose(net(x, weights=onehot(cell)), expected, atol=1e-5)
        assert torch.allclose(net(x, cell=cell), expected, atol=1e-5)
        assert torch.allclose(net(x, weights=onehot(cell), cell=cell), expected, atol=1e-5)


def test_extracted_network_has_the_standalone_parameters():
    cell = nb201.Cell.from_str(CELLS[0])
    net = NB201Supernet(C=4, N=1, affine=True)
    extracted = extract_network(net, cell).state_dict()
    standalone = nb201_network(cell, C=4, N=1).state_dict()
    assert set(extracted) == {k for k in standalone if "running" not in k and "num_batches" not in k}
    assert all(extracted[k].shape == standalone[k].shape for k in extracted)


def test_evaluate_cell_matches_the_extracted_network(batch, one_torch_thread):
    x, y = batch
    loader = DataLoader(TensorDataset(x, y), batch_size=3)
    torch.manual_seed(0)
    net = NB201Supernet(C=4, N=1)
    loss, acc = evaluate_cell(net, CELLS[0], loader, device="cpu")
    loss2, acc2 = evaluate(extract_network(net, CELLS[0]), loader, device="cpu")
    assert loss == pytest.approx(loss2, rel=1e-5) and acc == acc2
    assert evaluate_cell(net, CELLS[0], loader, device="cpu", max_batches=1)[1] in {0, 1 / 3, 2 / 3, 1}


def test_default_forward_mixes_with_softmax_of_alpha(batch):
    x, _ = batch
    net = NB201Supernet(C=4, N=1)
    with torch.no_grad():
        net.alpha.normal_()
        assert torch.allclose(net(x), net(x, weights=F.softmax(net.alpha, -1)))


def test_architecture_parameters_are_kept_apart():
    net = NB201Supernet(C=4, N=1)
    arch, weights = net.arch_parameters(), net.weight_parameters()
    assert len(arch) == 1 and arch[0] is net.alpha and arch[0].shape == (6, 5)
    assert not any(w is net.alpha for w in weights)
    assert len(arch) + len(weights) == len(list(net.parameters()))


def test_gradient_reaches_alpha_through_a_single_path(batch):
    x, y = batch
    net = NB201Supernet(C=4, N=1)
    cell = nb201.Cell.from_str(CELLS[0])
    probs = F.softmax(net.alpha, -1)
    hard = onehot(cell) - probs.detach() + probs
    F.cross_entropy(net(x, weights=hard, cell=cell), y).backward()
    assert net.alpha.grad is not None and net.alpha.grad.abs().sum() > 0


def test_batchnorm_uses_batch_statistics():
    net = NB201Supernet(C=4, N=1)
    assert all(m.running_mean is None for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_discretise():
    alpha = torch.zeros(6, 5)
    alpha[:, 0] = 2.0
    alpha[:, 3] = 1.0
    assert discretise(alpha).ops == ("none",) * 6
    assert discretise(alpha, exclude=["none"]).ops == ("nor_conv_3x3",) * 6
    assert discretise(alpha, exclude="none") == discretise(alpha, exclude=("none",))


@pytest.mark.parametrize("alpha, exclude, error", [
    (torch.zeros(5, 5), (), ValueError),
    ([[0.0] * 5] * 6, (), TypeError),
    (torch.zeros(6, 5), ("conv",), ValueError),
    (torch.zeros(6, 5), nb201.OPS, ValueError),
])
def test_discretise_rejects_bad_arguments(alpha, exclude, error):
    with pytest.raises(error):
        discretise(alpha, exclude)


def test_bad_arguments_give_clear_errors(batch):
    x, _ = batch
    net = NB201Supernet(C=4, N=1)
    with pytest.raises(ValueError, match=r"shape \(6, 5\)"):
        net(x, weights=torch.ones(6, 4))
    with pytest.raises(ValueError, match="6 operation indices.*got 3"):
        net(x, cell=(0, 1, 2))
    with pytest.raises(ValueError, match="operation index 5 of the path must be an int from 0 to 4"):
        net(x, cell=(0, 1, 2, 3, 4, 5))
    with pytest.raises(TypeError, match="operation index 1 of the path"):
        net(x, cell=(0, True, 2, 3, 4, 0))
    with pytest.raises(TypeError, match="a path must be a Cell, an NB201 string or 6 operation indices"):
        net(x, cell=3)
    with pytest.raises(ValueError, match="unknown operation"):
        net(x, cell="|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(ValueError, match="C must be a positive int"):
        NB201Supernet(C=0)
    with pytest.raises(TypeError, match="NB201Supernet"):
        extract_network(nb201_network(CELLS[0], C=4, N=1), CELLS[0])
    with pytest.raises(ValueError, match="mixing weights"):
        MixedOp(4)(torch.randn(1, 4, 5, 5))
