/* genoflow's compiled kernels: the per-byte and per-record loops of ingest and preprocess.
 *
 * Plain C99 with no Python headers, loaded with ctypes by genoflow/kernels.py, which builds
 * it once per machine with the system's C compiler. Every function works on caller-owned
 * buffers (numpy arrays, bytes) and returns counts; nothing here allocates or keeps state.
 * Each kernel computes exactly what the numpy code it replaced computed, byte for byte
 * (tests/test_kernels.py checks them against hashlib and numpy references).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- BLAKE2b (RFC 7693), unkeyed, 8-byte digest: hashlib.blake2b(data, digest_size=8) ---- */

static const uint64_t BLAKE2B_IV[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

static const uint8_t SIGMA[10][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};  /* rounds 10 and 11 take rows 0 and 1 again */

static inline uint64_t rotr64(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

static inline uint64_t load64(const uint8_t *p) {  /* little-endian, on any host */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
#else
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) x = (x << 8) | p[i];
    return x;
#endif
}

#define G(a, b, c, d, x, y)                 \
    do {                                    \
        a = a + b + (x);                    \
        d = rotr64(d ^ a, 32);              \
        c = c + d;                          \
        b = rotr64(b ^ c, 24);              \
        a = a + b + (y);                    \
        d = rotr64(d ^ a, 16);              \
        c = c + d;                          \
        b = rotr64(b ^ c, 63);              \
    } while (0)

static void blake2b_compress(uint64_t h[8], const uint8_t block[128], uint64_t counter, int last) {
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; i++) m[i] = load64(block + 8 * i);
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = BLAKE2B_IV[i];
    }
    v[12] ^= counter;  /* the counter's high word stays 0: inputs are far below 2**64 bytes */
    if (last) v[14] = ~v[14];
/* rounds spelled out, so the message indices are constants and m[] stays in registers */
#define S(r, i) SIGMA[(r) % 10][i]
#define ROUND(r)                                                 \
    do {                                                         \
        G(v[0], v[4], v[8], v[12], m[S(r, 0)], m[S(r, 1)]);      \
        G(v[1], v[5], v[9], v[13], m[S(r, 2)], m[S(r, 3)]);      \
        G(v[2], v[6], v[10], v[14], m[S(r, 4)], m[S(r, 5)]);     \
        G(v[3], v[7], v[11], v[15], m[S(r, 6)], m[S(r, 7)]);     \
        G(v[0], v[5], v[10], v[15], m[S(r, 8)], m[S(r, 9)]);     \
        G(v[1], v[6], v[11], v[12], m[S(r, 10)], m[S(r, 11)]);   \
        G(v[2], v[7], v[8], v[13], m[S(r, 12)], m[S(r, 13)]);    \
        G(v[3], v[4], v[9], v[14], m[S(r, 14)], m[S(r, 15)]);    \
    } while (0)
    ROUND(0);
    ROUND(1);
    ROUND(2);
    ROUND(3);
    ROUND(4);
    ROUND(5);
    ROUND(6);
    ROUND(7);
    ROUND(8);
    ROUND(9);
    ROUND(10);
    ROUND(11);
#undef ROUND
#undef S
    for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

/* The 8-byte digest of data[0:n] as a little-endian integer (the digest's first 8 bytes). */
static uint64_t blake2b64(const uint8_t *data, int64_t n) {
    uint64_t h[8];
    memcpy(h, BLAKE2B_IV, sizeof h);
    h[0] ^= 0x01010000ULL ^ 8;  /* fanout 1, depth 1, no key, digest length 8 */
    uint64_t done = 0;
    while (n > 128) {  /* every block but the last (which may be full) */
        done += 128;
        blake2b_compress(h, data, done, 0);
        data += 128;
        n -= 128;
    }
    uint8_t last[128] = {0};
    memcpy(last, data, (size_t)n);
    blake2b_compress(h, last, done + (uint64_t)n, 1);
    return h[0];
}

/* out[i] = blake2b64(data[starts[i]:ends[i]]) */
void gf_blake2b64(const uint8_t *data, const int64_t *starts, const int64_t *ends, int64_t n,
                  uint64_t *out) {
    for (int64_t i = 0; i < n; i++) out[i] = blake2b64(data + starts[i], ends[i] - starts[i]);
}

/* ---- preprocess: token rows ---- */

/* Row i of the (n x width) `rows` = lut[data[starts[i]:ends[i]]], then zeros (padding).
 * Every range is at most `width` long (the caller trims). */
void gf_encode_rows(const uint8_t *data, const int64_t *starts, const int64_t *ends, int64_t n,
                    const uint8_t *lut, int64_t width, uint8_t *rows) {
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *letter = data + starts[i];
        int64_t length = ends[i] - starts[i];
        uint8_t *row = rows + i * width;
        for (int64_t j = 0; j < length; j++) row[j] = lut[letter[j]];
        memset(row + length, 0, (size_t)(width - length));
    }
}

static const uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL;

static inline uint64_t mix64(uint64_t x) {  /* SplitMix64's finaliser */
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return x;
}

/* The word hash of a row of tokens (zero beyond `length`, up to its width): each 8-byte word
 * keyed by its position and mixed, the words summed, then mixed with the length. `keys[w]` =
 * mix64((w + 1) * GOLDEN); `zeros[w]` = the sum of the mixed all-zero words from w on (a
 * padded row's tail costs nothing). */
static uint64_t row_hash(const uint8_t *row, int64_t length, const uint64_t *keys,
                         const uint64_t *zeros) {
    int64_t full = length / 8, w = 0;
    uint64_t total = 0;
    for (; w < full; w++) total += mix64(load64(row + 8 * w) ^ keys[w]);
    if (length % 8) {
        uint8_t word[8] = {0};
        memcpy(word, row + 8 * w, (size_t)(length % 8));
        total += mix64(load64(word) ^ keys[w]);
        w++;
    }
    total += zeros[w];
    return mix64(total ^ mix64((uint64_t)length + GOLDEN));
}

/* canonical[i] = the smaller word hash of row i of the (n x width) token `rows` and of its
 * reverse complement (`to_token`: a token's complement's token). Work space: `keys` and
 * `zeros` ((width + 7) / 8 + 1 each) and `scratch` (width). */
void gf_canonical(const uint8_t *rows, const int64_t *lengths, int64_t n, int64_t width,
                  const uint8_t *to_token, uint64_t *keys, uint64_t *zeros, uint8_t *scratch,
                  uint64_t *canonical) {
    int64_t words = (width + 7) / 8;
    zeros[words] = 0;
    for (int64_t w = words - 1; w >= 0; w--) {
        keys[w] = mix64((uint64_t)(w + 1) * GOLDEN);
        zeros[w] = zeros[w + 1] + mix64(keys[w]);
    }
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *row = rows + i * width;
        int64_t length = lengths[i];
        for (int64_t j = 0; j < length; j++) scratch[j] = to_token[row[length - 1 - j]];
        uint64_t forward = row_hash(row, length, keys, zeros);
        uint64_t backward = row_hash(scratch, length, keys, zeros);
        canonical[i] = forward < backward ? forward : backward;
    }
}

/* ---- ingest: FASTA lines ---- */

static inline int is_space(uint8_t c) {  /* what bytes.rstrip() strips */
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x0b || c == 0x0c;
}

/* One block of complete FASTA lines (it ends with '\n'). A line starting with '>' is a header
 * (unless it is the first and `mid_line`: the end of a sequence line begun earlier); every
 * other line is sequence, its trailing whitespace dropped.
 *
 * Writes the sequence lines' bytes, joined, to `sequence` (room: n bytes) and returns how
 * many, or -1 if there are more than `room` headers; per header k: its line in the block
 * (0-based), the span of its text (after '>', before '\n') and the sequence bytes written
 * before it. `counts` gets: [0] lines, [1] headers, [2] the first line before the first header
 * that holds sequence (-1 if none). */
int64_t gf_fasta_lines(const uint8_t *data, int64_t n, int mid_line, int64_t room,
                       uint8_t *sequence, int64_t *header_lines, int64_t *header_starts,
                       int64_t *header_ends, int64_t *before_header, int64_t *counts) {
    int64_t written = 0, lines = 0, headers = 0, text_before = -1;
    int64_t start = 0;
    while (start < n) {
        const uint8_t *newline = memchr(data + start, '\n', (size_t)(n - start));
        int64_t end = newline ? newline - data : n;
        if (data[start] == '>' && !(mid_line && lines == 0)) {
            if (headers == room) return -1;
            header_lines[headers] = lines;
            header_starts[headers] = start + 1;
            header_ends[headers] = end;
            before_header[headers] = written;
            headers++;
        } else {
            int64_t stop = end;
            while (stop > start && is_space(data[stop - 1])) stop--;
            if (stop > start) {
                if (!headers && text_before < 0) text_before = lines;
                memcpy(sequence + written, data + start, (size_t)(stop - start));
                written += stop - start;
            }
        }
        lines++;
        start = end + 1;
    }
    counts[0] = lines;
    counts[1] = headers;
    counts[2] = text_before;
    return written;
}

/* What str.strip() takes off a description: ASCII whitespace and the separators 0x1c-0x1f. */
static inline int is_stripped(uint8_t c) { return is_space(c) || (c >= 0x1c && c <= 0x1f); }

/* The header texts data[starts[k]:ends[k]], each followed by '\n', joined into `text`, and
 * each one's id (its text up to the first whitespace), each followed by '\n', into `ids`.
 * Returns 1 if a header needs Python's str.strip() and str.split() instead (empty, non-ASCII,
 * or whitespace at an end; `ids` is then left incomplete), else 0. sizes[0], sizes[1]: the
 * bytes written to `text` and `ids`. */
int gf_headers(const uint8_t *data, const int64_t *starts, const int64_t *ends, int64_t n,
               uint8_t *text, uint8_t *ids, int64_t *sizes) {
    int64_t at = 0, id_at = 0;
    int plain = 1;
    for (int64_t k = 0; k < n; k++) {
        const uint8_t *header = data + starts[k];
        int64_t length = ends[k] - starts[k];
        memcpy(text + at, header, (size_t)length);
        text[at + length] = '\n';
        at += length + 1;
        if (!plain) continue;
        if (!length || is_stripped(header[0]) || is_stripped(header[length - 1])) plain = 0;
        int64_t id_length = 0;
        for (int64_t j = 0; j < length && plain; j++) {
            if (header[j] >= 0x80) plain = 0;
            else if (!id_length && is_stripped(header[j])) id_length = j;
        }
        if (!plain) continue;
        if (!id_length) id_length = length;
        memcpy(ids + id_at, header, (size_t)id_length);
        ids[id_at + id_length] = '\n';
        id_at += id_length + 1;
    }
    sizes[0] = at;
    sizes[1] = id_at;
    return !plain;
}

/* ---- preprocess: the ingest table ---- */

/* The rows of tab-separated `fields` fields in data[0:n] (whole lines, each ending in '\n'):
 * the start of field f of row r goes to starts[f * room + r], the row's '\n' to ends[r].
 * Returns the number of rows; -1 if there are more than `room`; -(2 + r) if row r has
 * another number of fields. */
int64_t gf_tsv_fields(const uint8_t *data, int64_t n, int64_t fields, int64_t room,
                      int64_t *starts, int64_t *ends) {
    int64_t row = 0, at = 0;
    while (at < n) {
        if (row == room) return -1;
        const uint8_t *newline = memchr(data + at, '\n', (size_t)(n - at));
        int64_t end = newline ? newline - data : n, field = 0;
        starts[row] = at;
        for (;;) {  /* memchr for each tab: quick over long sequences */
            const uint8_t *tab = memchr(data + at, '\t', (size_t)(end - at));
            if (!tab) break;
            if (++field == fields) return -(2 + row);
            at = tab - data + 1;
            starts[field * room + row] = at;
        }
        if (field != fields - 1) return -(2 + row);
        ends[row++] = end;
        at = end + 1;
    }
    return row;
}

/* Non-negative integers as decimal text, one after the other, into `out` (room: 20 bytes a
 * value); sizes[i] gets the digits of values[i]. Returns the bytes written. */
int64_t gf_decimal(const int64_t *values, int64_t n, uint8_t *out, int64_t *sizes) {
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        uint8_t digits[20];
        uint64_t value = (uint64_t)values[i];
        int k = 0;
        do {
            digits[k++] = (uint8_t)('0' + value % 10);
            value /= 10;
        } while (value);
        sizes[i] = k;
        while (k) out[at++] = digits[--k];
    }
    return at;
}

/* ---- both: counting and moving bytes ---- */

/* counts[b] = how many bytes of data[0:n] are b (256 counts; four tables, so that runs of
 * one letter do not wait on one counter). */
void gf_byte_counts(const uint8_t *data, int64_t n, int64_t *counts) {
    int64_t part[4][256];
    memset(part, 0, sizeof part);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        part[0][data[i]]++;
        part[1][data[i + 1]]++;
        part[2][data[i + 2]]++;
        part[3][data[i + 3]]++;
    }
    for (; i < n; i++) part[0][data[i]]++;
    for (int b = 0; b < 256; b++) counts[b] = part[0][b] + part[1][b] + part[2][b] + part[3][b];
}


/* dst[dst_starts[i] : + sizes[i]] = src[src_starts[i] : + sizes[i]], for each i */
void gf_copy_ranges(const uint8_t *src, const int64_t *src_starts, uint8_t *dst,
                    const int64_t *dst_starts, const int64_t *sizes, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        memcpy(dst + dst_starts[i], src + src_starts[i], (size_t)sizes[i]);
}
