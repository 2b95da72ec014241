rule plane_figure:
    """Diversity vs. recognizability: every model point and humans, with bootstrap CIs."""
    input:
        summary=f"{D}/metrics/summary.parquet",
        humans=f"{D}/metrics/human/data/per_class.parquet",
    output:
        png=report(f"{D}/figures/plane.png", category="Figures",
                   caption="../report/plane.rst"),
        pdf=f"{D}/figures/plane.pdf",
    log:
        f"{RES}/logs/{{dataset}}/figures/plane.log",
    group:
        "evaluation"
    script:
        "../scripts/plane_figure.py"
