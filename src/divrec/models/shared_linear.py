"""Linear maps applied at every step of a recurrence, with one weight gradient per sequence.

Autograd differentiates a linear layer used T times as T small GEMMs for the weight gradient
(each with the batch as its inner dimension) plus T accumulations into ``.grad``; under autocast
it also casts every per-step gradient back to fp32. For VAE-STN's 100 steps at batch 128 that
was ~25 % of a training step on a 2-core CPU. ``SharedLinear`` keeps each step's input and output
gradient instead and takes the weight gradient once, after the last step's backward, as one GEMM
over all T x B rows: the same sum, in one kernel that runs near peak (and, in bf16, rounded once
instead of T times). Weights are cast to the compute dtype once per sequence, not once per step.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.autograd import Function


class _Tape:
    """What one SharedLinear saw during one sequence: each step's input and output gradient."""

    def __init__(self):
        self.inputs: list[torch.Tensor] = []
        self.grads: list[torch.Tensor | None] = []

    def weight_grads(self) -> tuple[torch.Tensor, torch.Tensor]:
        xs, gs = zip(*[(x, g) for x, g in zip(self.inputs, self.grads) if g is not None])
        self.inputs, self.grads = [], []
        x, g = torch.cat(xs), torch.cat(gs)
        # sum(0) accumulates in fp32 and rounds once, like the weight GEMM; sum(0, dtype=float32)
        # of a bf16 [T*B, 4H] tensor costs as much as that GEMM here (3 % of a VAE-STN step)
        return g.t() @ x, g.sum(0)


class _Open(Function):
    """Identity on (weight, bias), cast to the compute dtype; its backward runs after every step's
    (it is upstream of all of them) and returns the whole sequence's weight gradient."""

    @staticmethod
    def forward(ctx, tape, weight, bias, dtype):
        ctx.tape, ctx.dtypes = tape, (weight.dtype, bias.dtype)
        ctx.set_materialize_grads(False)
        return weight.to(dtype, copy=True), bias.to(dtype, copy=True)

    @staticmethod
    def backward(ctx, _grad_weight, _grad_bias):
        if not ctx.tape.inputs:
            return None, None, None, None
        gw, gb = ctx.tape.weight_grads()
        return None, gw.to(ctx.dtypes[0]), gb.to(ctx.dtypes[1]), None


class _Step(Function):
    """y = x W^T + b for one step; backward returns the input gradient and files the output
    gradient on the tape for the weight gradient."""

    @staticmethod
    def forward(ctx, tape, x, weight, bias):
        ctx.tape, ctx.index = tape, len(tape.inputs)
        tape.inputs.append(x)
        tape.grads.append(None)
        ctx.save_for_backward(weight)
        return torch.addmm(bias, x, weight.t())

    @staticmethod
    def backward(ctx, grad):
        ctx.tape.grads[ctx.index] = grad
        (weight,) = ctx.saved_tensors
        return None, grad @ weight, None, None


class SharedLinear:
    """``weight`` [out, in] and ``bias`` [out] (parameters, or tensors built from them such as a
    concatenation of two layers) opened for one sequence in ``dtype``. Call it on each step's
    input; gradients reach the parameters when the sequence's backward is done."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, dtype: torch.dtype):
        self.dtype = dtype
        self.record = torch.is_grad_enabled() and (weight.requires_grad or bias.requires_grad)
        if self.record:
            self.tape = _Tape()
            self.weight, self.bias = _Open.apply(self.tape, weight, bias, dtype)
        else:
            self.weight, self.bias = weight.to(dtype), bias.to(dtype)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype)
        if self.record:
            return _Step.apply(self.tape, x, self.weight, self.bias)
        return torch.addmm(self.bias, x, self.weight.t())


def compute_dtype(reference: torch.Tensor) -> torch.dtype:
    """The dtype autocast would run a linear layer in here (the parameters' dtype without it)."""
    device = reference.device.type
    if torch.is_autocast_enabled(device):
        return torch.get_autocast_dtype(device)
    return reference.dtype


def open_mlp(mlp: nn.Sequential, dtype: torch.dtype):
    """An ``nn.Sequential`` of Linear/ReLU as one callable of SharedLinears for a sequence."""
    steps = [SharedLinear(m.weight, m.bias, dtype) if isinstance(m, nn.Linear) else m
             for m in mlp]

    def run(x: torch.Tensor) -> torch.Tensor:
        for step in steps:
            x = step(x)
        return x

    return run
