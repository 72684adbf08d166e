"""The codes already read of a file (``SeenKeys``): exactly a set's answers in a few bytes a
code, whatever the keys share — a bucket, a prefix, a suffix — and a resumed run's codes."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nightshift.imports import seen as seen_module
from nightshift.imports.loading import REJECT, Loader, Options
from nightshift.imports.registry import get_importer
from nightshift.imports.seen import SeenKeys


@pytest.fixture
def one_bucket(monkeypatch):
    """Every text key in the same bucket, as a million keys in 65,536 buckets often are."""
    monkeypatch.setattr(seen_module, "MASK", 0)


def test_a_key_is_new_once_then_seen():
    seen = SeenKeys()
    assert seen.add("C1") is True
    assert seen.add("C1") is False
    assert "C1" in seen
    assert "C2" not in seen
    assert len(seen) == 1


@pytest.mark.usefixtures("one_bucket")
def test_codes_that_hold_one_another_in_one_bucket_are_told_apart():
    seen = SeenKeys()
    for code in ("C12", "C1", "12", "C123", "", "C1 2", "C"):
        assert seen.add(code) is True, code
    assert [code in seen for code in ("C12", "C1", "12", "", "2", "C1 ", "C12 ")] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert len(seen) == 7


@pytest.mark.usefixtures("one_bucket")
def test_any_text_is_kept_exactly():
    seen = SeenKeys()
    texts = ["São Paulo", "Sao Paulo", "código", "日本", "\ud800", "\x00", "a\nb", "ÿ", "þ"]
    for text in texts:
        assert seen.add(text) is True, text
    assert all(text in seen for text in texts)
    assert "\ud801" not in seen
    assert "S\u0061\u0303o Paulo" not in seen  # the same letters composed otherwise


@pytest.mark.usefixtures("one_bucket")
def test_tuple_keys_are_told_apart_by_their_fields():
    seen = SeenKeys()
    keys = [
        ("S1", "C1"),
        ("S1C1", ""),
        ("", "S1C1"),
        ("S1", None),
        (None, "S1"),
        (None, None),
        ("S1",),
        ("S1", "C1", None),
    ]
    for key in keys:
        assert seen.add(key) is True, key
    assert all(key in seen for key in keys)
    assert seen.add(("S1", "C1")) is False
    assert "S1" not in seen  # a text is not the tuple of that text
    assert ("S1", "") not in seen  # an empty field is not a missing one
    assert ("C1", "S1") not in seen


def test_other_keys_are_equal_as_python_says():
    seen = SeenKeys()
    assert seen.add(1) is True
    assert seen.add(1.0) is False
    assert seen.add(Decimal("1.00")) is False
    assert seen.add("1") is True
    assert seen.add(("S1", 7)) is True
    assert seen.add(("S1", 7.0)) is False
    assert ("S1", "7") not in seen
    assert seen.add(datetime.date(2026, 11, 30)) is True
    assert seen.add(None) is True
    assert None in seen
    assert len(seen) == 5


def test_clear_forgets_every_key():
    seen = SeenKeys()
    for key in ("C1", ("S1", "C1"), 5):
        seen.add(key)
    seen.clear()
    assert len(seen) == 0
    assert seen.add("C1") is True
    assert seen.add(("S1", "C1")) is True
    assert seen.add(5) is True


def test_many_codes_in_each_bucket():
    seen = SeenKeys()
    count = 40 * seen_module.BUCKETS // 10  # four codes a bucket on average
    assert all(seen.add(f"C{n:08d}") for n in range(count))
    assert not any(seen.add(f"C{n:08d}") for n in range(0, count, 997))
    assert f"C{count:08d}" not in seen
    assert len(seen) == count


keys = st.one_of(
    st.text(max_size=4),
    st.tuples(st.one_of(st.none(), st.text(max_size=3)), st.one_of(st.none(), st.text(max_size=3))),
    st.integers(-3, 3),
    st.sampled_from([1.0, 0.0, Decimal(2)]),
)


@given(st.lists(keys, max_size=60), st.sampled_from([0, 1, 3]))
def test_add_answers_as_a_set_does(sequence, mask):
    original = seen_module.MASK
    seen_module.MASK = mask  # a few buckets: most keys share one
    try:
        seen, expected = SeenKeys(), set()
        for key in sequence:
            assert seen.add(key) is (key not in expected), key
            expected.add(key)
        assert len(seen) == len(expected)
    finally:
        seen_module.MASK = original


def test_a_resumed_run_remembers_the_codes_imported_before_its_batch():
    loader = Loader(
        get_importer("contacts"), ["Code", "E-mail"], {"code": 0, "email": 1}, Options()
    )
    # Rows 2-4 were imported before the crash; row 3 was rejected, so its code is not taken.
    loader.remember([(2, ["C1", ""]), (3, ["C2", "not-an-email"]), (4, ["C3", ""])])
    checked = loader.prepare([(5, ["C2", ""]), (6, ["C3", ""]), (7, ["C1", ""])], look_up=False)
    assert [row for row, _values, _key in checked.good] == [5]
    assert [(result.row, result.action) for result in checked.rejected] == [
        (6, REJECT),
        (7, REJECT),
    ]
    assert "“C3” repeats the code of an earlier row of the file" in checked.rejected[0].message


def test_generated_codes_are_remembered_like_given_ones():
    loader = Loader(
        get_importer("contacts"),
        ["Code", "E-mail"],
        {"code": 0, "email": 1},
        Options(),
        code_prefix="IMP-",
    )
    loader.remember([(2, ["", ""])])  # imported before the crash, under a generated code
    checked = loader.prepare([(5, ["IMP-0000002", ""]), (6, ["", ""])], look_up=False)
    assert [(row, key) for row, _values, key in checked.good] == [(6, "IMP-0000006")]
    assert [result.row for result in checked.rejected] == [5]
    assert "IMP-0000006" in loader.seen
