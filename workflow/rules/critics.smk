rule train_critic:
    """SimCLR (diversity) or ProtoNet (recognizability), trained on the train split."""
    input:
        SPLIT,
    output:
        model=f"{RES}/critics/{{kind}}.pt",
        history=f"{RES}/critics/{{kind}}_history.parquet",
    params:
        hash=critic_hash,
        state_dir=lambda w: f"{RESUME}/critics/{w.kind}",
    log:
        f"{RES}/logs/critics/{{kind}}.log",
    benchmark:
        f"{RES}/benchmarks/critics/{{kind}}.tsv"
    threads: 2
    resources:
        gpu=1,
        mem_mb=6000,
        runtime=240,
    script:
        "../scripts/train_critic.py"
