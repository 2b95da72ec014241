rule omniglot:
    """Fetch Omniglot (offline mirror or official zips), verify checksums, store one array file."""
    output:
        ensure(L.raw("omniglot"), non_empty=True),
    log:
        f"{RES}/logs/omniglot/data/raw.log",
    benchmark:
        f"{RES}/benchmarks/omniglot/data/raw.tsv"
    retries: 2
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/omniglot.py"


rule split_omniglot:
    """Weak/strong split, 50x50 preprocessing, validation classes and exemplars."""
    input:
        L.raw("omniglot"),
    output:
        L.split("omniglot"),
    params:
        hash=config_hash(config["data"].get("omniglot")) + str(config["seed"]),
    log:
        f"{RES}/logs/omniglot/data/split.log",
    benchmark:
        f"{RES}/benchmarks/omniglot/data/split.tsv"
    resources:
        mem_mb=6000,
        runtime=30,
    script:
        "../scripts/split_omniglot.py"
