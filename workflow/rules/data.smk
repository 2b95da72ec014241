rule omniglot:
    """Fetch Omniglot (offline mirror or official zips), verify checksums, store one array file."""
    output:
        ensure(f"{RES}/data/omniglot.npz", non_empty=True),
    log:
        f"{RES}/logs/data/omniglot.log",
    benchmark:
        f"{RES}/benchmarks/data/omniglot.tsv"
    retries: 2
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/omniglot.py"


rule split:
    """Weak/strong split, 50x50 preprocessing, validation classes and exemplars."""
    input:
        f"{RES}/data/omniglot.npz",
    output:
        SPLIT,
    params:
        hash=config_hash(config["data"]) + str(config["seed"]),
    log:
        f"{RES}/logs/data/split.log",
    benchmark:
        f"{RES}/benchmarks/data/split.tsv"
    resources:
        mem_mb=6000,
        runtime=30,
    script:
        "../scripts/split.py"
