"""The codes of the rows of a file read so far, in a few bytes each, to report a repeat exactly.

An import rejects a row whose code (its match key) repeats an earlier row's, anywhere earlier
in the file. A ``set`` of a million codes takes about 80 MB (a ``str`` object per code and its
slot in the set's table), a third of a million-row import's memory budget. ``SeenKeys`` keeps
a text code as its UTF-8 bytes in one of 65,536 ``bytes`` buckets, chosen by the bytes' hash,
each code between two ``0xFF`` bytes (which UTF-8 never holds): a code is in its bucket exactly
when ``0xFF code 0xFF`` is, and ``in`` searches for that at C speed. A million codes of nine
characters take 12 MB, at about 1 µs a code instead of 0.3 µs.

It is exact. A tuple of texts and ``None`` (the key of a multi-field match) has bytes of its
own that tell its fields apart; any other key — a number, a date — is kept as it is in a plain
``set``, so that a key is equal to exactly what Python says it equals.
"""

from __future__ import annotations

from collections.abc import Hashable

__all__ = ["SeenKeys"]

BUCKETS = 1 << 16  # a million codes: about 15 a bucket, a search of some 170 bytes
MASK = BUCKETS - 1
# Bytes that never occur in UTF-8: one ends every code in a bucket, three frame a tuple's fields.
END = b"\xff"
TUPLE = b"\xfe"  # starts a tuple's code
NONE = b"\xfd"  # a None field of a tuple
FIELD_END = b"\xfc"  # ends a text field of a tuple


def _encode(key: Hashable) -> bytes | None:
    """The bytes ``key`` is kept as (two keys have the same bytes exactly when they are
    equal), or ``None`` when it is neither a text nor a tuple of texts and ``None``."""
    if isinstance(key, str):
        return key.encode("utf-8", "surrogatepass")  # a lone surrogate is a character too
    if isinstance(key, tuple):
        parts = [TUPLE]
        for value in key:
            if value is None:
                parts.append(NONE)
            elif isinstance(value, str):
                parts.append(value.encode("utf-8", "surrogatepass") + FIELD_END)
            else:
                return None
        return b"".join(parts)
    return None


class SeenKeys:
    """A set of match keys that only grows (until ``clear``), in a few bytes per text key.

    ``add(key)`` says whether the key is new, noting it if so; ``key in seen`` only asks.
    Unlike a ``set``'s, an ``add`` is not atomic: an import checks its batches one after
    another (the read-ahead thread is waited for before the next batch), never two at once.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        # A bucket is None until its first code, then END code END code … END.
        self._buckets: list[bytes | None] = [None] * BUCKETS
        self._others: set[Hashable] = set()  # keys that are not text, as they are

    def __len__(self) -> int:
        codes = sum(bucket.count(END) - 1 for bucket in self._buckets if bucket is not None)
        return codes + len(self._others)

    def __contains__(self, key: Hashable) -> bool:
        code = _encode(key)
        if code is None:
            return key in self._others
        bucket = self._buckets[hash(code) & MASK]
        return bucket is not None and END + code + END in bucket

    def add(self, key: Hashable) -> bool:
        """Note ``key``; whether it was new (``False``: an equal key was added before)."""
        # A text, the usual key, is encoded here: a call less a row.
        code = key.encode("utf-8", "surrogatepass") if key.__class__ is str else _encode(key)
        if code is None:
            if key in self._others:
                return False
            self._others.add(key)
            return True
        at = hash(code) & MASK
        bucket = self._buckets[at]
        tail = code + END
        framed = END + tail
        if bucket is None:
            self._buckets[at] = framed
        elif framed in bucket:
            return False
        else:
            self._buckets[at] = bucket + tail
        return True
