# Unconditional generation quality and speed (issue 8): DCGAN vs DDPM vs DDGAN on image sets.
#   snakemake --cores 2 quality                 (the small comparison on Omniglot)
#   snakemake --cores 2 quality --configfile config/config.yaml config/cifar.yaml
# Results: results/quality/{qdataset}/{data,models,samples,features,figures}/, metrics.parquet.

wildcard_constraints:
    qdataset="[A-Za-z0-9_]+",
    qmodel="[A-Za-z0-9_]+",
    extractor="[A-Za-z0-9_]+",


rule quality_cifar10:
    """Official CIFAR-10 python tarball (local copy or download), MD5-checked, as arrays."""
    output:
        ensure(f"{QRES}/cifar10/data/cifar10.npz", non_empty=True),
    log:
        f"{RES}/logs/quality/cifar10/data.log",
    benchmark:
        f"{RES}/benchmarks/quality/cifar10/data.tsv"
    retries: 1
    resources:
        mem_mb=4000,
        runtime=60,
    script:
        "../scripts/quality_cifar10.py"


rule quality_images:
    """The dataset as uint8 [N, H, W, C] images at quality.image_size (+ labels)."""
    input:
        quality_source,
    output:
        f"{QD}/data/images.npz",
    params:
        hash=config_hash([Q.get("image_size"), Q.get("max_images"), config["seed"]]),
    log:
        f"{RES}/logs/quality/{{qdataset}}/images.log",
    benchmark:
        f"{RES}/benchmarks/quality/{{qdataset}}/images.tsv"
    resources:
        mem_mb=4000,
    script:
        "../scripts/quality_images.py"


rule quality_train:
    """Train one unconditional model (resumes from results/.resume after a kill)."""
    input:
        f"{QD}/data/images.npz",
    output:
        model=f"{QD}/models/{{qmodel}}/model.pt",
        history=f"{QD}/models/{{qmodel}}/history.parquet",
    params:
        hash=quality_hash,
        state_dir=RESUME,
    log:
        f"{RES}/logs/quality/{{qdataset}}/train/{{qmodel}}.log",
    benchmark:
        f"{RES}/benchmarks/quality/{{qdataset}}/train/{{qmodel}}.tsv"
    threads: 1
    resources:
        gpu=1,
        mem_mb=6000,
        runtime=720,
    script:
        "../scripts/quality_train.py"


rule quality_sample:
    """quality.n_samples images; sampling alone timed (warm-up, fixed batch, synchronised)."""
    input:
        f"{QD}/models/{{qmodel}}/model.pt",
    output:
        samples=f"{QD}/samples/{{qmodel}}.npz",
        timing=f"{QD}/samples/{{qmodel}}.timing.json",
    params:
        hash=lambda w: quality_hash(w) + config_hash([Q["n_samples"], Q["sample_batch"]]),
    log:
        f"{RES}/logs/quality/{{qdataset}}/sample/{{qmodel}}.log",
    benchmark:
        f"{RES}/benchmarks/quality/{{qdataset}}/sample/{{qmodel}}.tsv"
    threads: 1
    resources:
        gpu=1,
        mem_mb=6000,
        runtime=240,
    script:
        "../scripts/quality_sample.py"


rule quality_extractor:
    """The feature extractor: a classifier trained on the dataset's labels, or the FID Inception
    weights file (only when already on disk)."""
    input:
        f"{QD}/data/images.npz",
    output:
        f"{QD}/features/{{extractor}}/extractor.pt",
    params:
        hash=config_hash([Q.get("classifier"), Q.get("inception_weights"), config["seed"]]),
        state_dir=RESUME,
    log:
        f"{RES}/logs/quality/{{qdataset}}/features/{{extractor}}.log",
    benchmark:
        f"{RES}/benchmarks/quality/{{qdataset}}/features/{{extractor}}.tsv"
    threads: 1
    resources:
        gpu=1,
        mem_mb=4000,
    script:
        "../scripts/quality_extractor.py"


rule quality_features_data:
    """Features of the reference set (quality.n_reference training images), cached per
    (dataset, extractor)."""
    input:
        images=f"{QD}/data/images.npz",
        extractor=f"{QD}/features/{{extractor}}/extractor.pt",
    output:
        f"{QD}/features/{{extractor}}/data.npz",
    params:
        source="data",
        hash=config_hash([Q.get("n_reference"), config["seed"]]),
    log:
        f"{RES}/logs/quality/{{qdataset}}/features/{{extractor}}/data.log",
    benchmark:
        f"{RES}/benchmarks/quality/{{qdataset}}/features/{{extractor}}/data.tsv"
    threads: 1
    resources:
        gpu=1,
    script:
        "../scripts/quality_features.py"


rule quality_features_model:
    """Features of one model's samples in the same space."""
    input:
        images=f"{QD}/samples/{{qmodel}}.npz",
        extractor=f"{QD}/features/{{extractor}}/extractor.pt",
    output:
        f"{QD}/features/{{extractor}}/models/{{qmodel}}.npz",
    params:
        source=lambda w: w.qmodel,
    log:
        f"{RES}/logs/quality/{{qdataset}}/features/{{extractor}}/{{qmodel}}.log",
    benchmark:
        f"{RES}/benchmarks/quality/{{qdataset}}/features/{{extractor}}/{{qmodel}}.tsv"
    threads: 1
    resources:
        gpu=1,
    script:
        "../scripts/quality_features.py"


rule quality_metrics:
    """FD/KID/PRDC/Vendi of every model beside its sampling time: one table per dataset."""
    input:
        unpack(quality_metrics_inputs),
    output:
        f"{QD}/metrics.parquet",
    params:
        models=QMODELS,
        hash=config_hash([Q.get("kid_subsets"), Q.get("kid_subset_size"), Q.get("prdc_k")]),
    log:
        f"{RES}/logs/quality/{{qdataset}}/metrics.log",
    benchmark:
        f"{RES}/benchmarks/quality/{{qdataset}}/metrics.tsv"
    script:
        "../scripts/quality_metrics.py"


rule quality_figures:
    """Sample grids, quality vs. sampling time, loss curves."""
    input:
        metrics=f"{QD}/metrics.parquet",
        images=f"{QD}/data/images.npz",
        samples=expand(f"{QD}/samples/{{qmodel}}.npz", qmodel=QMODELS, allow_missing=True),
        histories=expand(f"{QD}/models/{{qmodel}}/history.parquet", qmodel=QMODELS,
                         allow_missing=True),
    output:
        grids=report(f"{QD}/figures/samples.png", category="Quality"),
        tradeoff=report(f"{QD}/figures/tradeoff.png", category="Quality"),
        tradeoff_pdf=f"{QD}/figures/tradeoff.pdf",
        losses=report(f"{QD}/figures/losses.png", category="Quality"),
    params:
        models=QMODELS,
        labels={m: (Q["models"][m].get("label") or m) for m in QMODELS},
    log:
        f"{RES}/logs/quality/{{qdataset}}/figures.log",
    benchmark:
        f"{RES}/benchmarks/quality/{{qdataset}}/figures.tsv"
    script:
        "../scripts/quality_figures.py"


rule quality:
    """Only the quality comparison (every dataset of quality.datasets)."""
    input:
        quality_targets(),
