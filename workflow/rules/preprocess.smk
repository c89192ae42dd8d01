# Cached between workflows, like ingest (see ingest.smk).
rule preprocess:
    input:
        table="results/{dataset}/ingest/sequences.tsv",
        summary="results/{dataset}/ingest/summary.json",
    output:
        tokens="results/{dataset}/preprocess/tokens.npy",
        lengths="results/{dataset}/preprocess/lengths.npy",
        labels="results/{dataset}/preprocess/labels.npy",
        residue_labels="results/{dataset}/preprocess/residue_labels.npy",
        targets="results/{dataset}/preprocess/targets.npy",
        split="results/{dataset}/preprocess/split.npy",
        records="results/{dataset}/preprocess/records.tsv",
        leakage="results/{dataset}/preprocess/leakage.tsv",
        meta="results/{dataset}/preprocess/meta.json",
    log:
        "logs/preprocess/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(SEQUENCE_DATASETS),
    cache: True
    conda:
        "../../envs/genoflow.yaml"
    threads: config["threads"]
    params:
        settings=settings("preprocess"),
        ingest=folder_of("summary", of="input"),
        out=folder_of("meta"),
        code=code_version("preprocess"),
    shell:
        "genoflow preprocess --ingest {params.ingest:q} --settings {params.settings:q} --threads {threads}"
        " --out {params.out:q} > {log:q} 2>&1"


rule preprocess_series:
    input:
        matrix="results/{dataset}/ingest/matrix.npy",
        samples="results/{dataset}/ingest/samples.tsv",
        summary="results/{dataset}/ingest/summary.json",
    output:
        values="results/{dataset}/preprocess/values.npy",
        raw="results/{dataset}/preprocess/raw.npy",
        series="results/{dataset}/preprocess/series.npy",
        time="results/{dataset}/preprocess/time.npy",
        windows="results/{dataset}/preprocess/windows.npy",
        window_split="results/{dataset}/preprocess/window_split.npy",
        records="results/{dataset}/preprocess/records.tsv",
        meta="results/{dataset}/preprocess/meta.json",
    log:
        "logs/preprocess_series/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(SERIES_DATASETS),
    cache: True
    conda:
        "../../envs/genoflow.yaml"
    params:
        settings=settings("preprocess-series"),
        ingest=folder_of("summary", of="input"),
        out=folder_of("meta"),
        code=code_version("preprocess_series"),
    shell:
        "genoflow preprocess-series --ingest {params.ingest:q} --settings {params.settings:q}"
        " --out {params.out:q} > {log:q} 2>&1"
