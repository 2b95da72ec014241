"""Paper-style figures (matplotlib, Agg backend)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({
    "figure.dpi": 120, "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.3, "legend.frameon": False,
})

#: one colour per model family, humans in black
FAMILY_COLORS = {
    "human": "black", "vae_stn": "tab:blue", "vae_ns": "tab:orange", "dagan": "tab:green",
    "dagan_rn": "tab:green", "dagan_un": "tab:olive", "ddpm": "tab:red", "cfgdm": "tab:purple",
    "fsdm": "tab:brown", "user": "tab:pink",
}


def family_color(family: str) -> str:
    return FAMILY_COLORS.get(family, "tab:gray")
