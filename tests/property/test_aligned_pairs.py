"""Eq. 25 in the aligned map: which of tonight's points ``AlignedMap._pairs`` relates to
last night's slice.

A key present last night is related to its position there when its schema is unchanged
(w = w_same: always), and when its schema changed (w = w_other) only if its ``keep`` draw
is below w_other / w_same, so that the expected pull is lambda_align * w_other; keys new
tonight are never related.

The previous night is set by writing ``_keys`` and ``_groups`` directly, the only state
``_pairs`` reads: ``add`` would run a full layout per example and (in the committed code)
makes a night join the chain only from ``MIN_UMAP_POINTS`` points on, so it could not set
the small, arbitrary previous nights drawn here. ``test_add_leaves_the_state_the_pairs_read``
checks that ``add`` leaves exactly that state.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from janus_sim.core.aligned_map import MIN_UMAP_POINTS, AlignedMap, MapSettings

KEYS = [f"{kind}:{i}" for kind in ("schema", "transition") for i in range(6)]
GROUPS = ["", "s1", "s2", "s3"]


def _map(weight_same: float, weight_other: float) -> AlignedMap:
    return AlignedMap(
        MapSettings(
            n_neighbors=5,
            min_dist=0.1,
            n_epochs=5,
            lambda_align=0.1,
            weight_same=weight_same,
            weight_other=weight_other,
        )
    )


@st.composite
def _night(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """Unique keys in any order, each with a schema."""
    keys = list(draw(st.permutations(KEYS)))[: draw(st.integers(0, len(KEYS)))]
    return keys, [draw(st.sampled_from(GROUPS)) for _ in keys]


@st.composite
def _weights(draw: st.DrawFn) -> tuple[float, float]:
    """(w_same, w_other) with 0 <= w_other <= w_same, the two ends often."""
    same = draw(st.floats(0.05, 2.0))
    other = draw(
        st.one_of(st.just(0.0), st.just(same), st.floats(0.0, 1.0).map(lambda r: r * same))
    )
    return same, min(other, same)


def _with_previous(m: AlignedMap, keys: list[str], groups: list[str]) -> AlignedMap:
    m._keys = {key: i for i, key in enumerate(keys)}
    m._groups = dict(zip(keys, groups, strict=True))
    return m


@settings(max_examples=300, deadline=None)
@given(
    before=_night(),
    tonight=_night(),
    weights=_weights(),
    data=st.data(),
)
def test_pairs_are_eq_25s(
    before: tuple[list[str], list[str]],
    tonight: tuple[list[str], list[str]],
    weights: tuple[float, float],
    data: st.DataObject,
) -> None:
    (prev_keys, prev_groups), (keys, groups) = before, tonight
    same_w, other_w = weights
    unit = st.floats(0.0, 1.0, exclude_max=True)  # rng.random's range
    keep = np.array(data.draw(st.lists(unit, min_size=len(keys), max_size=len(keys))))
    m = _with_previous(_map(same_w, other_w), prev_keys, prev_groups)
    pairs = m._pairs(keys, groups, keep)

    ratio = other_w / same_w
    was = dict(zip(prev_keys, prev_groups, strict=True))
    expected = {}
    for i, (key, group) in enumerate(zip(keys, groups, strict=True)):
        if key in was and (group == was[key] or keep[i] < ratio):
            expected[i] = prev_keys.index(key)  # last night's position
    assert pairs == expected

    common = [i for i, key in enumerate(keys) if key in was]
    unchanged = {i for i in common if groups[i] == was[keys[i]]}
    assert unchanged <= set(pairs)  # a same-schema pair is always related
    assert set(pairs) <= set(common)  # only keys present last night
    for i, before_at in pairs.items():
        assert prev_keys[before_at] == keys[i]
    if other_w == 0.0:
        assert set(pairs) == unchanged  # no changed-schema pair survives
    if other_w == same_w:
        assert set(pairs) == set(common)  # every common key does


def test_a_changed_schema_survives_in_the_share_w_other_over_w_same() -> None:
    """Over uniform draws, the related share of changed-schema keys is w_other / w_same."""
    keys = [f"transition:{i}" for i in range(4000)]
    m = _with_previous(_map(1.0, 0.25), keys, ["a"] * len(keys))
    keep = np.random.default_rng(0).random(len(keys))
    pairs = m._pairs(keys, ["b"] * len(keys), keep)
    assert abs(len(pairs) / len(keys) - 0.25) < 0.03


def test_add_leaves_the_state_the_pairs_read() -> None:
    """What the property test writes directly is what ``add`` leaves: each key's position
    in the slice and its schema."""
    n = MIN_UMAP_POINTS + 2
    keys = [f"transition:{i}" for i in range(n)][::-1]
    groups = [GROUPS[i % len(GROUPS)] for i in range(n)]
    x = np.random.default_rng(1).normal(size=(n, 3))
    m = _map(1.0, 0.1)
    m.add(x, keys, groups, np.random.default_rng(2))
    assert m._keys == {key: i for i, key in enumerate(keys)}
    assert m._groups == dict(zip(keys, groups, strict=True))
