"""SharedLinear (one weight gradient per sequence) against plain per-step autograd, VAE-STN's
own affine grid against F.affine_grid, and the whole fused VAE-STN recurrence against its plain
per-step form (same outputs and gradients in fp64)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from divrec.models.shared_linear import SharedLinear, compute_dtype, open_mlp
from divrec.models.vae_stn import affine_grid, invert_theta


def _recurrence(cell, readout, x, steps: int):
    """h_{t+1} = tanh(cell([x_t, h_t])); the loss reads every other step (some steps' outputs
    feed nothing but the next step, which a tape must handle as well)."""
    h = x.new_zeros(x.shape[1], 6)
    loss = 0
    for t in range(steps):
        h = torch.tanh(cell(torch.cat([x[t], h], 1)))
        if t % 2:
            loss = loss + readout(h).pow(2).sum()
    return loss


def _grads(model, loss):
    model.zero_grad()
    loss.backward()
    return [p.grad.clone() for p in model.parameters()]


def test_weight_gradients_equal_per_step_autograd():
    torch.manual_seed(0)
    model = nn.ModuleDict({"a": nn.Linear(4 + 6, 6), "b": nn.Linear(4 + 6, 6),
                           "out": nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))})
    model.double()
    x = torch.randn(7, 3, 4, dtype=torch.float64, requires_grad=True)

    def plain(v):
        return model["a"](v) + model["b"](v)

    want = _grads(model, _recurrence(plain, model["out"], x, 7))
    want_x = x.grad.clone()
    x.grad = None
    a, b = model["a"], model["b"]
    fused = SharedLinear(torch.cat([a.weight, b.weight], 1), a.bias + b.bias, torch.float64)
    got = _grads(model, _recurrence(lambda v: fused(torch.cat([v, v], 1)),
                                    open_mlp(model["out"], torch.float64), x, 7))
    for w, g in zip(want, got):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(x.grad, want_x, rtol=1e-12, atol=1e-12)


def test_steps_whose_output_feeds_nothing():
    """A probe applied at every step whose output the loss reads at steps 0, 3, 6 only: the
    other steps get no gradient, in the middle of the sequence and at its end."""
    torch.manual_seed(0)
    cell, probe = nn.Linear(4 + 6, 6).double(), nn.Linear(6, 3).double()
    x = torch.randn(8, 5, 4, dtype=torch.float64)

    def loss_of(step_cell, step_probe):
        h, loss = x.new_zeros(5, 6), 0
        for t in range(8):
            h = torch.tanh(step_cell(torch.cat([x[t], h], 1)))
            out = step_probe(h)
            if t % 3 == 0:
                loss = loss + out.pow(2).sum()
        return loss

    model = nn.ModuleList([cell, probe])
    want = _grads(model, loss_of(cell, probe))
    got = _grads(model, loss_of(SharedLinear(cell.weight, cell.bias, torch.float64),
                                SharedLinear(probe.weight, probe.bias, torch.float64)))
    for w, g in zip(want, got):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)


def test_no_grad_records_nothing_and_matches_linear():
    layer = nn.Linear(3, 2)
    x = torch.randn(5, 3)
    with torch.no_grad():
        shared = SharedLinear(layer.weight, layer.bias, torch.float32)
        assert not shared.record
        torch.testing.assert_close(shared(x), layer(x))


@pytest.mark.parametrize("autocast", [False, True])
def test_compute_dtype_follows_autocast(autocast):
    w = torch.zeros(2, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        assert compute_dtype(w) == (torch.bfloat16 if autocast else torch.float32)


def test_bf16_gradients_are_close_to_fp32():
    torch.manual_seed(0)
    cell, out = nn.Linear(10, 6), nn.Linear(6, 2)
    x = torch.randn(9, 16, 4)
    model = nn.ModuleList([cell, out])
    want = _grads(model, _recurrence(cell, out, x, 9))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        shared = SharedLinear(cell.weight, cell.bias, torch.bfloat16)
        readout = SharedLinear(out.weight, out.bias, torch.bfloat16)
        loss = _recurrence(shared, lambda h: readout(h).float(), x, 9)
    got = _grads(model, loss)
    for w, g in zip(want, got):
        assert g.dtype == torch.float32
        torch.testing.assert_close(g, w, rtol=0.05, atol=0.05 * w.abs().max().item())


@pytest.mark.parametrize("size", [5, 15, 50])
def test_affine_grid_is_torchs(size):
    theta = torch.tensor([[[0.5, 0.2, 0.1], [-0.3, 0.7, -0.2]],
                          [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=torch.float64)
    want = F.affine_grid(theta, [2, 1, size, size], align_corners=False)
    torch.testing.assert_close(affine_grid(theta, size), want, rtol=1e-12, atol=1e-12)


def plain_vae_stn_run(m, target, exemplar):
    """VAE-STN's recurrence written the plain way (its modules called per step, torch's
    affine_grid, one 3-channel read): the fused model must give the same canvas logits and KL,
    and the same gradients."""
    b, r, s = target.shape[0], m.p.read_size, m.p.image_size
    h = target.new_zeros(b, m.p.lstm_size)
    c, canvas, kl = h.clone(), target.new_zeros(b, 1, s, s), target.new_zeros(b)
    theta = m.fc_loc[-1].bias.view(1, 2, 3).expand(b, 2, 3)
    for _ in range(m.p.time_step):
        img = torch.cat([target - torch.sigmoid(canvas), target, exemplar], 1)
        grid = F.affine_grid(theta, [b, 1, r, r], align_corners=False)
        glimpses = F.grid_sample(img, grid, align_corners=False).flatten(1)
        q_in = torch.cat([h, glimpses], 1)
        mu, logvar = m.q_mu(q_in), m.q_logvar(q_in)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        kl = kl + 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        patch = m.write_mlp(h[:, 100:]).view(-1, 1, r, r)
        canvas = canvas + F.grid_sample(patch, F.affine_grid(invert_theta(theta), [b, 1, s, s],
                                                             align_corners=False),
                                        align_corners=False)
        h, c = m.lstm(torch.cat([z, glimpses[:, 2 * r * r:]], 1), (h, c))
        theta = m.fc_loc(h[:, :100]).view(-1, 2, 3)
    return canvas, kl


def test_vae_stn_equals_its_plain_per_step_form():
    from divrec.models.vae_stn import Params, VaeStn

    torch.manual_seed(0)
    m = VaeStn(Params(z_size=6, time_step=5, lstm_size=110, read_size=5, image_size=16,
                      beta=2.0)).double()
    with torch.no_grad():  # a non-identity first attention, so every transform is exercised
        m.fc_loc[-1].bias.add_(0.1 * torch.randn(6, dtype=torch.float64))
    target = torch.rand(3, 1, 16, 16, dtype=torch.float64)
    exemplar = torch.rand(3, 1, 16, 16, dtype=torch.float64)
    weights = torch.rand(3, 1, 16, 16, dtype=torch.float64)

    def scalar(canvas, kl):  # any fp64 function of both outputs; the loss casts to fp32
        return (canvas * weights).sum() + 0.3 * kl.sum()

    torch.manual_seed(1)
    want = scalar(*plain_vae_stn_run(m, target, exemplar))
    want_grads = torch.autograd.grad(want, list(m.parameters()))
    torch.manual_seed(1)
    got = scalar(*m._run(exemplar, target))
    got_grads = torch.autograd.grad(got, list(m.parameters()))
    torch.testing.assert_close(got, want, rtol=1e-12, atol=0)
    for g, w in zip(got_grads, want_grads):
        torch.testing.assert_close(g, w, rtol=1e-9, atol=1e-12)
