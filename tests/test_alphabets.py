"""Alphabets: uint8 tokens, (soft) one-hot rows, lookup tables and decoding."""

from __future__ import annotations

import numpy as np
import pytest

from genoflow.alphabets import ALPHABETS, COMPLEMENT, PAD, get_alphabet, reverse_complement

ALL = sorted(ALPHABETS)


def encode(alphabet, text: str) -> np.ndarray:
    return alphabet.encode_table()[np.frombuffer(text.encode(), dtype=np.uint8)]


@pytest.mark.parametrize("name", ALL)
def test_onehot_rows_sum_to_one_except_padding(name):
    """Every real token's one-hot (or soft) row sums to 1; the padding row is all zeros."""
    alphabet = get_alphabet(name)
    table = alphabet.onehot_table()
    assert table.shape == (alphabet.vocab_size, alphabet.channels)
    assert table.dtype == np.float32
    assert np.all(table[PAD] == 0)
    np.testing.assert_allclose(table[1:].sum(axis=1), 1.0, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_unambiguous_letters_are_hard_one_hot_in_column_order(name):
    """Letter i of `letters` is token i+1 and its row is the unit vector e_i."""
    alphabet = get_alphabet(name)
    table = alphabet.onehot_table()
    tokens = encode(alphabet, alphabet.letters)
    np.testing.assert_array_equal(tokens, np.arange(1, alphabet.channels + 1))
    np.testing.assert_array_equal(table[tokens], np.eye(alphabet.channels, dtype=np.float32))


@pytest.mark.parametrize(
    ("name", "code", "expected"),
    [
        ("dna", "R", {"A": 0.5, "G": 0.5}),
        ("dna", "Y", {"C": 0.5, "T": 0.5}),
        ("dna", "D", {"A": 1 / 3, "G": 1 / 3, "T": 1 / 3}),
        ("dna", "N", {"A": 0.25, "C": 0.25, "G": 0.25, "T": 0.25}),
        ("rna", "R", {"A": 0.5, "G": 0.5}),
        ("rna", "Y", {"C": 0.5, "U": 0.5}),
        ("rna", "N", {"A": 0.25, "C": 0.25, "G": 0.25, "U": 0.25}),
        ("protein", "B", {"D": 0.5, "N": 0.5}),
        ("protein", "Z", {"E": 0.5, "Q": 0.5}),
        ("protein", "X", {letter: 1 / 20 for letter in "ACDEFGHIKLMNPQRSTVWY"}),
    ],
)
def test_ambiguity_codes_have_soft_rows(name, code, expected):
    """An ambiguity code spreads its weight evenly over the letters it stands for."""
    alphabet = get_alphabet(name)
    row = alphabet.onehot_table()[encode(alphabet, code)[0]]
    want = np.zeros(alphabet.channels, dtype=np.float32)
    for letter, weight in expected.items():
        want[alphabet.letters.index(letter)] = weight
    np.testing.assert_allclose(row, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_encode_table_lowercase_equals_uppercase(name):
    """Soft-masked (lower-case) letters get the same token as their upper-case form."""
    alphabet = get_alphabet(name)
    table = alphabet.encode_table()
    assert table.dtype == np.uint8 and table.shape == (256,)
    for letter in alphabet.tokens:
        assert table[ord(letter.lower())] == table[ord(letter)] != 255


@pytest.mark.parametrize("name", ALL)
def test_bytes_outside_the_alphabet_encode_to_255(name):
    """Every byte that is not a letter or ambiguity code (either case) maps to 255."""
    alphabet = get_alphabet(name)
    table = alphabet.encode_table()
    accepted = {ord(c) for c in alphabet.tokens + alphabet.tokens.lower()}
    outside = [b for b in range(256) if b not in accepted]
    assert outside  # e.g. '-', '*', digits, NUL, non-ASCII
    assert np.all(table[outside] == 255)
    assert np.all(table[sorted(accepted)] < alphabet.vocab_size)
    assert PAD not in table  # no byte encodes to the padding token


def test_dna_rejects_gap_stop_digit_and_u():
    """'-', '*', '7' and 'U' are not DNA; 'T' is not RNA."""
    dna, rna = get_alphabet("dna"), get_alphabet("rna")
    assert list(encode(dna, "-*7U")) == [255, 255, 255, 255]
    assert encode(rna, "T")[0] == 255


@pytest.mark.parametrize("name", ALL)
def test_decode_round_trip(name):
    """decode(encode(s)) gives s in upper case, for every accepted letter; padding shows as '-'."""
    alphabet = get_alphabet(name)
    text = alphabet.tokens + alphabet.tokens.lower()
    tokens = encode(alphabet, text)
    assert alphabet.decode(tokens) == text.upper()
    padded = np.concatenate([tokens, np.zeros(3, dtype=np.uint8)])
    assert alphabet.decode(padded) == text.upper() + "---"


@pytest.mark.parametrize("name", ALL)
def test_vocab_size_and_channels(name):
    """vocab_size counts padding + letters + codes; channels counts unambiguous letters."""
    alphabet = get_alphabet(name)
    assert alphabet.vocab_size == 1 + len(alphabet.letters) + len(alphabet.ambiguous)
    assert alphabet.channels == len(alphabet.letters)
    assert len(set(alphabet.tokens)) == len(alphabet.tokens)  # no letter listed twice


def test_known_sizes():
    """The three shipped alphabets have the sizes models and meta.json rely on."""
    assert (ALPHABETS["dna"].vocab_size, ALPHABETS["dna"].channels) == (16, 4)
    assert (ALPHABETS["rna"].vocab_size, ALPHABETS["rna"].channels) == (16, 4)
    assert (ALPHABETS["protein"].vocab_size, ALPHABETS["protein"].channels) == (27, 20)


@pytest.mark.parametrize("name", ["dna", "rna"])
def test_complement_matches_code_members(name):
    """The complement of an ambiguity code stands for the complements of its members."""
    alphabet = get_alphabet(name)
    a, c, g, t = alphabet.letters
    pair = {a: t, c: g, g: c, t: a}
    table = COMPLEMENT[name]
    for code, members in alphabet.ambiguous.items():
        complemented = code.encode().translate(table).decode()
        assert set(alphabet.ambiguous[complemented]) == {pair[m] for m in members}, code
    everything = alphabet.tokens.encode()
    assert everything.translate(table).translate(table) == everything
    assert reverse_complement(f"AC{t}".encode(), name) == f"AG{t}".encode()


def test_unknown_alphabet_names_the_choices():
    """A typo in the alphabet name lists the valid names."""
    with pytest.raises(ValueError, match=r"unknown alphabet 'DNA'.*\['dna', 'protein', 'rna'\]"):
        get_alphabet("DNA")
