"""ResNet-18 of any base width, written in rankcore (torchvision's CPU wheel is not installable here).

Layout as torchvision's ``resnet18``: BasicBlock stages [2, 2, 2, 2] with widths ``w, 2w, 4w, 8w`` and
strides 1, 2, 2, 2, a 1x1 convolution + BatchNorm shortcut where the shape changes, global average pooling
and one linear layer. Initialisation as torchvision (Kaiming-normal fan-out convolutions, BatchNorm 1 / 0).

Two stems:

* ``"small"`` (default): 3x3 convolution, stride 1, + BatchNorm + ReLU, no max-pool (the CIFAR ResNet stem).
  The 32-64 px canvases a CPU can afford would shrink to 8-16 px after the ImageNet stem's 4x downsampling
  and to 1-2 px in the last stage; the small stem keeps full resolution into the first stage, so the last
  stage still sees a spatial map (4-8 px) and long-range interactions are made by the network, not by the
  pooling.
* ``"imagenet"``: 7x7 convolution, stride 2, + BatchNorm + ReLU + 3x3 max-pool, stride 2 (torchvision; the
  published runs on 150-224 px images).

The output is ``[B, num_outputs]`` like torchvision's, also for ``num_outputs == 1``; the anti-locality
regulariser and :func:`rankcore.cnn.train_step` accept a ``[B, 1]`` logit.
"""

from __future__ import annotations

import torch
from torch import nn

from ..graph.arguments import check_int

STEMS = ("small", "imagenet")


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with BatchNorm, ReLU, and an identity (or 1x1 projection) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """A BasicBlock ResNet: stem, four stages of ``blocks[i]`` blocks, global average pool, linear head."""

    def __init__(self, blocks=(2, 2, 2, 2), in_channels: int = 1, num_outputs: int = 1, width: int = 64,
                 stem: str = "small"):
        super().__init__()
        # check_int: a float or bool is a TypeError, a value below 1 a ValueError (both were ValueErrors)
        in_channels = check_int("in_channels", in_channels, 1)
        num_outputs = check_int("num_outputs", num_outputs, 1)
        width = check_int("width", width, 1)
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
        if not isinstance(blocks, (tuple, list)) or len(blocks) != 4:
            raise ValueError(f"blocks must be four positive ints (blocks per stage), got {blocks!r}")
        blocks = tuple(check_int(f"blocks[{i}]", b, 1) for i, b in enumerate(blocks))
        self.in_channels = in_channels
        if stem == "small":
            self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        else:
            self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False),
                                      nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(3, stride=2, padding=1))
        stages, channels = [], width
        for i, count in enumerate(blocks):
            out_channels = width * 2 ** i
            layers = [BasicBlock(channels, out_channels, 1 if i == 0 else 2)]
            layers += [BasicBlock(out_channels, out_channels, 1) for _ in range(count - 1)]
            stages.append(nn.Sequential(*layers))
            channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(channels, num_outputs)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected images [B, {self.in_channels}, H, W], got shape {list(x.shape)}")
        out = self.stages(self.stem(x))
        return self.head(torch.flatten(self.pool(out), 1))


def resnet18(in_channels: int = 1, num_outputs: int = 1, width: int = 64, stem: str = "small") -> ResNet:
    """ResNet-18 (BasicBlock [2, 2, 2, 2], widths ``width * (1, 2, 4, 8)``) returning ``[B, num_outputs]``."""
    return ResNet((2, 2, 2, 2), in_channels=in_channels, num_outputs=num_outputs, width=width, stem=stem)
