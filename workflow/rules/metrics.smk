from functools import partial

from divrec.plots.targets import per_sample_paths


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


rule claims:
    """Each published qualitative finding (spec section 6) as a statistic with a paired
    bootstrap CI over test classes and a verdict (divrec.claims)."""
    input:
        partial(per_sample_paths, POINTS, RES),
    output:
        report(f"{D}/claims.parquet", category="Tables", caption="../report/claims.rst"),
    params:
        hash=eval_hash,
    log:
        f"{RES}/logs/{{dataset}}/claims.log",
    group:
        "evaluation"
    script:
        "../scripts/claims.py"
