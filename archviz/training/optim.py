"""Optimizer state, sized by rule: how many parameter-sized buffers each optimizer keeps. The rule
is checked against the state PyTorch's own optimizers make (tests/test_training.py); the meta step
(meter.py) runs the real optimizer, so the rule only says where the bytes belong, layer by layer."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ArchvizError


@dataclass(frozen=True)
class OptimizerRule:
    """`buffers`: parameter-sized state tensors per trainable parameter (SGD's momentum buffer;
    Adam's exp_avg and exp_avg_sq). `step`: a 0-dim step counter per parameter (Adam, AdamW),
    a few bytes kept on the CPU, not counted (as every 0-dim tensor: memory.PeakMeter)."""

    name: str
    buffers: int
    step: bool
    describe: str


OPTIMIZERS: dict[str, OptimizerRule] = {
    "sgd": OptimizerRule("sgd", 1, False, "SGD with momentum 0.9: one momentum buffer per parameter"),
    "adam": OptimizerRule("adam", 2, True, "Adam: exp_avg and exp_avg_sq per parameter, plus a 0-dim step"),
    "adamw": OptimizerRule("adamw", 2, True, "AdamW: exp_avg and exp_avg_sq per parameter, plus a 0-dim step"),
}


def optimizer_rule(name: str) -> OptimizerRule:
    """The rule for `--optimizer NAME` (sgd, adam, adamw), or one clear error."""
    key = (name or "").strip().lower()
    if key not in OPTIMIZERS:
        raise ArchvizError(f"--optimizer {name!r} is not one of {', '.join(OPTIMIZERS)}", 2)
    return OPTIMIZERS[key]


def state_bytes(rule: OptimizerRule, trainable_bytes: int) -> int:
    """Bytes of optimizer state for `trainable_bytes` of trainable parameters (state has the
    parameters' dtype: fp32 master weights under AMP keep fp32 state)."""
    return rule.buffers * trainable_bytes


def make_optimizer(name: str, params: list, foreach: bool):
    """The real torch optimizer the step runs (lr values do not change memory)."""
    import torch

    rule = optimizer_rule(name)
    if rule.name == "sgd":
        return torch.optim.SGD(params, lr=0.1, momentum=0.9, foreach=foreach)
    cls = torch.optim.Adam if rule.name == "adam" else torch.optim.AdamW
    return cls(params, lr=1e-3, foreach=foreach)
