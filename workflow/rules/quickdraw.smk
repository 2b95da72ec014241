# The fetch reruns only when its source changes (categories, size, mirror), not the clustering.
QD_SOURCE = {k: (config["data"].get("quickdraw") or {}).get(k)
             for k in ("categories", "max_per_category", "mirror", "base_url")}


rule quickdraw:
    """Fetch the QuickDraw numpy_bitmap categories (offline mirror or download), verify checksums."""
    output:
        ensure(L.raw("quickdraw"), non_empty=True),
    params:
        hash=config_hash(QD_SOURCE),
    log:
        f"{RES}/logs/quickdraw/data/raw.log",
    benchmark:
        f"{RES}/benchmarks/quickdraw/data/raw.tsv"
    retries: 2
    resources:
        mem_mb=4000,
        runtime=60,
    script:
        "../scripts/quickdraw.py"


rule split_quickdraw:
    """QuickDraw-FS: k-means sub-classes per category, prototypes, class-disjoint train/val/test."""
    input:
        L.raw("quickdraw"),
    output:
        L.split("quickdraw"),
    params:
        hash=config_hash(config["data"].get("quickdraw")) + str(config["seed"]),
    log:
        f"{RES}/logs/quickdraw/data/split.log",
    benchmark:
        f"{RES}/benchmarks/quickdraw/data/split.tsv"
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/quickdraw_split.py"
