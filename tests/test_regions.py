"""Genomic regions: BED intervals cut from an indexed reference, checked line by line."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from genoflow.alphabets import reverse_complement
from genoflow.errors import InputError
from genoflow.formats.arrays import read_ids
from genoflow.io.fasta import read_fasta
from genoflow.io.ingest import ingest
from genoflow.io.regions import FaiEntry, Reference, build_fai, region_records
from genoflow.io.sources import RegionInput
from genoflow.preprocess.sequences import preprocess

DATA = Path(__file__).parent / "data"
MGEN, PHIX = DATA / "Mycoplasma_genitalium.fna", DATA / "phix.fa"
MGEN_ID = "NC_000908.2"


def genome(path: Path) -> dict[str, str]:
    return {r.id: r.sequence.decode().upper() for r in read_fasta(path)}


def test_index_of_a_wrapped_crlf_file_matches_samtools_layout():
    """phiX: 5,386 bp in lines of 60 bases + CRLF, after a header line."""
    header = PHIX.read_bytes().split(b"\n", 1)[0] + b"\n"
    assert build_fai(PHIX) == {"1": FaiEntry(5386, len(header), 60, 62)}


@pytest.mark.parametrize("path", [MGEN, PHIX], ids=["one_line", "wrapped_crlf"])
def test_fetch_returns_the_genomes_own_bases(path):
    sequences, reference = genome(path), Reference(path)
    rng = random.Random(0)
    for name, sequence in sequences.items():
        spans = [(0, 1), (0, len(sequence)), (len(sequence) - 7, len(sequence)), (59, 61)]
        spans += [sorted(rng.sample(range(len(sequence) + 1), 2)) for _ in range(50)]
        for start, end in spans:
            if start < end:
                assert reference.fetch(name, start, end).decode() == sequence[start:end]
    reference.close()


def test_a_samtools_index_next_to_the_reference_is_used(tmp_path):
    copy = tmp_path / "phix.fa"
    copy.write_bytes(PHIX.read_bytes())
    header = len(PHIX.read_bytes().split(b"\n", 1)[0]) + 1
    (tmp_path / "phix.fa.fai").write_text(f"1\t5386\t{header}\t60\t62\n")
    reference = Reference(copy)
    assert reference.index == {"1": FaiEntry(5386, header, 60, 62)}
    assert reference.fetch("1", 100, 130).decode() == genome(PHIX)["1"][100:130]


def test_regions_are_cut_reverse_complemented_and_resized(tmp_path):
    bed = tmp_path / "r.bed"
    bed.write_text(
        "# regions of M. genitalium\n"
        f"{MGEN_ID}\t1000\t1100\tfirst\t0\t+\tbound\n"
        f"{MGEN_ID}\t2000\t2050\t.\t0\t-\tunbound\n"
        f"{MGEN_ID}\t579000\t580076\n"
    )
    sequence = genome(MGEN)[MGEN_ID]
    reference = Reference(MGEN)
    plain = [(r.id, r.sequence.decode()) for r, _ in region_records(bed, reference)]
    assert plain == [
        ("first", sequence[1000:1100]),
        (
            f"{MGEN_ID}:2001-2050(-)",
            reverse_complement(sequence[2000:2050].encode(), "dna").decode(),
        ),
        (f"{MGEN_ID}:579001-580076(.)", sequence[579000:580076]),
    ]
    bed.write_text(f"{MGEN_ID}\t1000\t1100\tfirst\t0\t+\tbound\n")
    [(record, region)] = region_records(bed, reference, resize=40, label_column=7)
    assert record.sequence.decode() == sequence[1030:1070] and region.label == "bound"
    reference.close()


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (f"{MGEN_ID}\t580000\t580077", "end 580077 is beyond the end of NC_000908.2 (580076 bp)"),
        ("chrX\t10\t20", "unknown chromosome 'chrX'; the reference has NC_000908.2"),
        (f"{MGEN_ID}\t20\t20", "start 20 must be >= 0 and below end 20"),
        (f"{MGEN_ID}\t20", "2 tab-separated field(s); BED needs chrom, start, end"),
        (f"{MGEN_ID}\tten\t20", "start 'ten' and end '20' must be integers"),
        (f"{MGEN_ID}\t10\t20\tn\t0\t*", "strand '*' is not one of"),
        (f"{MGEN_ID}\t10\t20\tn\t0\t+", "no label in column 7"),
        (f"{MGEN_ID}\t5\t30\tn\t0\t+\tx", "resized to 40 bp around its centre, the region"),
    ],
)
def test_broken_bed_lines_are_errors_naming_file_and_line(tmp_path, line, problem):
    bed = tmp_path / "bad.bed"
    bed.write_text(f"{MGEN_ID}\t100\t200\tok\t0\t+\tx\n{line}\n")
    reference = Reference(MGEN)
    with pytest.raises(InputError, match="bad.bed:2: ") as error:
        list(region_records(bed, reference, resize=40, label_column=7))
    assert problem in str(error.value)
    reference.close()


def test_bed_regions_ingest_with_labels_and_a_split_by_chromosome(tmp_path):
    """Three chromosomes (pieces of M. genitalium, wrapped at 60): regions on chr3 are the
    test split, on chr2 validation, on chr1 training; labels from BED column 7."""
    sequence = genome(MGEN)[MGEN_ID]
    chromosomes = {f"chr{i}": sequence[i * 100_000 : (i + 1) * 100_000] for i in (1, 2, 3)}
    reference = tmp_path / "genome.fa"
    reference.write_text(
        "".join(
            f">{name} piece\n" + "".join(s[k : k + 60] + "\n" for k in range(0, len(s), 60))
            for name, s in chromosomes.items()
        )
    )
    rng = random.Random(3)
    lines = []
    for name in chromosomes:
        for i in range(30):
            start = rng.randrange(0, 99_000)
            label = "pos" if i % 2 else "neg"
            lines.append(
                f"{name}\t{start}\t{start + 300}\t{name}_{i}\t0\t{'+-'[i % 3 == 0]}\t{label}"
            )
    bed = tmp_path / "regions.bed"
    bed.write_text("\n".join(lines) + "\n")
    split = {"chr3": "test", "chr2": "val"}
    source = RegionInput(bed, reference, resize=200, label_column=7, chromosome_split=split)
    summary = ingest([source], tmp_path / "ingest", alphabet="dna")
    assert summary["records"] == 90 and summary["classes"] == {"neg": 45, "pos": 45}
    assert summary["inputs"][0]["reference"] == str(reference)
    meta = preprocess(tmp_path / "ingest", tmp_path / "pre", split="given")
    assert meta["split_sizes"] == {s: {"neg": 15, "pos": 15} for s in ("train", "val", "test")}
    records = (tmp_path / "pre" / "records.tsv").read_text().splitlines()[1:]
    for line in records:
        _, record_id, _, split_name, length = line.split("\t")
        assert split_name == {"chr3": "test", "chr2": "val"}.get(record_id.split("_")[0], "train")
        assert length == "200"
    assert read_ids(tmp_path / "pre")[0] == "chr1_0"
