# Figures of one dataset; which points feed which figure: divrec.plots.targets.
from functools import partial

from divrec.plots.targets import guidance_paths, per_sample_paths


rule plane_figure:
    """Diversity vs. recognizability: every model point and humans, with bootstrap CIs."""
    input:
        summary=L.summary(DS),
        humans=L.metrics(DS, *HUMAN, "per_class"),
    output:
        png=report(L.figures(DS, "plane.png"), category="Figures",
                   caption="../report/plane.rst"),
        pdf=L.figures(DS, "plane.pdf"),
    log:
        f"{RES}/logs/{{dataset}}/figures/plane.log",
    group:
        "evaluation"
    script:
        "../scripts/plane_figure.py"


rule sample_grid:
    """Exemplar + one-shot samples of a few test classes, for one model point (or humans)."""
    input:
        L.samples(DS, "{model}", "{point}"),
    output:
        report(L.figures(DS, "samples/{model}/{point}.png"), category="Figures",
               subcategory="Samples", caption="../report/samples.rst"),
    log:
        f"{RES}/logs/{{dataset}}/figures/samples/{{model}}/{{point}}.log",
    benchmark:
        f"{RES}/benchmarks/{{dataset}}/figures/samples/{{model}}/{{point}}.tsv"
    group:
        "evaluation"
    script:
        "../scripts/figure_samples.py"


rule trajectory_figure:
    """One panel per swept parameter of a model entry: its points joined in the plane."""
    input:
        L.summary(DS),
    output:
        png=report(L.figures(DS, "trajectories/{model}.png"), category="Figures",
                   subcategory="Trajectories", caption="../report/trajectories.rst"),
        pdf=L.figures(DS, "trajectories/{model}.pdf"),
    log:
        f"{RES}/logs/{{dataset}}/figures/trajectories/{{model}}.log",
    benchmark:
        f"{RES}/benchmarks/{{dataset}}/figures/trajectories/{{model}}.tsv"
    group:
        "evaluation"
    script:
        "../scripts/figure_trajectories.py"


rule distance_figure:
    """Model points ranked by distance to humans."""
    input:
        L.summary(DS),
    output:
        png=report(L.figures(DS, "distance.png"), category="Figures",
                   caption="../report/distance.rst"),
        pdf=L.figures(DS, "distance.pdf"),
    log:
        f"{RES}/logs/{{dataset}}/figures/distance.log",
    benchmark:
        f"{RES}/benchmarks/{{dataset}}/figures/distance.tsv"
    group:
        "evaluation"
    script:
        "../scripts/figure_distance.py"


rule generalization_figure:
    """Recognizability against binned originality: one curve per model point, and humans."""
    input:
        partial(per_sample_paths, POINTS, RES),
    output:
        png=report(L.figures(DS, "generalization.png"), category="Figures",
                   caption="../report/generalization.rst"),
        pdf=L.figures(DS, "generalization.pdf"),
        table=L.figures(DS, "generalization.parquet"),
    params:
        hash=eval_hash,
    log:
        f"{RES}/logs/{{dataset}}/figures/generalization.log",
    benchmark:
        f"{RES}/benchmarks/{{dataset}}/figures/generalization.tsv"
    group:
        "evaluation"
    script:
        "../scripts/figure_generalization.py"


rule guidance_figure:
    """Generalization curves of every guidance scale of a guided diffusion entry, and humans."""
    input:
        partial(guidance_paths, POINTS, RES),
    output:
        png=report(L.figures(DS, "guidance.png"), category="Figures",
                   caption="../report/guidance.rst"),
        pdf=L.figures(DS, "guidance.pdf"),
    log:
        f"{RES}/logs/{{dataset}}/figures/guidance.log",
    benchmark:
        f"{RES}/benchmarks/{{dataset}}/figures/guidance.tsv"
    group:
        "evaluation"
    script:
        "../scripts/figure_guidance.py"
