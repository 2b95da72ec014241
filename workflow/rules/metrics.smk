rule metrics:
    """Diversity, recognizability, originality of one samples file (per class, per sample,
    summary with bootstrap CIs)."""
    input:
        samples=f"{D}/samples/{{model}}/{{point}}.npz",
        simclr=f"{D}/critics/simclr.pt",
        protonet=f"{D}/critics/protonet.pt",
    output:
        per_class=f"{D}/metrics/{{model}}/{{point}}/per_class.parquet",
        per_sample=f"{D}/metrics/{{model}}/{{point}}/per_sample.parquet",
        summary=f"{D}/metrics/{{model}}/{{point}}/summary.parquet",
    params:
        hash=eval_hash,
    log:
        f"{RES}/logs/{{dataset}}/metrics/{{model}}/{{point}}.log",
    benchmark:
        f"{RES}/benchmarks/{{dataset}}/metrics/{{model}}/{{point}}.tsv"
    group:
        "evaluation"
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/metrics.py"


rule aggregate:
    """One table of all model points and humans, with distance to humans."""
    input:
        summary_inputs,
    output:
        report(f"{D}/metrics/summary.parquet", category="Tables"),
    log:
        f"{RES}/logs/{{dataset}}/metrics/aggregate.log",
    group:
        "evaluation"
    script:
        "../scripts/aggregate.py"
