"""What every fault-injection test checks: live rows plus archived rows equal the original
rows, and no row is archived twice."""

from __future__ import annotations

from collections import Counter

from nightshift.archiving import codec
from nightshift.archiving.models import ArchiveChunk


def archived_ids() -> Counter:
    """(model label, id) → how many chunks hold that row."""
    seen: Counter = Counter()
    for pk in ArchiveChunk.objects.values_list("pk", flat=True):
        chunk = ArchiveChunk.objects.get(pk=pk)
        _header, sections = codec.read(codec.decompress(chunk.data, sha256=chunk.sha256))
        for section in sections:
            position = section.fields.index("id")
            seen.update((section.model, row[position]) for row in section.rows)
    return seen


def assert_nothing_lost_nothing_twice(original: dict[type, set[int]]) -> Counter:
    archived = archived_ids()
    twice = [key for key, count in archived.items() if count > 1]
    assert not twice, f"archived more than once: {twice[:10]}"
    for model, ids in original.items():
        label = model._meta.label_lower
        live = set(model._base_manager.filter(pk__in=ids).values_list("pk", flat=True))
        stored = {pk for (m, pk) in archived if m == label}
        assert not live & stored, (
            f"{label}: live and archived at once: {sorted(live & stored)[:10]}"
        )
        assert live | stored == ids, f"{label}: lost {sorted(ids - live - stored)[:10]}"
    return archived


def snapshot_ids(*models) -> dict[type, set[int]]:
    return {model: set(model._base_manager.values_list("pk", flat=True)) for model in models}
