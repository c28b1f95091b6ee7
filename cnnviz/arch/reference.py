"""Four classic CNNs with random weights, built from plain torch (nothing downloaded): LeNet-5
(the modern form of the preset), AlexNet, VGG16 and ResNet-50, laid out like torchvision's
models (the same module names, so the same state_dict keys and parameter counts).

They are the yardsticks for the layer table: torchvision publishes 61,100,840 parameters for
AlexNet, 138,357,544 for VGG16 and 25,557,032 for ResNet-50, and the literature gives their
receptive fields (AlexNet pool5 195, VGG16 pool5 212, ResNet-50's last stage 427 pixels).

>>> model = reference_model("resnet50", device="meta")  # shapes and counts only, no memory
>>> sum(p.numel() for p in model.parameters())
25557032
"""

from __future__ import annotations

import torch
from torch import nn

from cnnviz.arch.check import build
from cnnviz.arch.presets import PRESETS

NAMES = ("lenet5", "alexnet", "vgg16", "resnet50")
# (channels, height, width) each was designed for, and its number of classes
INPUTS = {
    "lenet5": ((1, 28, 28), 10),
    "alexnet": ((3, 224, 224), 1000),
    "vgg16": ((3, 224, 224), 1000),
    "resnet50": ((3, 224, 224), 1000),
}


class _Plain(nn.Module):
    """torchvision's plain nets: features, an adaptive average pool, then the classifier."""

    features: nn.Sequential
    avgpool: nn.AdaptiveAvgPool2d
    classifier: nn.Sequential

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


class AlexNet(_Plain):
    """torchvision's AlexNet (the one-GPU variant of Krizhevsky et al. 2012, 64-192-384-256-256)."""

    def __init__(self, n_classes: int = 1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, n_classes),
        )


class VGG16(_Plain):
    """torchvision's VGG16 (configuration D of Simonyan and Zisserman 2014, no batch norm)."""

    PLAN = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")

    def __init__(self, n_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for v in self.PLAN:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
                c = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(0.5),
            nn.Linear(4096, n_classes),
        )


class Bottleneck(nn.Module):
    """1×1 in, 3×3 (carrying the stride, as torchvision's "v1.5"), 1×1 out ×4, plus the shortcut:
    the input itself, or a strided 1×1 conv + batch norm where the shape changes."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1):
        super().__init__()
        c_out = width * self.expansion
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    """torchvision's resnet50 (He et al. 2015): a 7×7 stride-2 stem, a max pool, then 3, 4, 6
    and 3 bottleneck blocks, global average pooling and one linear layer."""

    def __init__(self, n_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        c = 64
        for i, (width, blocks, stride) in enumerate(
            ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)), start=1
        ):
            stage = []
            for b in range(blocks):
                stage.append(Bottleneck(c, width, stride if b == 0 else 1))
                c = width * Bottleneck.expansion
            setattr(self, f"layer{i}", nn.Sequential(*stage))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(c, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def reference_model(name: str, seed: int = 0, device: str | torch.device = "cpu") -> nn.Module:
    """One of NAMES with random weights (torch's default initialisation, seeded), in eval mode.

    device="meta" builds it without memory or initialisation: enough for shapes, parameter
    counts, receptive fields and multiply-adds (`cnnviz.arch.summarize` runs on it)."""
    if name not in NAMES:
        raise ValueError(f"{name!r} is not a reference model; use one of {', '.join(NAMES)}.")
    with torch.random.fork_rng(devices=[]), torch.device(device):
        torch.manual_seed(seed)
        if name == "lenet5":
            shape, n = INPUTS["lenet5"]
            model = build(PRESETS["lenet5"], shape, n)
        else:
            model = {"alexnet": AlexNet, "vgg16": VGG16, "resnet50": ResNet50}[name]()
    return model.eval()
