# Ingest and preprocess outputs go to Snakemake's between-workflow cache (`--cache`, with
# SNAKEMAKE_OUTPUT_CACHE set): another project with the same inputs and params reuses them.
# A cached rule cannot also have `benchmark:`; their timing is in the logs and in benchmarks/.
rule ingest:
    input:
        unpack(ingest_inputs),
    output:
        table="results/{dataset}/ingest/sequences.tsv",
        rejected="results/{dataset}/ingest/rejected.tsv",
        summary=report(
            "results/{dataset}/ingest/summary.json",
            caption="../report/ingest.rst",
            category="{dataset}",
            subcategory="data",
        ),
    log:
        "logs/ingest/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(SEQUENCE_DATASETS),
    cache: True
    conda:
        "../../envs/genoflow.yaml"
    threads: config["threads"]
    params:
        settings=settings("ingest"),
        out=folder_of("summary"),
        code=code_version("ingest"),
    shell:
        "genoflow ingest --settings {params.settings:q} --threads {threads} --out {params.out:q} > {log:q} 2>&1"


rule ingest_matrix:
    input:
        unpack(matrix_inputs),
    output:
        matrix="results/{dataset}/ingest/matrix.npy",
        samples="results/{dataset}/ingest/samples.tsv",
        genes="results/{dataset}/ingest/genes.txt",
        summary=report(
            "results/{dataset}/ingest/summary.json",
            caption="../report/ingest.rst",
            category="{dataset}",
            subcategory="data",
        ),
    log:
        "logs/ingest_matrix/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(SERIES_DATASETS),
    cache: True
    conda:
        "../../envs/genoflow.yaml"
    params:
        settings=settings("ingest-matrix"),
        out=folder_of("summary"),
        code=code_version("ingest_matrix"),
    shell:
        "genoflow ingest-matrix --settings {params.settings:q} --out {params.out:q} > {log:q} 2>&1"


# Simulated records (long-range memory benchmark): a FASTA the ingest rule then reads.
rule simulate:
    output:
        "results/{dataset}/simulated.fa",
    log:
        "logs/simulate/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(SIMULATED_DATASETS),
    localrule: True
    conda:
        "../../envs/genoflow.yaml"
    params:
        spec=lambda w: config["datasets"][w.dataset]["simulate"],
        code=code_version("simulate"),
    shell:
        "genoflow simulate --distance {params.spec[distance]:q} --records {params.spec[records]:q}"
        " --seed {params.spec[seed]:q} --out {output:q} > {log:q} 2>&1"
