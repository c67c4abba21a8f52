"""Networks as their papers published them, where torchvision has none: the 2012 two-tower AlexNet and
the ResNet paper's CIFAR-10 nets (plain and residual, 6n+2 layers). Small, plain torch.nn modules."""

from __future__ import annotations

from typing import Any, Callable


def _nn():
    import torch
    from torch import nn

    return torch, nn


def alexnet2012(num_classes: int = 1000):
    """Krizhevsky, Sutskever and Hinton (2012), section 3.5 and figure 2: two towers (one per GPU) of
    48-128-192-192-128 kernels; conv2, conv4 and conv5 see only their own tower, conv3 and the fully
    connected layers see both. ReLU, local response normalisation (k=2, n=5, alpha=1e-4, beta=0.75)
    after conv1 and conv2, overlapping 3x3 stride-2 max pooling; input 3x227x227."""
    torch, nn = _nn()

    def lrn_pool() -> Any:
        return nn.Sequential(nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0),
                             nn.MaxPool2d(3, stride=2))

    class Tower(nn.Module):
        """What one GPU holds below conv3: conv1, conv2 and their normalisation and pooling."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 48, 11, stride=4)
            self.norm_pool1 = lrn_pool()
            self.conv2 = nn.Conv2d(48, 128, 5, padding=2)
            self.norm_pool2 = lrn_pool()

        def forward(self, x):
            x = self.norm_pool1(torch.relu(self.conv1(x)))
            return self.norm_pool2(torch.relu(self.conv2(x)))

    class UpperTower(nn.Module):
        """One GPU's conv3 (over both towers' maps), conv4 and conv5 (its own maps only)."""

        def __init__(self) -> None:
            super().__init__()
            self.conv3 = nn.Conv2d(256, 192, 3, padding=1)
            self.conv4 = nn.Conv2d(192, 192, 3, padding=1)
            self.conv5 = nn.Conv2d(192, 128, 3, padding=1)
            self.pool5 = nn.MaxPool2d(3, stride=2)

        def forward(self, both):
            x = torch.relu(self.conv4(torch.relu(self.conv3(both))))
            return self.pool5(torch.relu(self.conv5(x)))

    class AlexNet2012(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tower_a, self.tower_b = Tower(), Tower()
            self.upper_a, self.upper_b = UpperTower(), UpperTower()
            self.classifier = nn.Sequential(
                nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
                nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, num_classes))

        def forward(self, x):
            both = torch.cat([self.tower_a(x), self.tower_b(x)], 1)
            top = torch.cat([self.upper_a(both), self.upper_b(both)], 1)
            return self.classifier(torch.flatten(top, 1))

    return AlexNet2012()


def cifar_net(depth: int, residual: bool, num_classes: int = 10):
    """He et al. (2016), section 4.2: a 3x3 conv with 16 filters, then 3 stages of 2n 3x3 layers with
    16, 32 and 64 filters (the first of stages 2 and 3 strides 2), global average pooling and a
    10-way fully connected layer: 6n+2 weighted layers. The residual nets use option A: identity
    shortcuts, subsampled and zero-padded in channels where the shape changes (no parameters)."""
    torch, nn = _nn()
    if (depth - 2) % 6:
        raise ValueError(f"CIFAR ResNets have 6n+2 layers, not {depth}")
    n = (depth - 2) // 6

    class Shortcut(nn.Module):
        """Option A: every other position, channels zero-padded to the new width."""

        def __init__(self, extra: int) -> None:
            super().__init__()
            self.extra = extra

        def forward(self, x):
            x = x[:, :, ::2, ::2]
            return torch.nn.functional.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))

    class Unit(nn.Module):
        """Two 3x3 conv-BN layers; with `residual`, x + F(x) before the last ReLU."""

        def __init__(self, c_in: int, c_out: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.shortcut = (Shortcut(c_out - c_in) if c_in != c_out else nn.Identity()) if residual else None

        def forward(self, x):
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(out + self.shortcut(x) if self.shortcut is not None else out)

    class CifarNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            stages, c_in = [], 16
            for i, width in enumerate((16, 32, 64)):
                units = [Unit(c_in if j == 0 else width, width, 2 if (i > 0 and j == 0) else 1) for j in range(n)]
                stages.append(nn.Sequential(*units))
                c_in = width
            self.stage1, self.stage2, self.stage3 = stages
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(64, num_classes)

        def forward(self, x):
            x = torch.relu(self.bn1(self.conv1(x)))
            x = self.stage3(self.stage2(self.stage1(x)))
            return self.fc(torch.flatten(self.pool(x), 1))

    net = CifarNet()
    type(net).__name__ = f"{'ResNet' if residual else 'Plain'}{depth}"
    return net


def _cifar(depth: int, residual: bool) -> Callable[[], Any]:
    def build():
        return cifar_net(depth, residual)
    build.__name__ = f"{'resnet' if residual else 'plain'}{depth}"
    return build


# name -> (builder, default input shape)
PAPER_MODELS: dict[str, tuple[Callable[[], Any], list[int]]] = {
    "alexnet2012": (alexnet2012, [1, 3, 227, 227]),
    **{f"{kind}{d}": (_cifar(d, kind == "resnet"), [1, 3, 32, 32])
       for kind in ("plain", "resnet") for d in (20, 56)},
}
