"""The pure hash chain (kamguard.core.domain.audit_chain): no database, milliseconds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kamguard.core.domain.audit_chain import (
    DIGEST_MISMATCH,
    GENESIS,
    LINK_BROKEN,
    MISSING,
    OUT_OF_ORDER,
    ChainLink,
    event_digest,
    verify_chain,
)

KEY = b"k"
contents = st.lists(st.dictionaries(st.sampled_from(["a", "b", "名"]), st.integers() | st.text(max_size=5),
                                    max_size=3), min_size=2, max_size=12)


def build(items: list[dict]) -> list[ChainLink]:
    links, previous = [], GENESIS
    for i, content in enumerate(items, start=1):
        digest = event_digest(key=KEY, sequence=i, previous_digest=previous, content=content)
        links.append(ChainLink(i, previous, digest, content, row_id=100 + i))
        previous = digest
    return links


@settings(deadline=None)  # timing varies on a loaded machine; correctness does not
@given(contents)
def test_an_untouched_chain_verifies(items):
    assert verify_chain(build(items), key=KEY) == (len(items), None)


@settings(deadline=None)  # timing varies on a loaded machine; correctness does not
@given(contents, st.data())
def test_any_edit_is_found_at_that_event(items, data):
    links = build(items)
    i = data.draw(st.integers(0, len(links) - 1))
    edited = {**links[i].content, "tampered": True}
    links[i] = ChainLink(links[i].sequence, links[i].previous_digest, links[i].digest, edited, links[i].row_id)
    checked, broken = verify_chain(links, key=KEY)
    assert checked == i and broken is not None
    assert (broken.sequence, broken.kind) == (i + 1, DIGEST_MISMATCH)


@settings(deadline=None)  # timing varies on a loaded machine; correctness does not
@given(contents, st.data())
def test_any_deletion_but_the_last_is_found(items, data):
    links = build(items)
    i = data.draw(st.integers(0, len(links) - 2))
    del links[i]
    _, broken = verify_chain(links, key=KEY)
    assert broken is not None and broken.kind == MISSING and broken.sequence == i + 2


@settings(deadline=None)  # timing varies on a loaded machine; correctness does not
@given(contents, st.data())
def test_any_swap_is_found_at_the_first_moved_event(items, data):
    links = build(items)
    i = data.draw(st.integers(0, len(links) - 2))
    j = data.draw(st.integers(i + 1, len(links) - 1))
    a, b = links[i], links[j]
    links[i] = ChainLink(a.sequence, b.previous_digest, b.digest, b.content, b.row_id)
    links[j] = ChainLink(b.sequence, a.previous_digest, a.digest, a.content, a.row_id)
    _, broken = verify_chain(links, key=KEY)
    assert broken is not None and broken.row_id == b.row_id and broken.sequence == i + 1
    assert broken.kind in (LINK_BROKEN, DIGEST_MISMATCH)


def test_duplicate_sequence():
    links = build([{"a": 1}, {"a": 2}])
    _, broken = verify_chain([links[0], links[0], links[1]], key=KEY)
    assert broken is not None and broken.kind == OUT_OF_ORDER


def test_wrong_key_names_the_first_event_and_hints_at_the_key():
    _, broken = verify_chain(build([{"a": 1}, {"a": 2}]), key=b"other")
    assert broken is not None and broken.sequence == 1 and "KAMGUARD_AUDIT_KEY" in broken.reason


def test_streams_without_holding_the_chain():
    """verify_chain takes any iterable, one link at a time: a generator of 20k links is fine."""
    def generate(n: int):  # type: ignore[no-untyped-def]
        previous = GENESIS
        for i in range(1, n + 1):
            content = {"i": i}
            digest = event_digest(key=KEY, sequence=i, previous_digest=previous, content=content)
            yield ChainLink(i, previous, digest, content, i)
            previous = digest

    assert verify_chain(generate(20_000), key=KEY) == (20_000, None)
