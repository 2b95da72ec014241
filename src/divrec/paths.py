"""The results layout, written once.

The rules (``workflow/rules/*.smk``), the figure targets (``plots/targets.py``) and the CLI build
every path that more than one of them reads or writes from ``Layout``, so a moved file moves
everywhere at once. Any argument may be a Snakemake wildcard placeholder such as ``"{model}"``:
the methods only join strings, so ``Layout("results").samples("{dataset}", "{model}", "{point}")``
is the rule's output pattern and ``Layout("results").samples("omniglot", "ddpm", "base")`` a file.
Per-rule logs and benchmarks stay in their rules: nothing else reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the humans' (model, point): their samples and tables sit where a model point's would
HUMAN = ("human", "data")


@dataclass(frozen=True)
class Layout:
    root: str = "results"

    def dataset(self, ds: str) -> str:
        return f"{self.root}/{ds}"

    def resume(self) -> str:
        """Training resume state (outside every rule's outputs: Snakemake deletes those)."""
        return f"{self.root}/.resume"

    # ------------------------------------------------------------------ data and critics
    def raw(self, ds: str) -> str:
        return f"{self.dataset(ds)}/data/raw.npz"

    def split(self, ds: str) -> str:
        return f"{self.dataset(ds)}/data/split.npz"

    def critic(self, ds: str, kind: str, suffix: str = ".pt") -> str:
        """``suffix``: ".pt", "_history.parquet" or "_calibration.parquet"."""
        return f"{self.dataset(ds)}/critics/{kind}{suffix}"

    def critic_state(self, ds: str, kind: str) -> str:
        """A critic's training resume state."""
        return f"{self.resume()}/{ds}/critics/{kind}"

    def calibration(self, ds: str) -> str:
        return f"{self.dataset(ds)}/critics/calibration.parquet"

    # ------------------------------------------------------------------ models and scores
    def model(self, ds: str, model: str, point: str, name: str = "model.pt") -> str:
        """A trained point's checkpoint (``name="history.parquet"``: its per-step losses)."""
        return f"{self.dataset(ds)}/models/{model}/{point}/{name}"

    def samples(self, ds: str, model: str, point: str) -> str:
        return f"{self.dataset(ds)}/samples/{model}/{point}.npz"

    def metrics(self, ds: str, model: str, point: str, table: str = "summary") -> str:
        """``table``: "per_class", "per_sample" or "summary"."""
        return f"{self.dataset(ds)}/metrics/{model}/{point}/{table}.parquet"

    def summary(self, ds: str) -> str:
        """Every point and the humans in one table, with distance to humans."""
        return f"{self.dataset(ds)}/metrics/summary.parquet"

    def claims(self, ds: str) -> str:
        return f"{self.dataset(ds)}/claims.parquet"

    def user(self, ds: str, name: str) -> str:
        """Where ``divrec evaluate`` puts a user's scored samples."""
        return f"{self.dataset(ds)}/user/{name}"

    # ------------------------------------------------------------------ analyses and figures
    def figures(self, ds: str, name: str = "") -> str:
        return f"{self.dataset(ds)}/figures" + (f"/{name}" if name else "")

    def diverse(self, ds: str, name: str = "") -> str:
        return f"{self.dataset(ds)}/diverse" + (f"/{name}" if name else "")

    def importance(self, ds: str, model: str, point: str, ext: str = "npz") -> str:
        """Importance maps (npz) and their comparison table (parquet) of one trained point."""
        return f"{self.dataset(ds)}/importance/{model}/{point}.{ext}"

    def quality(self, qds: str = "") -> str:
        """GAN vs diffusion comparison, per image dataset."""
        return f"{self.root}/quality" + (f"/{qds}" if qds else "")
