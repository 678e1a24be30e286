"""Keyed pseudonyms of identifiers, many at a time, in a pool of worker processes.

The pseudonym is ``analysis.privacy.pseudonymise``: the first 8 bytes of HMAC-SHA256
(Krawczyk, Bellare & Canetti 1997, RFC 2104) of ``<kind>:<normalised id>`` under the round's
key, as ``<prefix>_`` + 16 hex digits.  Here it is computed column by column: the HMAC key
blocks are absorbed once (``_hmac_pads``), each *distinct* identifier of a batch is hashed
once (a child appears in many rows), and large batches are spread over the cores
(hashing is the one CPU-bound step no columnar engine does for us).
"""

from __future__ import annotations

import functools
import hashlib
import signal
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import privacy
from .common import NA_TOKENS
from .parse import _large, _to_text, masked

#: Below this many distinct identifiers in a batch, hashing stays in the main process.
MIN_PARALLEL_IDS = 50_000
#: The canonical pseudonym form (``privacy.PSEUDONYM_RE``) as an RE2 pattern for Arrow.
PSEUDONYM_PATTERN = r"^[a-z]{2}_[0-9a-f]{16}$"
#: Printable ASCII without spaces: ids like this need no Unicode-aware normalisation.
SIMPLE_ID_PATTERN = r"^[!-~]+$"

_PADS: tuple[Any, Any] | None = None


def _hmac_pads(key: bytes) -> tuple[Any, Any]:
    """SHA-256 states after absorbing HMAC's inner and outer key blocks (RFC 2104, s. 2).

    Copying these states and absorbing one message is the same computation as
    ``hmac.new(key, message, sha256)``, without re-deriving the key blocks for every id.
    """
    block = 64
    k = hashlib.sha256(key).digest() if len(key) > block else key
    k = k.ljust(block, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in k)), hashlib.sha256(bytes(b ^ 0x5C for b in k)))


def _init_worker(key: bytes) -> None:
    """Set up a hashing worker. It ignores Ctrl-C: the parent stops the pool, and each worker
    no longer prints its own KeyboardInterrupt traceback (issue 12, case 17)."""
    global _PADS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _PADS = _hmac_pads(key)


def _hmac8(messages: pa.Array | list[bytes], pads: tuple[Any, Any] | None = None,
           head: bytes = b"") -> bytes:
    """The first 8 bytes of HMAC-SHA256 of ``head`` + each message, concatenated.

    ``head`` (``b"case:"``) is absorbed into the inner state once: SHA-256 is a streaming
    hash (FIPS 180-4), so absorbing ``head`` then the message is absorbing their
    concatenation, and no concatenated message need be built."""
    inner, outer = pads if pads is not None else _PADS  # type: ignore[misc]
    if head:
        inner = inner.copy()
        inner.update(head)
    if isinstance(messages, pa.Array):
        messages = messages.cast(pa.large_binary()).to_pylist()
    icopy, ocopy = inner.copy, outer.copy
    out: list[bytes] = []
    add = out.append
    for m in messages:
        h = icopy()
        h.update(m)
        o = ocopy()
        o.update(h.digest())
        add(o.digest()[:8])
    return b"".join(out)


class _Hasher:
    """Keyed hashing of identifiers, in ``workers`` processes when there are many."""

    def __init__(self, key: bytes, workers: int) -> None:
        self.key = key
        self.pads = _hmac_pads(key)
        self.workers = max(1, int(workers))
        self.pool: Any = None

    def submit(self, messages: pa.Array, head: bytes = b"") -> Callable[[], bytes]:
        """Start hashing ``head`` + each message of an Arrow array; the returned function
        waits for the result."""
        if self.workers == 1 or len(messages) < MIN_PARALLEL_IDS:
            done = _hmac8(messages, self.pads, head)
            return lambda: done
        self.start()
        step = -(-len(messages) // self.workers)
        # Each chunk copied into buffers of its own: a slice pickles (and each worker
        # unpickles) the whole array's buffers, every chunk's twice the data for two workers.
        chunks = [pa.concat_arrays([messages.slice(i, step)])
                  for i in range(0, len(messages), step)]
        res = self.pool.map_async(functools.partial(_hmac8, head=head), chunks)
        return lambda: b"".join(res.get())

    def start(self) -> None:
        """Start the worker processes (once).  Called before the first batch is read, the
        workers are forked while the parent is small: a forked worker keeps the parent's
        pages mapped, so forking later counts the batches in memory once more per worker in
        the resident size of the process tree."""
        if self.pool is None and self.workers > 1:
            import multiprocessing as mp

            method = "fork" if "fork" in mp.get_all_start_methods() else None
            self.pool = mp.get_context(method).Pool(self.workers, initializer=_init_worker,
                                                    initargs=(self.key,))

    def close(self, stop: bool = False) -> None:
        """Let the workers finish and end them; with ``stop`` (an error or Ctrl-C), end them
        at once."""
        if self.pool is not None:
            if stop:
                self.pool.terminate()
            else:
                self.pool.close()
            self.pool.join()
            self.pool = None


#: The two hex digits of each byte value, as the ``uint16`` whose memory is those two ASCII
#: characters (so that ``_HEX2[d]`` writes a digest's hex text in one gather).
_HEX2 = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), dtype=np.uint16)


def _pseudonym_strings(digests: bytes, prefix: str) -> pa.Array:
    """``<prefix>_`` + 16 hex digits for each 8-byte digest (vectorised: one gather of the
    digests' bytes from a table of two-digit hex pairs into a fixed-width text buffer,
    handed to Arrow without a copy)."""
    d = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 8)
    n = len(d)
    head = f"{prefix}_".encode()
    width = len(head) + 16
    out = np.empty((n, width), dtype=np.uint8)
    out[:, :len(head)] = np.frombuffer(head, dtype=np.uint8)
    out[:, len(head):] = _HEX2[d].view(np.uint8).reshape(n, 16)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets),
                                            pa.py_buffer(out.reshape(-1)))


#: The inverse of ``_HEX2``: the byte each two-digit hex pair spells, and which pairs are
#: lower-case hex.
_UNHEX2 = np.zeros(65536, dtype=np.uint8)
_UNHEX2[_HEX2] = np.arange(256, dtype=np.uint8)
_IS_HEX2 = np.zeros(65536, dtype=bool)
_IS_HEX2[_HEX2] = True
_IS_LOWER = np.zeros(256, dtype=bool)
_IS_LOWER[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)] = True


def pseudonym_sort_keys(pseudonyms: pa.Array) -> tuple[pa.Array, pa.Array] | None:
    """Two integers per pseudonym that sort as the pseudonym does: the code of its two-letter
    prefix (``uint16``: first letter times 256 plus the second) and its 16 hex digits as one
    ``uint64``; missing where the pseudonym is.  ``None`` when a value is not of the form
    ``xx_`` + 16 lower-case hex digits (``privacy.PSEUDONYM_RE``).

    For strings of that one form, byte order (DuckDB's and Arrow's ``VARCHAR`` order) is the
    order of (prefix, number): the letters come first, then ``_``, and the hex digits
    ``0-9a-f`` are in ASCII order, so comparing them is comparing the number they spell.
    Sorting 10 million rows by two integers instead of a 19-byte string is several times
    faster (``ingest.core._sort_and_write``).
    """
    n = len(pseudonyms)
    s = _large(pseudonyms)
    if not pa.types.is_large_string(s.type):
        return None
    valid = s.is_valid().to_numpy(zero_copy_only=False)
    filled = pc.fill_null(s, "aa_0000000000000000") if s.null_count else s
    bufs = filled.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[filled.offset: filled.offset + n + 1]
    if n and not (np.diff(offsets) == 19).all():
        return None
    if not n:
        return pa.array([], pa.uint16()), pa.array([], pa.uint64())
    mat = np.frombuffer(bufs[2], dtype=np.uint8)[offsets[0]:offsets[-1]].reshape(n, 19)
    pairs = np.ascontiguousarray(mat[:, 3:]).view(np.uint16)  # (n, 8) two-digit pairs
    if not (_IS_LOWER[mat[:, :2]].all() and (mat[:, 2] == ord("_")).all()
            and _IS_HEX2[pairs].all()):
        return None
    number = _UNHEX2[pairs].view(">u8").reshape(n).astype(np.uint64)
    prefix = (mat[:, 0].astype(np.uint16) << 8) | mat[:, 1]
    missing = None if valid.all() else ~valid
    return masked(prefix, pa.uint16(), missing), masked(number, pa.uint64(), missing)


def _all_printable(s: pa.Array) -> bool:
    """True when no value of a (large) string array holds a space, a control character or a
    non-ASCII character: the data buffer's least byte is above a space, its greatest below
    DEL (two vectorised passes, no temporary array)."""
    bufs = s.buffers()
    if bufs[2] is None or not len(s):
        return True
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[s.offset: s.offset + len(s) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    return not len(data) or bool(data.min() > 0x20 and data.max() < 0x7F)


_LONGEST_NA_TOKEN = max(len(t.encode()) for t in NA_TOKENS)


def _any_lower(s: pa.Array) -> bool:
    """True when a value of a (large) string array holds an ASCII lower-case letter (one pass
    over the data buffer; ``ascii_upper`` is then needed)."""
    bufs = s.buffers()
    if bufs[2] is None or not len(s):
        return False
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[s.offset: s.offset + len(s) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    # (a byte minus "a", wrapping below it, is under 26 exactly for "a" to "z")
    return bool(((data - np.uint8(0x61)) < 26).any())


def _pseudonymise_job(arr: pa.Array, key: bytes, kind: str, hasher: _Hasher
                      ) -> Pseudonyms:
    """Start pseudonymising a column of raw ids; the returned function gives the result.

    Equal to ``privacy.pseudonymise_series(_to_text(values), key, kind)`` value by
    value.  Fast path, vectorised in Arrow, for ids of printable ASCII without spaces (for them
    ``_to_text`` and ``normalise_id`` reduce to: NA tokens -> missing, upper case, ``123.0`` ->
    ``123``; values already in pseudonym form are kept); every other value goes through
    ``ingest`` and ``privacy`` themselves.
    """
    n = len(arr)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_integer(arr.type):
        arr = arr.cast(pa.large_string())
    s = _large(arr)
    nulls = pa.nulls(n, pa.large_string())
    enc: pa.Array | None = None
    pending: Callable[[], bytes] | None = None
    kept = nulls
    if pa.types.is_large_string(s.type):
        nonempty = pc.fill_null(pc.greater(pc.binary_length(s), 0), False)
        if _all_printable(s):
            simple = nonempty
        else:
            simple = pc.fill_null(pc.match_substring_regex(s, SIMPLE_ID_PATTERN), False)
        lengths = pc.binary_length(s)
        if pc.any(pc.less_equal(lengths, _LONGEST_NA_TOKEN)).as_py():
            na_token = pc.fill_null(pc.is_in(pc.ascii_lower(s), value_set=pa.array(
                sorted(NA_TOKENS), pa.large_string())), False)
        else:  # no value is short enough to be a token
            na_token = pa.array(np.zeros(n, dtype=bool))
        already = pc.fill_null(pc.equal(pc.binary_length(s), 19), False)
        if pc.any(already).as_py():
            already = pc.fill_null(pc.match_substring_regex(s, PSEUDONYM_PATTERN), False)
        fast = pc.and_(simple, pc.invert(pc.or_(na_token, already)))
        slow = pc.and_(s.is_valid(), pc.invert(simple))
        norm = pc.ascii_upper(s) if _any_lower(s) else s
        dot0 = pc.fill_null(pc.ends_with(norm, ".0"), False)
        if pc.any(dot0).as_py():
            dot0 = pc.fill_null(pc.match_substring_regex(norm, r"^[0-9]+\.0$"), False)
            norm = pc.if_else(dot0, pc.utf8_slice_codeunits(norm, 0, -2), norm)
        n_fast = pc.sum(fast).as_py() or 0
        if n_fast:
            enc = fast if n_fast < n else None
            pending = hasher.submit(norm if enc is None else pc.filter(norm, fast),
                                    f"{kind}:".encode())
        if pc.any(pc.and_(simple, already)).as_py():
            kept = pc.if_else(pc.and_(simple, already), s, nulls)
    else:  # floats, dates...: every value the slow way
        slow = arr.is_valid()

    slow_res = nulls
    if pc.any(slow).as_py():
        src = s if pa.types.is_large_string(s.type) else arr
        senc = pc.dictionary_encode(pc.if_else(slow, src, pa.nulls(n, src.type)))
        text = _to_text(pd.Series(senc.dictionary.to_pylist(), dtype=object))
        pseud = privacy.pseudonymise_series(text, key, kind).where(text.notna(), pd.NA)
        values = pa.array(pseud.astype(object).where(pseud.notna(), None).tolist(),
                          pa.large_string())
        slow_res = pc.take(values, senc.indices)

    def finish() -> tuple[pa.Array, KeysOf | None]:
        if pending is None:
            return pc.coalesce(slow_res, kept), None
        digests = pending()
        prefix = privacy.PREFIX[kind]
        strings = _pseudonym_strings(digests, prefix)
        if enc is None:  # every value took the fast path
            return strings, lambda: _digest_sort_keys(digests, prefix)
        mask = enc.to_numpy(zero_copy_only=False)
        idx = masked(np.cumsum(mask) - 1, pa.int64(), ~mask)
        return pc.coalesce(pc.take(strings, idx), slow_res, kept), None

    return Pseudonyms(finish)


def _digest_sort_keys(digests: bytes, prefix: str) -> tuple[pa.Array, pa.Array]:
    """``pseudonym_sort_keys`` of the pseudonyms ``_pseudonym_strings(digests, prefix)``
    straight from the hash output, without reading their text back: the prefix's code (its
    first letter times 256 plus the second) and each 8-byte digest read as a big-endian
    integer, which is the number its 16 hex digits spell (hex writes the most significant
    digit first)."""
    code = (ord(prefix[0]) << 8) | ord(prefix[1])
    number = np.frombuffer(digests, dtype=">u8").astype(np.uint64)
    return (masked(np.full(len(number), code, dtype=np.uint16), pa.uint16(), None),
            masked(number, pa.uint64(), None))


KeysOf = Callable[[], tuple[pa.Array, pa.Array]]


class Pseudonyms:
    """A column being pseudonymised (``pseudonymise_column``): calling it waits for the
    hashing pool and gives the column of pseudonyms.  After the call, ``sort_keys`` is the
    column's ``pseudonym_sort_keys`` when every value was hashed (taken from the digests,
    ``_digest_sort_keys``: the text need not be read back), else ``None``; computed when
    first asked for (only the sort key column asks).

    ``finish`` gives the column and how to compute its keys (or ``None``); it holds no
    reference to this object, so that no reference cycle keeps a batch's arrays alive until
    the garbage collector runs (one did: 220 MB more peak memory on 10 million rows)."""

    def __init__(self, finish: Callable[[], tuple[pa.Array, KeysOf | None]]) -> None:
        self.finish = finish
        self.keys: KeysOf | None = None

    def __call__(self) -> pa.Array:
        values, self.keys = self.finish()
        return values

    @property
    def sort_keys(self) -> tuple[pa.Array, pa.Array] | None:
        return None if self.keys is None else self.keys()


def pseudonymise_column(arr: pa.Array, key: bytes, kind: str, hasher: _Hasher,
                        distinct: bool = True) -> Pseudonyms:
    """Start pseudonymising a column of raw ids; the returned function gives the result.

    With ``distinct`` each distinct raw value is hashed once and the pseudonyms are spread
    back over the rows by the dictionary's indices (Arrow ``dictionary_encode``): a child who
    appears in many rows is hashed once per batch.  Equal, value by value, to
    ``privacy.pseudonymise_series(_to_text(values), key, kind)``.
    """
    if not distinct or not len(arr):
        return _pseudonymise_job(arr, key, kind, hasher)
    enc = arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)
    job = _pseudonymise_job(enc.dictionary, key, kind, hasher)
    indices = enc.indices

    def finish() -> tuple[pa.Array, KeysOf | None]:
        values = pc.take(job(), indices)
        keys_of = job.keys
        if keys_of is None:
            return values, None

        def keys() -> tuple[pa.Array, pa.Array]:  # missing where a row's id is
            prefix, number = keys_of()
            return pc.take(prefix, indices), pc.take(number, indices)

        return values, keys

    return Pseudonyms(finish)
