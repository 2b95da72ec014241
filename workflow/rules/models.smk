rule train_model:
    """Train one model entry at one sweep point (resumes from results/.resume after a kill)."""
    input:
        SPLIT,
    output:
        model=f"{RES}/models/{{model}}/{{point}}/model.pt",
        history=f"{RES}/models/{{model}}/{{point}}/history.parquet",
    params:
        hash=model_hash,
        state_dir=RESUME + "/models",
    log:
        f"{RES}/logs/train/{{model}}/{{point}}.log",
    benchmark:
        f"{RES}/benchmarks/train/{{model}}/{{point}}.tsv"
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=720,
    script:
        "../scripts/train_model.py"


rule sample_model:
    """N one-shot samples per test class, conditioned on the class exemplar."""
    input:
        model=f"{RES}/models/{{model}}/{{point}}/model.pt",
        split=SPLIT,
    output:
        f"{RES}/samples/{{model}}/{{point}}.npz",
    params:
        hash=lambda w: model_hash(w) + eval_hash(),
    log:
        f"{RES}/logs/sample/{{model}}/{{point}}.log",
    benchmark:
        f"{RES}/benchmarks/sample/{{model}}/{{point}}.tsv"
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=120,
    script:
        "../scripts/sample_model.py"


rule sample_humans:
    """Humans as a generator: the test classes' own drawings (exemplar flagged, never a query)."""
    input:
        SPLIT,
    output:
        f"{RES}/samples/human/data.npz",
    log:
        f"{RES}/logs/sample/human.log",
    benchmark:
        f"{RES}/benchmarks/sample/human.tsv"
    script:
        "../scripts/sample_humans.py"


ruleorder: sample_humans > sample_model
