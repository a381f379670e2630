"""The hash chain of a stored run, and the run row it starts from, as ``verify`` checks them.

A run's chain starts from its genesis (``eventlog.run_genesis`` of the run row's scenario
name, text, hash and seed); stores written before the genesis existed started from 32
zero bytes (``eventlog.GENESIS``), and either is accepted. So an edit of the run row's
identity breaks the chain at event 0, and an edit of an event breaks it at that event.

A row without a chain hash (NULL) is accepted only where the writer had no chains: a
leading run of NULL rows that holds no event a chain-era writer wrote (a nightly
``state_checkpoint``, a ``run_started`` of payload v2 or later). Any other NULL row is
damage at its sequence number: a hash was removed.

What this cannot see: a rewrite of every chain hash from some row on (with the digest
rewritten too, a full rewrite looks like an honest store; README, "What verify proves").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from janus_sim.eventlog import GENESIS, EventBatch, first_broken_link, run_genesis
from janus_sim.ports import RunInfo

CHAIN_ERA_KINDS = frozenset({"state_checkpoint"})
"""Kinds only a janus-sim that chains its rows writes."""


@dataclass(frozen=True)
class ChainFinding:
    """One problem (``seq`` is where; None for the whole run) or, with ``note``, a remark."""

    seq: int | None
    text: str
    note: bool = False


def _chain_era(batch: EventBatch, upto: int) -> bool:
    """Whether rows ``0 .. upto-1`` hold an event that only a chaining writer writes."""
    for i in range(upto):
        if batch.kind[i] in CHAIN_ERA_KINDS:
            return True
        if batch.kind[i] == "run_started" and int(batch.version[i]) >= 2:
            return True
    return False


def _identity_problems(batch: EventBatch, info: RunInfo) -> list[str]:
    """Run-row fields that disagree with what the run's ``run_started`` event records."""
    if not len(batch) or batch.kind[0] != "run_started":
        return []
    try:
        payload = json.loads(batch.payload[0])
    except ValueError:
        return []  # the fold names an undecodable event
    if not isinstance(payload, dict):
        return []
    out = []
    for name, value in (
        ("seed", info.seed),
        ("scenario_hash", info.scenario_hash),
        ("scenario_name", info.scenario_name),
    ):
        if name in payload and payload[name] != value:
            out.append(f"{name} is {value!r}, run_started records {payload[name]!r}")
    return out


def check_chain(batch: EventBatch, info: RunInfo) -> list[ChainFinding]:
    """Every problem with ``batch``'s chain and the run row it starts from (module docs)."""
    chain = batch.chain
    if chain is None or not len(batch):
        return []
    found: list[ChainFinding] = []
    lead = next((i for i, h in enumerate(chain) if h is not None), len(chain))
    later_null = next((i for i in range(lead, len(chain)) if chain[i] is None), None)
    if lead and _chain_era(batch, lead):
        found.append(
            ChainFinding(
                int(batch.seq[0]),
                "has no chain hash, but the run was written by a janus-sim that chains every "
                "row: its chain hashes were removed",
            )
        )
    elif lead:
        found.append(
            ChainFinding(
                None,
                "written before hash chains existed: the chain was not checked"
                if lead == len(chain)
                else f"events 0-{int(batch.seq[lead - 1])} were written before hash chains "
                "existed: their chain was not checked",
                note=True,
            )
        )
    if later_null is not None:
        found.append(
            ChainFinding(
                int(batch.seq[later_null]),
                "has no chain hash, but the events before it have one: its hash was removed",
            )
        )
    chained = batch.take(np.arange(lead, later_null if later_null is not None else len(batch)))
    if not len(chained):
        return found
    genesis = run_genesis(info.scenario_name, info.scenario_text, info.scenario_hash, info.seed)
    broken = {g: first_broken_link(chained, g) for g in (genesis, GENESIS)}
    if broken[genesis] is None:
        return found
    if broken[GENESIS] is None:
        found.append(
            ChainFinding(
                None,
                "written before the chain covered the run row: an edit of its scenario or "
                "seed would not be seen",
                note=True,
            )
        )
        return found
    # The genesis the store wrote reaches further than the other, which breaks at once.
    at = max(b for b in broken.values() if b is not None)
    seq = int(chained.seq[at])
    if at == 0 and lead == 0 and batch.kind[0] == "run_started" and int(batch.seq[0]) == 0:
        # Event 0's hash is not that of the run row's identity and event 0: one of the two
        # changed (the rest of the chain is checked from event 0's stored hash on).
        wrong = _identity_problems(batch, info)
        what = "; ".join(wrong) if wrong else "its scenario name, text, hash or seed"
        found.append(
            ChainFinding(
                seq,
                f"the chain does not start from the run row: the run row was edited ({what}), "
                "or this event was",
            )
        )
    else:
        found.append(
            ChainFinding(
                seq,
                "breaks the hash chain: it, or an event before it, was altered, inserted, "
                "removed or moved",
            )
        )
    return found
