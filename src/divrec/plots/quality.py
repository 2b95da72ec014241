"""Figures of the quality comparison: sample grids, quality vs. sampling time, loss curves.

Every axis that shows a Fréchet distance is labelled with the table's ``fd_name`` ("FID" only for
the standard Inception weights, "FD_<extractor>" otherwise).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from divrec.io import read_parquet_metadata, save_figure
from divrec.plots import family_color, plt


def _grid(images: np.ndarray, n: int = 64) -> np.ndarray:
    """uint8 [N, H, W, C] -> one tiled image [rows*H, cols*W, C] with a 1 px border."""
    x = images[:n]
    cols = int(np.ceil(np.sqrt(len(x))))
    rows = int(np.ceil(len(x) / cols))
    h, w, c = x.shape[1:]
    canvas = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1, c), 128, np.uint8)
    for i, img in enumerate(x):
        r, q = divmod(i, cols)
        canvas[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + q * (w + 1):1 + q * (w + 1) + w] = img
    return canvas


def sample_grids(panels: dict[str, np.ndarray], titles: dict[str, str], paths: list[str],
                 n: int = 64) -> None:
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.9))
    for ax, (key, imgs) in zip(np.atleast_1d(axes), panels.items()):
        g = _grid(imgs, n)
        ax.imshow(g[..., 0] if g.shape[-1] == 1 else g, cmap="gray", vmin=0, vmax=255)
        ax.set_title(titles.get(key, key), fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    save_figure(fig, paths)


def tradeoff(metrics_path: str, paths: list[str]) -> None:
    """FD (log y) against seconds per image (log x), one point per model, NFE annotated."""
    t = pd.read_parquet(metrics_path)
    first = t.iloc[0] if len(t) else {"fd_name": "FD", "extractor": "?", "device": "?",
                                      "batch_size": "?", "dataset": ""}
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, y, name in zip(axes, ("fd", "kid"), (first["fd_name"], f"KID ({first['extractor']})")):
        for _, r in t.iterrows():
            ax.scatter(r["s_per_image"], r[y], color=family_color(r["family"]), s=30, zorder=3,
                       label=r["label"])
            ax.annotate(f"{r['label']} ({r['nfe']} NFE)", (r["s_per_image"], r[y]), fontsize=7,
                        xytext=(4, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel(f"sampling time per image [s] ({first['device']}, batch "
                      f"{first['batch_size']})")
        ax.set_ylabel(f"{name} (lower is better)")
        if len(t) and (t[y] > 0).all():
            ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{first['dataset']}: quality vs. sampling speed (features: "
                 f"{read_parquet_metadata(metrics_path).get('extractor', '?')})", fontsize=9)
    fig.tight_layout()
    save_figure(fig, paths)


def loss_curves(histories: dict[str, str], labels: dict[str, str], paths: list[str]) -> None:
    """Generator and discriminator (GANs) or denoising (DDPM) losses against the step."""
    fig, axes = plt.subplots(1, len(histories), figsize=(3.2 * len(histories), 2.8),
                             squeeze=False)
    for ax, (model, path) in zip(axes[0], histories.items()):
        h = pd.read_parquet(path)
        keys = [k for k in ("g_loss", "d_loss", "r1") if k in h] or ["loss"]
        for k in keys:
            ax.plot(h["step"], h[k], label=k, lw=1)
        ax.set_title(labels.get(model, model), fontsize=8)
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, paths)
