"""Feature extractors for the fidelity metrics, and cached feature files.

Two extractors, one interface (uint8 [N, H, W, C] images -> float [N, D] features):
- ``inception``: the TF-ported Inception-v3 FID weights of pytorch-fid (pool3, 2048-d), used only
  when the weights file is already on disk (``quality.inception_weights`` or the torch hub cache);
  never downloaded here. Numbers in this space are FID/KID proper.
- ``classifier_<dataset>``: a small CNN the pipeline trains on the dataset's own labels; its
  penultimate layer is the feature space. Numbers in this space are "FD_classifier_<dataset>",
  comparable only with each other, never with published FID.

The extractor's name is stored in its file and in every feature file, and the metrics table takes
it from there, so a number cannot lose the name of the space it was measured in.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from divrec.config import TrainConfig
from divrec.data.checksums import file_digest
from divrec.errors import ConfigError, DataError
from divrec.io import save_npz, save_torch
from divrec.quality.images import batch_function
from divrec.training.trainable import Trainable

FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION = "inception"


def inception_weights(configured: str | None = None) -> Path | None:
    """The FID Inception weights file if present: the configured path, else the hub cache."""
    if configured:
        return Path(configured) if Path(configured).is_file() else None
    cached = Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS_NAME
    return cached if cached.is_file() else None


def resolve_extractor(choice: str, dataset: str, configured_weights: str | None = None) -> str:
    """``auto`` -> ``inception`` when its weights are on disk, else ``classifier_<dataset>``."""
    if choice == "auto":
        return INCEPTION if inception_weights(configured_weights) else f"classifier_{dataset}"
    if choice == INCEPTION:
        if inception_weights(configured_weights) is None:
            raise ConfigError(
                f"feature_extractor 'inception' needs the FID weights ({FID_WEIGHTS_NAME}) at "
                f"quality.inception_weights or in {Path(torch.hub.get_dir()) / 'checkpoints'}; "
                "they are never downloaded by divrec (use 'auto' or 'classifier' instead)")
        return INCEPTION
    if choice == "classifier":
        return f"classifier_{dataset}"
    raise ConfigError(f"unknown feature_extractor '{choice}' (auto | inception | classifier)")


# ----------------------------------------------------------------------------- classifier


@dataclass
class ClassifierParams:
    width: int = 32
    feature_dim: int = 128
    steps: int = 300
    batch_size: int = 128
    lr: float = 1e-3


class SmallClassifier(Trainable):
    """Three conv stages (width, 2·width, 4·width), global average pool, a ``feature_dim``
    embedding (the feature space) and a linear head over the dataset's classes."""

    batch_kind = "labelled"

    def __init__(self, channels: int, n_classes: int, width: int = 32, feature_dim: int = 128):
        super().__init__()
        layers: list[nn.Module] = []
        cin = channels
        for mult in (1, 2, 4):
            cout = width * mult
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                       nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                       nn.MaxPool2d(2)]
            cin = cout
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(cin, feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, n_classes)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        x, y = batch
        logits = self.head(self.body(x))
        return {"loss": F.cross_entropy(logits, y),
                "acc": (logits.argmax(1) == y).float().mean()}


def train_classifier(name: str, images: np.ndarray, labels: np.ndarray, p: ClassifierParams,
                     state_dir: str | os.PathLike, device: torch.device, seed: int = 0) -> dict:
    """Train the classifier extractor ``name`` with the shared loop -> its extractor file dict."""
    from divrec.training.loop import Trainer

    n_classes = int(labels.max()) + 1
    torch.manual_seed(seed)  # the initial weights too, or every run trains another extractor
    model = SmallClassifier(images.shape[-1], n_classes, p.width, p.feature_dim)
    tc = TrainConfig(steps=p.steps, batch_size=p.batch_size, lr=p.lr, seed=seed,
                     log_every=max(1, p.steps // 20), checkpoint_every=max(1, p.steps))
    trainer = Trainer(model, tc, state_dir, device, run_config={"classifier": asdict(p),
                      "n": len(images), "classes": n_classes}, desc="feature classifier")
    trainer.fit(batch_function(images, p.batch_size, seed, device, labels))
    return {"kind": "classifier", "params": asdict(p), "channels": images.shape[-1],
            "n_classes": n_classes, "state_dict": model.state_dict(),
            "history": trainer.history, "name": name}


# ----------------------------------------------------------------------------- inception


def fid_inception(weights: Path) -> nn.Module:
    """pytorch-fid's FID Inception-v3, built from its blocks and loaded from a local file
    (pytorch-fid's own constructor would download the weights when they are not cached)."""
    from pytorch_fid import inception as I

    net = I._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = I.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = I.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = I.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = I.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = I.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = I.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = I.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = I.FIDInceptionE_1(1280)
    net.Mixed_7c = I.FIDInceptionE_2(2048)
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    net.fc = nn.Identity()  # pool3 features, 2048-d
    return net.eval()


# ----------------------------------------------------------------------------- common


class Extractor:
    """A loaded extractor: ``name`` and ``__call__(uint8 images) -> float64 [N, D]``."""

    def __init__(self, name: str, net: nn.Module, device: torch.device):
        self.name, self.net, self.device = name, net.to(device).eval(), device

    @torch.no_grad()
    def __call__(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        out = []
        for i in range(0, len(images), batch):
            x = torch.from_numpy(np.ascontiguousarray(images[i:i + batch])).to(self.device)
            x = x.permute(0, 3, 1, 2).float() / 127.5 - 1
            if self.name == INCEPTION:
                x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
                x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
            out.append(self.net(x))
        return torch.cat(out).double().cpu().numpy()


def inception_extractor(out: str | os.PathLike, weights: str | None = None) -> None:
    """Write the Inception extractor file: a pointer to (and digest of) the local FID weights."""
    path = inception_weights(weights)
    if path is None:
        raise DataError(f"FID Inception weights not found ({FID_WEIGHTS_NAME})")
    save_torch({"kind": INCEPTION, "name": INCEPTION, "weights": str(path),
                "sha256": file_digest(path)}, out)


def load_extractor(path: str | os.PathLike, device: torch.device) -> Extractor:
    if not Path(path).exists():
        raise DataError(f"feature extractor not found: {path} (run the quality rules first)")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if ck["kind"] == INCEPTION:
        return Extractor(ck["name"], fid_inception(Path(ck["weights"])), device)
    p = ClassifierParams(**ck["params"])
    net = SmallClassifier(ck["channels"], ck["n_classes"], p.width, p.feature_dim)
    net.load_state_dict(ck["state_dict"])
    return Extractor(ck["name"], net.body, device)  # the penultimate layer is the feature space


def write_features(extractor: Extractor, images: np.ndarray, out: str | os.PathLike,
                   source: str, batch: int = 256) -> None:
    save_npz(out, features=extractor(images, batch), extractor=np.array(extractor.name),
             source=np.array(source))


def read_features(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    if not Path(path).exists():
        raise DataError(f"feature file not found: {path}")
    with np.load(path) as z:
        return z["features"], str(z["extractor"])
