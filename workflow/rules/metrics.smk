from functools import partial

from divrec.plots.targets import per_sample_paths


rule metrics:
    """Diversity, recognizability, originality of one samples file (per class, per sample,
    summary with bootstrap CIs)."""
    input:
        samples=L.samples(DS, "{model}", "{point}"),
        simclr=L.critic(DS, "simclr"),
        protonet=L.critic(DS, "protonet"),
    output:
        per_class=L.metrics(DS, "{model}", "{point}", "per_class"),
        per_sample=L.metrics(DS, "{model}", "{point}", "per_sample"),
        summary=L.metrics(DS, "{model}", "{point}", "summary"),
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
        report(L.summary(DS), category="Tables"),
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
        report(L.claims(DS), category="Tables", caption="../report/claims.rst"),
    params:
        hash=eval_hash,
    log:
        f"{RES}/logs/{{dataset}}/claims.log",
    group:
        "evaluation"
    script:
        "../scripts/claims.py"
