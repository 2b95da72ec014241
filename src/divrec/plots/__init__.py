"""Paper-style figures (matplotlib, Agg backend), one module per figure; shared colours/labels."""

import matplotlib
import matplotlib.colors as mcolors

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({
    "figure.dpi": 120, "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.3, "legend.frameon": False,
})

#: one colour per model family, humans (and the quality comparison's data) in black
FAMILY_COLORS = {
    "human": "black", "vae_stn": "tab:blue", "vae_ns": "tab:orange", "dagan": "tab:green",
    "dagan_rn": "tab:green", "dagan_un": "tab:olive", "ddpm": "tab:red", "cfgdm": "tab:purple",
    "fsdm": "tab:brown", "user": "tab:pink", "data": "black", "dcgan": "tab:blue",
    "ddgan": "tab:green",
}


def family_color(family: str) -> str:
    return FAMILY_COLORS.get(family, "tab:gray")


#: markers that tell apart several entries of the same family in one plot
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">")


def shades(color: str, n: int) -> list[tuple[float, float, float]]:
    """``n`` variants of ``color``, from the full colour towards white (never white itself), so
    the points or curves of one family stay recognisably that family."""
    rgb = mcolors.to_rgb(color)
    if n <= 1:
        return [rgb][:max(n, 0)]
    return [tuple(c + (1 - c) * 0.6 * i / (n - 1) for c in rgb) for i in range(n)]


def point_label(label: str, point: str) -> str:
    """Legend text of a model point: the entry's label, plus the point unless it is the only one."""
    if point in ("", "base", "data"):
        return label
    return f"{label} {point.removeprefix('base~').replace('~', ' ')}"


def panel_grid(n_panels: int, width: float, height: float, max_cols: int = 3):
    """(figure, axes) with room for ``n_panels`` panels of ``width`` x ``height`` inches, at most
    ``max_cols`` a row; the axes left over are switched off."""
    n = max(n_panels, 1)
    cols = min(n, max_cols)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(width * cols, height * rows))
    for ax in list(axes.flat)[n_panels:]:
        ax.set_axis_off()
    return fig, axes


def show_image(ax, img, cmap: str = "gray_r", frame: str | None = None, **imshow) -> None:
    """``img`` in ``ax`` without ticks or grid, framed in the colour ``frame`` (None: no frame)."""
    ax.imshow(img, cmap=cmap, interpolation="nearest", **imshow)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(frame is not None)
        if frame is not None:
            side.set(color=frame, linewidth=1.5)
