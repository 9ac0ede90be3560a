"""The identity graph's merge rules (engine-independent)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpath.identity.resolve import (
    Combo,
    KnownPerson,
    MergeRecord,
    Resolution,
    person_id_for,
    resolve,
)

T0 = datetime(2024, 5, 1, 9, 0)


def combo(*keys: str, minute: int, mid: str | None = None) -> Combo:
    return Combo(tuple(keys), T0 + timedelta(minutes=minute), mid or f"m{minute:04d}")


def persons_of_keys(res: Resolution) -> dict[str, str]:
    return {key: person for key, _, _, person, _ in res.new_identities}


def outcomes(res: Resolution, outcome: str) -> list[MergeRecord]:
    return [r for r in res.log if r.outcome == outcome]


# -- examples ---------------------------------------------------------------------------------

def test_late_identification_makes_one_person() -> None:
    combos = [
        combo("anon:a1", minute=0),
        combo("anon:a1", minute=5, mid="m-page-2"),
        combo("user:u1", "anon:a1", minute=10),
    ]
    res = resolve(combos, {}, {})
    assert len(set(res.person_of_combo)) == 1
    # the person first known by the anonymous id keeps that id
    assert res.person_of_combo[0] == person_id_for("anon:a1")
    keys = persons_of_keys(res)
    assert keys == {"anon:a1": person_id_for("anon:a1"), "user:u1": person_id_for("anon:a1")}
    assert outcomes(res, "refused") == []
    assert [r.outcome for r in res.log] == ["linked"]


def test_new_identity_rows_carry_kind_value_and_first_seen() -> None:
    res = resolve([combo("anon:a1", minute=0), combo("user:u1", "anon:a1", minute=7)], {}, {})
    rows = {key: (kind, value, seen) for key, kind, value, _, seen in res.new_identities}
    assert rows == {
        "anon:a1": ("anon", "a1", T0),
        "user:u1": ("user", "u1", T0 + timedelta(minutes=7)),
    }


def test_email_joins_a_store_purchase_to_the_web_person() -> None:
    combos = [
        combo("anon:web-1", minute=0),  # page views
        combo("user:u1", "email:e1", "anon:web-1", minute=10),  # sign-up
        combo("email:e1", minute=60 * 24),  # the POS row: only an e-mail hash
    ]
    res = resolve(combos, {}, {})
    assert len(set(res.person_of_combo)) == 1


def test_store_purchase_before_the_web_visit_still_joins() -> None:
    combos = [
        combo("email:e1", minute=0),  # bought in a store first
        combo("anon:web-1", minute=30),
        combo("user:u1", "email:e1", "anon:web-1", minute=40),
    ]
    res = resolve(combos, {}, {})
    assert len(set(res.person_of_combo)) == 1
    assert res.person_of_combo[0] == person_id_for("email:e1")  # the oldest person's id


def test_two_user_ids_on_one_device_are_refused_with_the_default_cap() -> None:
    combos = [
        combo("user:u1", "anon:kiosk", minute=0),
        combo("user:u2", "anon:kiosk", minute=5),
        combo("user:u2", "anon:kiosk", minute=9),  # again: refused once, logged once
    ]
    res = resolve(combos, {}, {}, max_user_ids=1)
    first, second, third = res.person_of_combo
    assert first != second
    assert second == third
    keys = persons_of_keys(res)
    assert keys["anon:kiosk"] == first
    assert keys["user:u2"] == second
    refused = outcomes(res, "refused")
    assert len(refused) == 1
    record = refused[0]
    assert {record.kept_person, record.merged_person} == {first, second}
    assert {record.key_a, record.key_b} == {"user:u2", "anon:kiosk"}
    assert record.message_id == "m0005"
    assert record.event_time == T0 + timedelta(minutes=5)
    assert "identity_max_user_ids = 1" in record.reason
    assert outcomes(res, "merged") == []


def test_two_user_ids_on_one_device_join_when_the_cap_allows() -> None:
    combos = [
        combo("user:u1", "anon:kiosk", minute=0),
        combo("user:u2", "anon:kiosk", minute=5),
    ]
    res = resolve(combos, {}, {}, max_user_ids=2)
    assert len(set(res.person_of_combo)) == 1
    assert outcomes(res, "refused") == []


@pytest.mark.parametrize(("cap", "merged"), [(1, False), (2, True), (3, True)])
def test_two_known_persons_merge_only_under_the_cap(cap: int, merged: bool) -> None:
    combos = [
        combo("user:u1", "anon:phone", minute=0),
        combo("user:u2", "anon:laptop", minute=5),
        combo("user:u2", "anon:phone", minute=10),  # links the two persons
    ]
    res = resolve(combos, {}, {}, max_user_ids=cap)
    p1, p2, p3 = res.person_of_combo
    if merged:
        assert p1 == p2 == p3 == person_id_for("user:u1")  # the older person keeps its id
        [record] = outcomes(res, "merged")
        assert (record.kept_person, record.merged_person) == (
            person_id_for("user:u1"), person_id_for("user:u2"))
        assert record.message_id == "m0010"
        assert outcomes(res, "refused") == []
    else:
        assert p1 != p2 and p3 == p2
        assert len(outcomes(res, "refused")) == 1
        assert outcomes(res, "merged") == []


def test_alias_of_a_known_user_id_merges_past_the_cap() -> None:
    combos = [
        combo("user:old-id", "anon:a1", minute=0),
        combo("user:new-id", "anon:a2", minute=5),
        combo("user:new-id", "prev:old-id", minute=10),  # alias(previousId=old-id, userId=new-id)
    ]
    res = resolve(combos, {}, {}, max_user_ids=1)
    assert len(set(res.person_of_combo)) == 1
    [record] = outcomes(res, "merged")
    assert record.reason.startswith("alias of user:old-id")
    assert record.kept_person == person_id_for("user:old-id")
    person = res.person_of_combo[0]
    users = {k for k, p in persons_of_keys(res).items() if p == person and k.startswith("user:")}
    assert users == {"user:old-id", "user:new-id"}
    assert outcomes(res, "refused") == []


def test_alias_of_an_unknown_previous_id_is_an_anonymous_id() -> None:
    res = resolve([combo("user:u1", "prev:device-7", minute=0)], {}, {})
    keys = persons_of_keys(res)
    assert keys == {"user:u1": person_id_for("user:u1"), "anon:device-7": person_id_for("user:u1")}
    # ... which later anonymous events of that device find
    res = resolve(
        [combo("user:u1", "prev:device-7", minute=0), combo("anon:device-7", minute=3)], {}, {}
    )
    assert len(set(res.person_of_combo)) == 1


def test_the_older_known_person_keeps_its_id_and_the_other_is_remapped() -> None:
    known_keys = {"anon:a1": "p_old", "user:u1": "p_new"}
    known = {
        "p_old": KnownPerson(T0 - timedelta(days=3), frozenset()),
        "p_new": KnownPerson(T0 - timedelta(days=1), frozenset({"user:u1"})),
    }
    res = resolve([combo("user:u1", "anon:a1", minute=0)], known_keys, known)
    assert res.person_of_combo == ["p_old"]
    assert res.remap == {"p_new": "p_old"}
    assert res.new_identities == []
    [record] = outcomes(res, "merged")
    assert (record.kept_person, record.merged_person) == ("p_old", "p_new")


def test_first_seen_decides_not_the_key_kind() -> None:
    known_keys = {"anon:a1": "p_anon", "user:u1": "p_user"}
    known = {
        "p_anon": KnownPerson(T0 - timedelta(days=1), frozenset()),
        "p_user": KnownPerson(T0 - timedelta(days=9), frozenset({"user:u1"})),
    }
    res = resolve([combo("anon:a1", "user:u1", minute=0)], known_keys, known)
    assert res.person_of_combo == ["p_user"]
    assert res.remap == {"p_anon": "p_user"}


def test_ties_on_first_seen_are_broken_by_person_id() -> None:
    known_keys = {"anon:a1": "p_b", "user:u1": "p_a"}
    known = {"p_b": KnownPerson(T0, frozenset()), "p_a": KnownPerson(T0, frozenset({"user:u1"}))}
    res = resolve([combo("user:u1", "anon:a1", minute=1)], known_keys, known)
    assert res.remap == {"p_b": "p_a"}


def test_known_user_ids_count_towards_the_cap() -> None:
    known_keys = {"anon:kiosk": "p_kiosk"}
    known = {"p_kiosk": KnownPerson(T0 - timedelta(days=1), frozenset({"user:u1"}))}
    res = resolve([combo("user:u2", "anon:kiosk", minute=0)], known_keys, known, max_user_ids=1)
    assert res.person_of_combo == [person_id_for("user:u2")]
    assert len(outcomes(res, "refused")) == 1
    assert res.remap == {}
    res = resolve([combo("user:u2", "anon:kiosk", minute=0)], known_keys, known, max_user_ids=2)
    assert res.person_of_combo == ["p_kiosk"]


def test_known_alias_merges_known_persons_past_the_cap() -> None:
    known_keys = {"user:old": "p_1", "user:new": "p_2"}
    known = {"p_1": KnownPerson(T0 - timedelta(days=5), frozenset({"user:old"})),
             "p_2": KnownPerson(T0 - timedelta(days=2), frozenset({"user:new"}))}
    res = resolve([combo("user:new", "prev:old", minute=0)], known_keys, known, max_user_ids=1)
    assert res.person_of_combo == ["p_1"]
    assert res.remap == {"p_2": "p_1"}


@pytest.mark.parametrize(
    "keys", [("user:new-id", "prev:old-id"), ("prev:old-id", "user:new-id")]
)
def test_alias_merges_whatever_the_order_of_keys_in_the_combo(keys: tuple[str, ...]) -> None:
    # Combo.keys is a set of keys seen together; its order must not decide whether an alias
    # is honoured.
    combos = [
        combo("user:old-id", minute=0),
        combo("user:new-id", minute=5),
        combo(*keys, minute=10),
    ]
    res = resolve(combos, {}, {}, max_user_ids=1)
    assert len(set(res.person_of_combo)) == 1
    assert outcomes(res, "refused") == []


def test_result_does_not_depend_on_the_order_of_combos() -> None:
    combos = [
        combo("anon:a1", minute=0),
        combo("user:u1", "anon:a1", minute=10),
        combo("user:u2", "anon:a1", minute=20),
        combo("email:e1", "anon:a2", minute=15),
        combo("user:u1", "email:e1", minute=30),
        combo("user:u3", "prev:u2", minute=40),
    ]
    expected = resolve(combos, {}, {})
    for shift in range(1, len(combos)):
        rotated = combos[shift:] + combos[:shift]
        res = resolve(rotated, {}, {})
        by_mid = {c.message_id: p for c, p in zip(rotated, res.person_of_combo, strict=True)}
        assert [by_mid[c.message_id] for c in combos] == expected.person_of_combo
        assert res.log == expected.log
        assert res.new_identities == expected.new_identities


# -- properties -------------------------------------------------------------------------------

POOLS = {
    "user": [f"u{i}" for i in range(4)],
    "email": [f"e{i}" for i in range(3)],
    "phone": [f"f{i}" for i in range(2)],
    "anon": [f"a{i}" for i in range(5)],
}


def combo_keys(with_prev: bool) -> st.SearchStrategy[tuple[str, ...]]:
    """The keys of one message: at most one per kind, as the store builds them."""
    optional = {kind: st.sampled_from(values).map(lambda v, k=kind: f"{k}:{v}")
                for kind, values in POOLS.items()}
    if with_prev:
        optional["prev"] = st.sampled_from(POOLS["user"] + POOLS["anon"]).map(
            lambda v: f"prev:{v}")
    return st.fixed_dictionaries({}, optional=optional).filter(bool).flatmap(
        lambda d: st.permutations(list(d.values())).map(tuple))


def combo_lists(with_prev: bool) -> st.SearchStrategy[list[Combo]]:
    return st.lists(
        st.tuples(combo_keys(with_prev), st.integers(min_value=0, max_value=30)),
        min_size=1, max_size=25,
    ).map(lambda items: [
        Combo(keys, T0 + timedelta(minutes=minute), f"m{i:03d}")
        for i, (keys, minute) in enumerate(items)
    ])


def _roots(res: Resolution) -> dict[str, str]:
    parent: dict[str, str] = {}
    for record in res.log:
        if record.outcome == "merged":
            parent[record.merged_person] = record.kept_person

    def find(person: str) -> str:
        seen = set()
        while person in parent:
            assert person not in seen, "merge log has a cycle"
            seen.add(person)
            person = parent[person]
        return person

    people = {p for r in res.log for p in (r.kept_person, r.merged_person)}
    return {p: find(p) for p in people}


@settings(max_examples=400, deadline=None)
@given(combos=combo_lists(with_prev=True), cap=st.integers(min_value=1, max_value=3))
def test_merge_rules_hold_for_random_combos(combos: list[Combo], cap: int) -> None:
    res = resolve(combos, {}, {}, max_user_ids=cap)
    roots = _roots(res)

    def root(person: str) -> str:
        return roots.get(person, person)

    key_person = persons_of_keys(res)
    assert len(key_person) == len(res.new_identities)  # each key created once
    final_persons = set(key_person.values())
    # final persons were never merged away
    assert all(root(p) == p for p in final_persons)

    # (a) every combo gets a person, one of its own keys' persons
    assert len(res.person_of_combo) == len(combos)
    for c, person in zip(combos, res.person_of_combo, strict=True):
        assert person.startswith("p_")
        candidates = set()
        for key in c.keys:
            if key.startswith("prev:"):
                value = key[5:]
                candidates |= {key_person.get(f"user:{value}"), key_person.get(f"anon:{value}")}
            else:
                assert key in key_person
                candidates.add(key_person[key])
        assert person in candidates

    # (b) no person holds more user ids than the cap, unless an alias forced it
    users: dict[str, set[str]] = defaultdict(set)
    for key, person in key_person.items():
        if key.startswith("user:"):
            users[person].add(key)
    aliased = {key_person[f"user:{k[5:]}"] for c in combos for k in c.keys
               if k.startswith("prev:") and f"user:{k[5:]}" in key_person}
    for person, held in users.items():
        if len(held) > cap:
            assert person in aliased, (person, held)

    # (c) keys seen together end in the message's person, unless a refusal between that person
    # and the key's person was logged
    refused = {frozenset({root(r.kept_person), root(r.merged_person)})
               for r in res.log if r.outcome == "refused"}
    for c, person in zip(combos, res.person_of_combo, strict=True):
        for key in c.keys:
            if key.startswith("prev:"):
                continue
            other = key_person[key]
            if other != person:
                assert frozenset({person, other}) in refused, (c, key)
    if not refused:
        # nothing refused: every message's keys are in one person
        for c, person in zip(combos, res.person_of_combo, strict=True):
            assert {key_person[k] for k in c.keys if not k.startswith("prev:")} <= {person}


@settings(max_examples=200, deadline=None)
@given(combos=combo_lists(with_prev=False), cap=st.integers(min_value=1, max_value=3))
def test_without_aliases_the_cap_is_never_exceeded(combos: list[Combo], cap: int) -> None:
    res = resolve(combos, {}, {}, max_user_ids=cap)
    users: dict[str, set[str]] = defaultdict(set)
    for key, person in persons_of_keys(res).items():
        if key.startswith("user:"):
            users[person].add(key)
    assert all(len(held) <= cap for held in users.values())


@settings(max_examples=200, deadline=None)
@given(combos=combo_lists(with_prev=False))
def test_without_a_binding_cap_persons_are_connected_components(combos: list[Combo]) -> None:
    res = resolve(combos, {}, {}, max_user_ids=10_000)
    assert not outcomes(res, "refused")
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.get(key, key) != key:
            key = parent[key]
        return key

    for c in combos:
        for key in c.keys[1:]:
            parent[find(key)] = find(c.keys[0])
    key_person = persons_of_keys(res)
    components: dict[str, set[str]] = defaultdict(set)
    persons: dict[str, set[str]] = defaultdict(set)
    for key, person in key_person.items():
        components[find(key)].add(key)
        persons[person].add(key)
    assert sorted(map(sorted, components.values())) == sorted(map(sorted, persons.values()))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), combos=combo_lists(with_prev=True), cap=st.integers(1, 3))
def test_resolution_is_independent_of_input_order(
    data: st.DataObject, combos: list[Combo], cap: int
) -> None:
    expected = resolve(combos, {}, {}, max_user_ids=cap)
    shuffled = data.draw(st.permutations(combos))
    res = resolve(shuffled, {}, {}, max_user_ids=cap)
    by_mid = {c.message_id: p for c, p in zip(shuffled, res.person_of_combo, strict=True)}
    assert [by_mid[c.message_id] for c in combos] == expected.person_of_combo
    assert res.log == expected.log
    assert res.new_identities == expected.new_identities
    assert res.remap == expected.remap
