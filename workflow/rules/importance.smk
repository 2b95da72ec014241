# Feature-importance maps of guided diffusion entries (ICML'23): which exemplar pixels steer the
# conditional prediction. Targets: divrec.plots.targets.importance_paths.


rule importance_maps:
    """Map of every test exemplar under one trained point, and its per-class table."""
    input:
        unpack(human_maps_input),
        model=L.model(DS, "{model}", "{train_point}"),
        split=split_file,
    output:
        maps=L.importance(DS, "{model}", "{train_point}"),
        table=L.importance(DS, "{model}", "{train_point}", "parquet"),
    params:
        hash=importance_hash,
    log:
        f"{RES}/logs/{{dataset}}/importance/{{model}}/{{train_point}}.log",
    benchmark:
        f"{RES}/benchmarks/{{dataset}}/importance/{{model}}/{{train_point}}.tsv"
    threads: 1
    resources:
        gpu=1,
        mem_mb=4000,
        runtime=60,
    script:
        "../scripts/importance_maps.py"


rule importance_figure:
    """Exemplars beside their maps, and each category's mean map."""
    input:
        L.importance(DS, "{model}", "{train_point}"),
    output:
        png=report(L.figures(DS, "importance/{model}/{train_point}.png"), category="Figures",
                   subcategory="Importance maps", caption="../report/importance.rst"),
        pdf=L.figures(DS, "importance/{model}/{train_point}.pdf"),
    params:
        hash=importance_figure_hash,
    log:
        f"{RES}/logs/{{dataset}}/figures/importance/{{model}}/{{train_point}}.log",
    group:
        "evaluation"
    script:
        "../scripts/figure_importance.py"
