# Diverse samples (issue 9): per model point, generated samples outside the real data (published
# t-SNE hull rule and a k-NN rule), memorised copies, stability; and a downstream classifier table.
# Input/hash helpers live in common.smk (diverse_*).


rule diverse_reference:
    """Features of the training and test images (once per dataset) and their leave-one-out
    neighbour distances, which set the k-NN and memorisation thresholds."""
    input:
        unpack(diverse_extractor_input),
        split=split_file,
    output:
        L.diverse(DS, "reference.npz"),
    params:
        hash=diverse_hash,
    log:
        f"{RES}/logs/{{dataset}}/diverse/reference.log",
    benchmark:
        f"{RES}/benchmarks/{{dataset}}/diverse/reference.tsv"
    threads: 1  # measured: 2 threads ran 2-3x slower than 1 on a 2-core machine with other jobs
    resources:
        mem_mb=6000,
        runtime=60,
    script:
        "../scripts/diverse_reference.py"


rule diverse_point:
    """Both DS rules, memorisation and stability for one samples file, with its two figures."""
    input:
        unpack(diverse_extractor_input),
        samples=L.samples(DS, "{model}", "{point}"),
        reference=L.diverse(DS, "reference.npz"),
        split=split_file,
    output:
        table=L.diverse(DS, "{model}/{point}.parquet"),
        summary=L.diverse(DS, "points/{model}/{point}.parquet"),
        tsne=report(L.diverse(DS, "figures/{model}/{point}_tsne.png"),
                    category="Diverse samples", subcategory="{model}",
                    caption="../report/diverse_tsne.rst"),
        grid=report(L.diverse(DS, "figures/{model}/{point}_grid.png"),
                    category="Diverse samples", subcategory="{model}",
                    caption="../report/diverse_grid.rst"),
    params:
        hash=diverse_hash,
    log:
        f"{RES}/logs/{{dataset}}/diverse/{{model}}/{{point}}.log",
    benchmark:
        f"{RES}/benchmarks/{{dataset}}/diverse/{{model}}/{{point}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/diverse_point.py"


rule diverse_downstream:
    """The OI / VGS / DS classifier comparison for one model point."""
    input:
        samples=L.samples(DS, "{model}", "{point}"),
        table=L.diverse(DS, "{model}/{point}.parquet"),
        split=split_file,
    output:
        L.diverse(DS, "downstream/{model}/{point}.parquet"),
    params:
        hash=diverse_hash,
    log:
        f"{RES}/logs/{{dataset}}/diverse/downstream/{{model}}/{{point}}.log",
    benchmark:
        f"{RES}/benchmarks/{{dataset}}/diverse/downstream/{{model}}/{{point}}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    script:
        "../scripts/diverse_downstream.py"


rule diverse_summary:
    """One row per model point: DS counts of both rules, hull overlap, stability, memorisation."""
    input:
        diverse_summary_inputs,
    output:
        report(L.diverse(DS, "summary.parquet"), category="Tables",
               caption="../report/diverse_summary.rst"),
    log:
        f"{RES}/logs/{{dataset}}/diverse/summary.log",
    script:
        "../scripts/diverse_summary.py"


rule diverse_downstream_table:
    """Per model point and condition: held-out accuracy and its change against real shots only."""
    input:
        diverse_downstream_inputs,
    output:
        report(L.diverse(DS, "downstream.parquet"), category="Tables",
               caption="../report/diverse_downstream.rst"),
    log:
        f"{RES}/logs/{{dataset}}/diverse/downstream.log",
    script:
        "../scripts/diverse_downstream_table.py"
