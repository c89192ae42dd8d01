"""Features of the non-neural baselines (genoflow.evaluate.baselines), kept apart so that
scoring new sequences with a baseline (`genoflow predict`) needs neither Lightning nor
scikit-learn."""

from __future__ import annotations

import numpy as np
from scipy import sparse


def _kmer_codes(tokens: np.ndarray, lengths: np.ndarray, letters: int, k: int):
    """(codes, ok): the k-mer starting at each position as an integer, and whether it is whole
    and unambiguous (inside the sequence, no ambiguity code)."""
    tokens = np.asarray(tokens, dtype=np.int64) - 1  # 0..letters-1 for unambiguous letters
    valid = (tokens >= 0) & (tokens < letters) & (np.arange(tokens.shape[1]) < lengths[:, None])
    width = max(tokens.shape[1] - k + 1, 0)
    codes = np.zeros((len(tokens), width), dtype=np.int64)
    ok = np.ones_like(codes, dtype=bool)
    for offset in range(k):
        codes = codes * letters + np.clip(tokens[:, offset : offset + width], 0, letters - 1)
        ok &= valid[:, offset : offset + width]
    return codes, ok


def kmer_features(
    tokens: np.ndarray, lengths: np.ndarray, letters: int, k_max: int, positional: bool = False
):
    """k-mer features for k = 1..k_max, skipping k-mers that hold ambiguity codes.

    positional=False: (records, sum of letters**k) dense k-mer frequencies, position-free.
    positional=True: sparse one-hot of the k-mer at every position (fixed-length data, where
    *where* a k-mer sits matters, e.g. splice sites); k = 1 is the classic position weight model.
    """
    blocks = []
    for k in range(1, k_max + 1):
        codes, ok = _kmer_codes(tokens, lengths, letters, k)
        rows = np.broadcast_to(np.arange(len(codes))[:, None], codes.shape)
        if positional:
            columns = np.arange(codes.shape[1]) * letters**k + codes
            shape = (len(codes), codes.shape[1] * letters**k)
            blocks.append(sparse.csr_matrix((np.ones(ok.sum()), (rows[ok], columns[ok])), shape))
        else:
            counts = np.zeros((len(codes), letters**k), dtype=np.float32)
            np.add.at(counts, (rows[ok], codes[ok]), 1.0)
            blocks.append(counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0))
    return sparse.hstack(blocks, format="csr") if positional else np.concatenate(blocks, axis=1)


def window_features(
    tokens: np.ndarray, lengths: np.ndarray, letters: int, window: int
) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """(features, rows, positions): a feature row per residue of `tokens` (rows in order,
    positions within each length): one-hot of the letter at each offset -window..window, with
    one more column per offset for "beyond the sequence's end"; an ambiguity code is all zeros."""
    tokens = np.asarray(tokens, dtype=np.int64)
    width = tokens.shape[1]
    rows, positions = np.nonzero(np.arange(width) < np.asarray(lengths)[:, None])
    span = letters + 1
    row_parts, column_parts = [], []
    for k, offset in enumerate(range(-window, window + 1)):
        at = positions + offset
        beyond = (at < 0) | (at >= lengths[rows])
        letter = tokens[rows, np.clip(at, 0, width - 1)] - 1
        column = np.where(beyond, letters, letter)
        ok = beyond | ((letter >= 0) & (letter < letters))
        row_parts.append(np.flatnonzero(ok))
        column_parts.append(k * span + column[ok])
    row_index, columns = np.concatenate(row_parts), np.concatenate(column_parts)
    shape = (len(rows), (2 * window + 1) * span)
    features = sparse.csr_matrix((np.ones(len(columns), np.float32), (row_index, columns)), shape)
    return features, rows, positions
