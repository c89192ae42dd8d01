# genoflow: biological sequences -> trained, evaluated and compared sequence models.
# Run: snakemake --cores 2            (the demo in config.yaml)
#      snakemake --cores 2 --configfile mine.yaml
from snakemake.utils import min_version

min_version("9.0")


# The demo config, unless --configfile is given: a user's config then replaces it instead of
# being merged into it, so only the user's datasets and models run.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/tune.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/interpret.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/predict.smk"


rule all:
    input:
        expand("results/{dataset}/summary.tsv", dataset=DATASETS),
        expand("results/{dataset}/network/metrics.json", dataset=NETWORK_DATASETS),
        "results/report/index.html",
        expand("results/predict/{name}.tsv", name=PREDICTIONS),
