"""Which figures a dataset gets and which score tables feed each one.

Used by the workflow (``all_targets`` and the inputs of the figure rules) and kept here, as plain
functions of the config's model points, so the rule files hold no logic and the choices are tested:
every scored source gets a sample grid, every entry with a swept parameter a trajectory figure,
and a dataset gets the guidance figure only when some entry samples several guidance scales.
"""

from __future__ import annotations

from functools import partial

from divrec.paths import HUMAN, Layout
from divrec.plots.guidance import is_guidance_point
from divrec.plots.trajectories import has_sweep


def dataset_points(points: list, dataset: str) -> list[tuple[str, str]]:
    """(model, point) of every scored source of ``dataset`` in ``points``, humans first."""
    return [HUMAN] + [(p.model, p.name) for p in points if p.dataset == dataset]


def _per_sample(results: str, dataset: str, pairs) -> list[str]:
    return [Layout(results).metrics(dataset, m, p, "per_sample") for m, p in pairs]


def per_sample_paths(points: list, results: str, wildcards) -> list[str]:
    """Inputs of the generalization figure: every source of the dataset."""
    return _per_sample(results, wildcards.dataset, dataset_points(points, wildcards.dataset))


def guidance_paths(points: list, results: str, wildcards) -> list[str]:
    """Inputs of the guidance figure: humans and every "<point>~guidance=<γ>" variant."""
    pairs = [(m, p) for m, p in dataset_points(points, wildcards.dataset)
             if (m, p) == HUMAN or is_guidance_point(p)]
    return _per_sample(results, wildcards.dataset, pairs)


def figure_paths(config: dict, points: list, results: str, dataset: str) -> list[str]:
    """Every figure file of a dataset except the plane (which ``all_targets`` lists itself)."""
    figures = partial(Layout(results).figures, dataset)
    pairs = dataset_points(points, dataset)
    out = [figures(f"{name}.{ext}") for name in ("distance", "generalization")
           for ext in ("png", "pdf")]
    out += [figures(f"samples/{m}/{p}.png") for m, p in pairs]
    models = dict.fromkeys(m for m, _ in pairs[1:])
    out += [figures(f"trajectories/{m}.{ext}") for m in models
            if has_sweep(config["models"][m]) for ext in ("png", "pdf")]
    if any(is_guidance_point(p) for _, p in pairs):
        out += [figures("guidance.png"), figures("guidance.pdf")]
    return out


def importance_points(config: dict, points: list, dataset: str) -> list[tuple[str, str]]:
    """(model, trained point) pairs of a dataset that get importance maps: the trained points
    (sampling variants folded) of the entries listed under ``importance.models``."""
    wanted = (config.get("importance") or {}).get("models", [])
    pairs = [(p.model, p.train_name) for p in points if p.dataset == dataset and p.model in wanted]
    return list(dict.fromkeys(pairs))


def importance_paths(config: dict, points: list, results: str, dataset: str) -> list[str]:
    """Maps table and figure of every (model, trained point) of ``importance_points``."""
    lay = Layout(results)
    return [path for m, p in importance_points(config, points, dataset) for path in (
        lay.importance(dataset, m, p, "parquet"),
        lay.figures(dataset, f"importance/{m}/{p}.png"),
        lay.figures(dataset, f"importance/{m}/{p}.pdf"))]
