"""Transfer learning vs scratch: the frozen conv layers stay as the base learned them, only the
head trains, and on 20 pictures per class of digits 5-9 reusing the digits 0-4 net wins."""

import numpy as np
import pytest
import torch

from cnnviz import pretrained, transfer
from cnnviz.numbers import percent_text

# measured (seed 0, 20 per class, 5 epochs, Adam lr 0.01, batch 16): validation accuracy per
# epoch, transfer 0.59 0.76 0.82 0.88 0.868; scratch 0.494 0.578 0.674 0.64 0.76
MEASURED_MARGIN = 0.108


@pytest.fixture(scope="module")
def new_digits():
    return pretrained.digits28().only_classes("56789")


@pytest.fixture(scope="module")
def headline(new_digits):
    base, _ = pretrained.pretrained("digits0-4")
    before = {k: v.clone() for k, v in base.state_dict().items()}
    train = transfer.few_per_class(new_digits, 20, seed=0)
    seen = []
    result = transfer.transfer_vs_scratch(
        base,
        train,
        (new_digits.x_val, new_digits.y_val),
        epochs=5,
        seed=0,
        on_epoch=lambda way, e, n: seen.append((way, e, n)),
    )
    return base, before, result, seen


def test_reusing_the_conv_layers_beats_scratch_on_20_pictures_per_class(headline):
    _, _, r, _ = headline
    t, s = r.transfer, r.scratch
    assert r.n_train == 100 and r.n_val == 500 and r.n_classes == 5 and r.epochs == 5
    assert len(t.val_acc) == len(s.val_acc) == 5
    assert all(a > b for a, b in zip(t.val_acc, s.val_acc))  # ahead after every epoch
    assert t.val_acc[-1] >= s.val_acc[-1] + MEASURED_MARGIN - 0.04
    assert t.val_acc[-1] >= 0.8


def test_only_the_new_head_trains_and_the_base_is_untouched(headline):
    base, before, r, seen = headline
    assert all(torch.equal(v, before[k]) for k, v in base.state_dict().items())
    head = 16 * 5 * 5 * 5 + 5  # 400 inputs -> 5 new classes
    convs = (8 * 1 * 9 + 8) + (16 * 8 * 9 + 16)
    assert r.transfer.trainable == head
    assert r.scratch.trainable == r.total_params == head + convs
    assert seen == [(w, e, 5) for w in transfer.WAYS for e in range(1, 6)]
    text = transfer.transfer_sentence(r, 20)
    assert text.startswith("With 20 pictures per class, reusing the frozen conv layers reaches ")
    assert percent_text(r.transfer.val_acc[-1]) in text
    assert f"only {head:,} of {head + convs:,} parameters trained" in text


def test_the_frozen_copy_keeps_the_base_conv_weights_while_training(new_digits):
    """freeze_convs + with_new_head: after a few steps the convs equal the base's, the head moved."""
    base, _ = pretrained.pretrained("digits0-4")
    model = transfer.freeze_convs(transfer.with_new_head(base, 3, torch.Generator().manual_seed(1)))
    head0 = model[7].weight.clone()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    x = torch.from_numpy(np.array(new_digits.x_train[:32]))
    y = torch.from_numpy(np.array(new_digits.y_train[:32]) % 3)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    assert torch.equal(model[0].weight, base[0].weight) and torch.equal(model[3].bias, base[3].bias)
    assert not torch.equal(model[7].weight, head0) and model[7].out_features == 3


def test_few_per_class_is_seeded_and_takes_what_a_class_has():
    y = np.array([0] * 5 + [1] * 2 + [2] * 9)
    x = np.arange(len(y), dtype=np.float32).reshape(-1, 1, 1, 1)
    xa, ya = transfer.few_per_class((x, y), 3, seed=4)
    xb, yb = transfer.few_per_class((x, y), 3, seed=4)
    assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert np.bincount(ya).tolist() == [3, 2, 3]
    assert np.array_equal(y[xa[:, 0, 0, 0].astype(int)], ya)  # each picture keeps its label
    assert not np.array_equal(transfer.few_per_class((x, y), 3, seed=5)[0], xa)
    with pytest.raises(ValueError, match="at least 1"):
        transfer.few_per_class((x, y), 0)


def test_pictures_that_do_not_fit_the_base_are_one_sentence():
    base, _ = pretrained.pretrained("digits0-4")
    x = np.zeros((4, 1, 16, 16), np.float32)
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"cannot take pictures of shape \(1, 16, 16\)"):
        transfer.transfer_vs_scratch(base, (x, y), (x, y), epochs=1)
    with pytest.raises(ValueError, match="no training pictures"):
        transfer.transfer_vs_scratch(base, (x[:0], y[:0]), (x, y), epochs=1)


def test_frozen_batch_norms_keep_the_base_statistics():
    from cnnviz import arch

    base = arch.build("conv4k3-bn-relu-max2-flat-fc", (1, 28, 28), 5)
    base.eval()
    rng = np.random.default_rng(0)
    x = rng.random((30, 1, 28, 28), dtype=np.float32)
    y = np.arange(30) % 3
    r = transfer.transfer_vs_scratch(base, (x, y), (x[:6], y[:6]), epochs=2, batch_size=10)
    assert r.transfer.trainable == 4 * 13 * 13 * 3 + 3  # the head only: conv and bn frozen
    assert r.scratch.trainable == r.total_params
    trained = r.model
    assert [n for n, p in trained.named_parameters() if p.requires_grad] == ["5.weight", "5.bias"]
    for k, v in base.state_dict().items():
        if not k.startswith("5."):  # running mean and variance too
            assert torch.equal(trained.state_dict()[k], v), k
