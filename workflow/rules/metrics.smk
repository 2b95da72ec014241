rule metrics:
    """Diversity, recognizability, originality of one samples file (per class, per sample,
    summary with bootstrap CIs)."""
    input:
        samples=f"{RES}/samples/{{model}}/{{point}}.npz",
        simclr=f"{RES}/critics/simclr.pt",
        protonet=f"{RES}/critics/protonet.pt",
    output:
        per_class=f"{RES}/metrics/{{model}}/{{point}}/per_class.parquet",
        per_sample=f"{RES}/metrics/{{model}}/{{point}}/per_sample.parquet",
        summary=f"{RES}/metrics/{{model}}/{{point}}/summary.parquet",
    params:
        hash=eval_hash,
    log:
        f"{RES}/logs/metrics/{{model}}/{{point}}.log",
    benchmark:
        f"{RES}/benchmarks/metrics/{{model}}/{{point}}.tsv"
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
        report(f"{RES}/metrics/summary.parquet", category="Tables"),
    log:
        f"{RES}/logs/metrics/aggregate.log",
    group:
        "evaluation"
    script:
        "../scripts/aggregate.py"
