rule train_critic:
    """SimCLR (diversity) or ProtoNet (recognizability), trained on the dataset's train split."""
    input:
        split_file,
    output:
        model=f"{D}/critics/{{kind}}.pt",
        history=f"{D}/critics/{{kind}}_history.parquet",
    params:
        hash=critic_hash,
        state_dir=lambda w: f"{RESUME}/{w.dataset}/critics/{w.kind}",
    log:
        f"{RES}/logs/{{dataset}}/critics/{{kind}}.log",
    benchmark:
        f"{RES}/benchmarks/{{dataset}}/critics/{{kind}}.tsv"
    threads: 2
    resources:
        gpu=1,
        mem_mb=6000,
        runtime=240,
    script:
        "../scripts/train_critic.py"
