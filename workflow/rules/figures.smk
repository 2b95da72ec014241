rule plane_figure:
    """Diversity vs. recognizability: every model point and humans, with bootstrap CIs."""
    input:
        summary=f"{RES}/metrics/summary.parquet",
        humans=f"{RES}/metrics/human/data/per_class.parquet",
    output:
        png=report(f"{RES}/figures/plane.png", category="Figures",
                   caption="../report/plane.rst"),
        pdf=f"{RES}/figures/plane.pdf",
    log:
        f"{RES}/logs/figures/plane.log",
    group:
        "evaluation"
    script:
        "../scripts/plane_figure.py"
