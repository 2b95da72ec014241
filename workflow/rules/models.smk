rule train_model:
    """Train one model entry at one sweep point (resumes from results/.resume after a kill)."""
    input:
        split_file,
    output:
        model=L.model(DS, "{model}", "{train_point}"),
        history=L.model(DS, "{model}", "{train_point}", "history.parquet"),
    params:
        hash=model_hash,
        state_dir=RESUME,
    log:
        f"{RES}/logs/{{dataset}}/train/{{model}}/{{train_point}}.log",
    benchmark:
        f"{RES}/benchmarks/{{dataset}}/train/{{model}}/{{train_point}}.tsv"
    threads: 1
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=720,
    script:
        "../scripts/train_model.py"


rule sample_model:
    """N one-shot samples per test class, conditioned on the class exemplar."""
    input:
        model=trained_model,
        split=split_file,
    output:
        L.samples(DS, "{model}", "{point}"),
    wildcard_constraints:  # the humans' file is sample_humans' alone (a dry run would otherwise
        model=f"(?!{HUMAN[0]}/)[A-Za-z0-9_]+",  # try this rule's inputs for it and print errors)
    params:
        hash=sample_hash,
    log:
        f"{RES}/logs/{{dataset}}/sample/{{model}}/{{point}}.log",
    benchmark:
        f"{RES}/benchmarks/{{dataset}}/sample/{{model}}/{{point}}.tsv"
    threads: 1
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=120,
    script:
        "../scripts/sample_model.py"


rule sample_humans:
    """Humans as a generator: the test classes' own drawings (exemplar flagged, never a query)."""
    input:
        split_file,
    output:
        L.samples(DS, *HUMAN),
    params:
        hash=eval_hash,
    log:
        f"{RES}/logs/{{dataset}}/sample/human.log",
    benchmark:
        f"{RES}/benchmarks/{{dataset}}/sample/human.tsv"
    script:
        "../scripts/sample_humans.py"

