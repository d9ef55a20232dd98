"""The console's SRP sign-in math (chalicelib/http/static/console/srp.js) under Node 20, against two
references with the same fixed inputs:

- pycognito's AWSSRP (a client, like the console): the same ``A``, the same 16-byte derived key and
  the same RespondToAuthChallenge answer (signature, timestamp, secret block, username), for fixed
  ``a``, ``B``, salt, secret block, time, pool, user and password;
- a server written from SRP-6a in tests/support/cognito_srp_server.py (Cognito's side: ``B`` from
  the password's verifier, ``S = (A·v^u)^b``): it accepts the console's signature for the right
  password and refuses it for a wrong one, another user, another time or a changed signature.

moto cannot check any of this: its USER_SRP_AUTH answers a random ``SRP_B`` and never verifies the
signature (see the browser test), so these vectors are the proof of the math. The cases are drawn
from a fixed seed and cover each of the padding rules (a hex with an odd number of digits, a first
digit 8-f that needs "00") for ``A``, ``S`` and ``u``.
"""

from __future__ import annotations

import base64
import datetime
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.cognito_srp_server import SrpServer, pad

aws_srp = pytest.importorskip("pycognito.aws_srp")

ROOT = Path(__file__).resolve().parents[3]
SRP_JS = ROOT / "chalicelib" / "http" / "static" / "console" / "srp.js"
RUNNER = ROOT / "tests" / "support" / "console_srp_node.js"
NODE = shutil.which("node")
CASES = 32

pytestmark = pytest.mark.skipif(NODE is None, reason="node (20+) is not installed")

POOLS = ("eu-west-1_AbCdEf123", "ap-south-1_Z9yX8w7V6", "us-east-1_loanstaff")
USERS = ("reviewer1", "manager1", "0f9d6c3e-4b1a-4e8f-9a2b-7c6d5e4f3a21", "officer.ä")
PASSWORDS = ("Correct-Horse-9-Battery", "pässwörd ✓ 14chars!", "x:y:z", "A1!aaaaaaaaaaaaa")
# Days 1-9 (not zero-padded), midnight, a leap day, New Year's Eve at the last second.
TIMES = (
    datetime.datetime(2026, 12, 2, 1, 23, 45),
    datetime.datetime(2026, 12, 25, 0, 0, 0),
    datetime.datetime(2028, 2, 29, 9, 5, 7),
    datetime.datetime(2027, 12, 31, 23, 59, 59),
    datetime.datetime(2026, 6, 7, 12, 0, 9),
)


def _cases() -> list[dict[str, Any]]:
    rng = random.Random(20261202)
    cases = []
    for index in range(CASES):
        when = TIMES[index % len(TIMES)]
        server = SrpServer(
            pool_id=POOLS[index % len(POOLS)],
            user_id=USERS[index % len(USERS)],
            password=PASSWORDS[(index // 2) % len(PASSWORDS)],
            salt=rng.getrandbits(128),
            small_b=rng.getrandbits(1024),
        )
        challenge = server.challenge(rng.randbytes(rng.choice((64, 257, 1024))))
        cases.append(
            {
                "server": server,
                "when": when,
                "challenge": challenge,
                "node": {
                    "pool_id": server.pool_id,
                    "user_id": server.user_id,
                    "password": server.password,
                    "small_a": f"{rng.getrandbits(1024) % aws_srp.hex_to_long(aws_srp.N_HEX):x}",
                    "srp_b": challenge["SRP_B"],
                    "salt": challenge["SALT"],
                    "secret_block": challenge["SECRET_BLOCK"],
                    "now": int(when.replace(tzinfo=datetime.UTC).timestamp() * 1000),
                },
            }
        )
    return cases


def _run_node(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(RUNNER), str(SRP_JS)],
        input=json.dumps(inputs),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def vectors() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    cases = _cases()
    return list(zip(cases, _run_node([case["node"] for case in cases]), strict=True))


class _FixedClock(datetime.datetime):
    at: datetime.datetime

    @classmethod
    def utcnow(cls) -> datetime.datetime:  # type: ignore[override]
        return cls.at


def _pycognito(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, bytes, dict[str, str]]:
    """pycognito's client with the case's ``a``: its A, its key and its whole challenge answer."""
    node = case["node"]
    srp = aws_srp.AWSSRP(
        username=node["user_id"],
        password=node["password"],
        pool_id=node["pool_id"],
        client_id="client",
        client=object(),  # never called: only the math is used
    )
    srp.small_a_value = aws_srp.hex_to_long(node["small_a"])
    srp.large_a_value = srp.calculate_a()
    key = srp.get_password_authentication_key(
        node["user_id"], node["password"], aws_srp.hex_to_long(node["srp_b"]), node["salt"]
    )
    _FixedClock.at = case["when"]
    monkeypatch.setattr(aws_srp.datetime, "datetime", _FixedClock)
    answer = srp.process_challenge(case["challenge"], {"USERNAME": node["user_id"]})
    return srp, key, answer


def test_the_node_math_equals_pycognito_for_every_case(
    vectors: list[tuple[dict[str, Any], dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for case, got in vectors:
        srp, key, answer = _pycognito(case, monkeypatch)
        assert got["k"] == f"{srp.val_k:x}"
        assert got["srp_a"] == aws_srp.long_to_hex(srp.large_a_value) == srp.get_auth_params()["SRP_A"]
        assert got["key"] == key.hex()
        assert len(bytes.fromhex(got["key"])) == 16
        assert got["timestamp"] == answer["TIMESTAMP"]
        # pycognito answers the challenge's USERNAME; the console (like AWS's JS SDK) answers
        # USER_ID_FOR_SRP: the two are the same user here.
        assert got["responses"] == answer


def test_the_timestamp_is_cognitos_format(vectors: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    stamps = {got["timestamp"] for _, got in vectors}
    assert "Wed Dec 2 01:23:45 UTC 2026" in stamps  # the day not zero-padded, the time is
    assert "Tue Feb 29 09:05:07 UTC 2028" in stamps
    assert "Fri Dec 31 23:59:59 UTC 2027" in stamps
    for case, got in vectors:
        assert got["timestamp"] == aws_srp.AWSSRP.get_cognito_formatted_timestamp(case["when"])


def test_a_cognito_side_server_accepts_the_signature_only_for_the_password(
    vectors: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    for case, got in vectors:
        server: SrpServer = case["server"]
        responses = got["responses"]
        assert got["key"] == server.key(int(got["srp_a"], 16)).hex()
        assert server.accepts(got["srp_a"], responses)
        assert not server.accepts(got["srp_a"], {**responses, "TIMESTAMP": responses["TIMESTAMP"] + " "})
        assert not server.accepts(got["srp_a"], {**responses, "USERNAME": server.user_id + "x"})
        signature = bytearray(base64.b64decode(responses["PASSWORD_CLAIM_SIGNATURE"]))
        signature[0] ^= 1
        assert not server.accepts(
            got["srp_a"],
            {**responses, "PASSWORD_CLAIM_SIGNATURE": base64.b64encode(bytes(signature)).decode()},
        )


def test_a_wrong_password_is_refused_by_the_server() -> None:
    cases = _cases()[:6]
    for case in cases:
        case["node"]["password"] += "!"  # the browser's password differs from the verifier's
    for case, got in zip(cases, _run_node([case["node"] for case in cases]), strict=True):
        server: SrpServer = case["server"]
        assert got["key"] != server.key(int(got["srp_a"], 16)).hex()
        assert not server.accepts(got["srp_a"], got["responses"])


def test_the_cases_cover_every_padding_rule(vectors: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    def rules(value: int) -> set[str]:
        digits = f"{value:x}"
        return {"odd" if len(digits) % 2 else ("00" if pad(value)[0] == 0 else "plain")}

    seen: dict[str, set[str]] = {"A": set(), "S": set(), "u": set(), "B": set(), "salt": set()}
    for case, got in vectors:
        server: SrpServer = case["server"]
        big_a = int(got["srp_a"], 16)
        shared, u = server.shared_secret(big_a)
        for name, value in (
            ("A", big_a),
            ("S", shared),
            ("u", u),
            ("B", server.big_b),
            ("salt", server.salt),
        ):
            seen[name] |= rules(value)
    for name, found in seen.items():
        assert found == {"odd", "00", "plain"}, (name, found)


def test_the_browser_file_guards_its_exports() -> None:
    text = SRP_JS.read_text(encoding="utf-8")
    # One file for the page (window.CognitoSrp, a script tag under the CSP) and for Node.
    assert "module.exports = api" in text and "root.CognitoSrp = api" in text
    assert "eval(" not in text and "new Function" not in text
