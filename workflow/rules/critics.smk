if config["critics"].get("source", "train") == "reference":
    from divrec.critics.reference import check_dataset

    for _ds in DATASETS:  # refuse at planning time, not after the other datasets' jobs ran
        check_dataset(_ds, config["data"][_ds])

    rule reference_critic:
        """The shipped reference critic (divrec.critics.reference), checked against its SHA256
        manifest, with its calibration measured on this run's split."""
        input:
            split_file,
        output:
            model=L.critic(DS, "{kind}"),
            calibration=L.critic(DS, "{kind}", "_calibration.parquet"),
        log:
            f"{RES}/logs/{{dataset}}/critics/{{kind}}.log",
        threads: 1  # loads and calibrates only; one job per core like every other rule
        resources:
            mem_mb=4000,
        script:
            "../scripts/reference_critic.py"

else:

    rule train_critic:
        """SimCLR (diversity) or ProtoNet (recognizability), trained on the dataset's train
        split; writes its calibration table (critics/calibration.py) beside it."""
        input:
            split_file,
        output:
            model=L.critic(DS, "{kind}"),
            history=L.critic(DS, "{kind}", "_history.parquet"),
            calibration=L.critic(DS, "{kind}", "_calibration.parquet"),
        params:
            hash=critic_hash,
            state_dir=lambda w: L.critic_state(w.dataset, w.kind),
        log:
            f"{RES}/logs/{{dataset}}/critics/{{kind}}.log",
        benchmark:
            f"{RES}/benchmarks/{{dataset}}/critics/{{kind}}.tsv"
        threads: 1  # one job per core, beside the 1-thread trainings (same CPU time as 2 threads)
        resources:
            gpu=1,
            mem_mb=6000,
            runtime=240,
        script:
            "../scripts/train_critic.py"


rule critic_calibration:
    """Both critics' calibration (ProtoNet accuracy, SimCLR NT-Xent) beside the published."""
    input:
        expand(L.critic(DS, "{kind}", "_calibration.parquet"), kind=["protonet", "simclr"],
               allow_missing=True),
    output:
        report(L.calibration(DS), category="Tables",
               caption="../report/calibration.rst"),
    log:
        f"{RES}/logs/{{dataset}}/critics/calibration.log",
    script:
        "../scripts/critic_calibration.py"
