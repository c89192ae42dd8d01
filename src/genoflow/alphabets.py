"""Alphabets: which letters a sequence may hold, their uint8 tokens and their one-hot rows.

Token 0 is padding. Ambiguity codes get tokens of their own and a *soft* one-hot row (R = half
A, half G; N = a quarter each), so nothing is lost at ingest and the model sees the uncertainty.
One-hot rows are never stored: models turn tokens into rows on the device (`onehot_table`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAD = 0


@dataclass(frozen=True)
class Alphabet:
    name: str
    letters: str  # the unambiguous letters, in one-hot column order
    ambiguous: dict[str, str]  # ambiguity code -> the letters it stands for

    @property
    def tokens(self) -> str:
        """All accepted letters in token order (token = index + 1)."""
        return self.letters + "".join(self.ambiguous)

    @property
    def vocab_size(self) -> int:
        return len(self.tokens) + 1

    @property
    def channels(self) -> int:
        return len(self.letters)

    def encode_table(self) -> np.ndarray:
        """256-entry lookup: byte -> token, 255 for bytes outside the alphabet.

        Lower case maps like upper case (soft-masked repeats are still sequence).
        """
        table = np.full(256, 255, dtype=np.uint8)
        for token, letter in enumerate(self.tokens, start=1):
            table[ord(letter)] = token
            table[ord(letter.lower())] = token
        return table

    def onehot_table(self) -> np.ndarray:
        """(vocab_size, channels) float32: row t is the one-hot (or soft) encoding of token t."""
        table = np.zeros((self.vocab_size, self.channels), dtype=np.float32)
        for token, letter in enumerate(self.tokens, start=1):
            members = self.ambiguous.get(letter, letter)
            for member in members:
                table[token, self.letters.index(member)] = 1.0 / len(members)
        return table

    def complement_tokens(self) -> bytes:
        """A DNA or RNA alphabet's token -> the token of its letter's complement, as a
        bytes.translate table (0, padding, stays 0): reverse complements of token rows, for the
        leakage check's canonical hashes and for the models' second strand."""
        to_tokens = self.encode_table()
        tokens = bytearray(256)
        for letter in self.tokens.encode():
            partner = bytes([letter]).translate(COMPLEMENT[self.name])[0]
            tokens[to_tokens[letter]] = to_tokens[partner]
        return bytes(tokens)

    def decode(self, tokens: np.ndarray) -> str:
        chars = np.frombuffer(b"-" + self.tokens.encode(), dtype=np.uint8)
        return chars[tokens].tobytes().decode()


_NUCLEOTIDE_CODES = {
    "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}  # fmt: skip


def _rna_codes() -> dict[str, str]:
    return {code: members.replace("T", "U") for code, members in _NUCLEOTIDE_CODES.items()}


ALPHABETS: dict[str, Alphabet] = {
    "dna": Alphabet("dna", "ACGT", _NUCLEOTIDE_CODES),
    "rna": Alphabet("rna", "ACGU", _rna_codes()),
    # X: any residue; B: D or N; Z: E or Q; J: I or L; U (selenocysteine) and O (pyrrolysine)
    # are read as their closest standard residues.
    "protein": Alphabet(
        "protein",
        "ACDEFGHIKLMNPQRSTVWY",
        {"X": "ACDEFGHIKLMNPQRSTVWY", "B": "DN", "Z": "EQ", "J": "IL", "U": "C", "O": "K"},
    ),
}

# Complement of every nucleotide letter (ambiguity codes included), per nucleic-acid alphabet.
COMPLEMENT = {
    "dna": bytes.maketrans(b"ACGTNRYSWKMBDHV", b"TGCANYRSWMKVHDB"),
    "rna": bytes.maketrans(b"ACGUNRYSWKMBDHV", b"UGCANYRSWMKVHDB"),
}


def reverse_complement(sequence: bytes, alphabet: str) -> bytes:
    """Reverse complement of an upper-case DNA or RNA sequence."""
    return sequence.translate(COMPLEMENT[alphabet])[::-1]


def get_alphabet(name: str) -> Alphabet:
    try:
        return ALPHABETS[name]
    except KeyError:
        raise ValueError(f"unknown alphabet {name!r}; choose one of {sorted(ALPHABETS)}") from None
