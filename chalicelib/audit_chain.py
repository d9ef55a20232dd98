"""The tamper-evident audit trail's links: append-only, one chain per decision subject (pure).

Each entry's ``hash`` is sha256 over the previous entry's hash and the entry's canonical JSON
(subject, sequence number, action, actor, time, details), the first chained to a fixed genesis
value. Reading recomputes every link, so an edited, removed or reordered entry shows as
``verified: false`` with the first link that breaks. Entries are written with a condition on their
sequence number (never overwritten); a writer that loses the race reads the new end and retries.
"""

from __future__ import annotations

import hashlib
import json

from chalicelib.records import AuditAction, AuditDetail, AuditEntry, AuditStep, AuditTrail

GENESIS = "0" * 64


def entry_hash(
    prev_hash: str,
    subject_id: str,
    seq: int,
    action: str,
    actor: str,
    at: str,
    details: dict[str, AuditDetail],
) -> str:
    content = json.dumps(
        {
            "subject_id": subject_id,
            "seq": seq,
            "action": action,
            "actor": actor,
            "at": at,
            "details": details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(f"{prev_hash}|{content}".encode()).hexdigest()


def chained(
    subject_id: str,
    seq: int,
    prev_hash: str,
    action: AuditAction,
    actor: str,
    at: str,
    details: dict[str, AuditDetail],
) -> AuditEntry:
    return {
        "subject_id": subject_id,
        "seq": seq,
        "action": action,
        "actor": actor,
        "at": at,
        "details": details,
        "prev_hash": prev_hash,
        "hash": entry_hash(prev_hash, subject_id, seq, action, actor, at, details),
    }


def chain(
    subject_id: str,
    steps: list[AuditStep],
    start: AuditEntry | None = None,
) -> list[AuditEntry]:
    """Entries for ``steps`` (action, actor, time, details) after ``start`` (None: a new trail)."""
    entries: list[AuditEntry] = []
    seq, prev = (start["seq"], start["hash"]) if start else (0, GENESIS)
    for action, actor, at, details in steps:
        seq += 1
        entry = chained(subject_id, seq, prev, action, actor, at, details)
        entries.append(entry)
        prev = entry["hash"]
    return entries


def verify(entries: list[AuditEntry]) -> AuditTrail:
    """Recompute every link, in sequence order."""
    prev, expected_seq = GENESIS, 1
    broken: int | None = None
    for entry in sorted(entries, key=lambda item: item["seq"]):
        recomputed = entry_hash(
            prev,
            entry["subject_id"],
            entry["seq"],
            entry["action"],
            entry["actor"],
            entry["at"],
            entry["details"],
        )
        if entry["seq"] != expected_seq or entry["prev_hash"] != prev or entry["hash"] != recomputed:
            broken = entry["seq"]
            break
        prev, expected_seq = entry["hash"], expected_seq + 1
    return {
        "verified": broken is None,
        "first_broken_seq": broken,
        "entries": sorted(entries, key=lambda e: e["seq"]),
    }
