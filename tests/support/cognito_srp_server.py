"""The server's side of Cognito's SRP (USER_SRP_AUTH), for checking the console's client side.

Cognito keeps a verifier ``v = g^x mod N`` per user (``x`` from the salt, the pool name, the user's
id for SRP and the password), answers InitiateAuth's ``SRP_A`` with ``B = k·v + g^b mod N`` and
checks the PASSWORD_VERIFIER answer by deriving the same key from ``S = (A·v^u)^b mod N``. That is
a different formula from the client's ``S = (B - k·g^x)^(a + u·x)``: the two meet only when both
sides compute every hash, padding and HKDF step alike, so a signature this module accepts is the
client's math proven, not echoed. Written here from the SRP-6a definition, with hashlib and hmac
alone (no pycognito, no console code), for tests/unit/http/test_console_srp.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from functools import cached_property, lru_cache

# RFC 5054's (RFC 3526's) 3072-bit group, as Cognito uses it; g = 2.
N = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    16,
)
G = 2


def pad(value: int) -> bytes:
    """A non-negative number's big-endian bytes with a 0x00 in front where the top bit is set."""
    length = value.bit_length() // 8 + 1  # one more byte than the bits need when they fill a byte
    return value.to_bytes(length, "big") if value else b"\x00"


def h(data: bytes) -> int:
    return int.from_bytes(hashlib.sha256(data).digest(), "big")


K = h(pad(N) + pad(G))


def derive_key(shared: int, u: int) -> bytes:
    prk = hmac.new(pad(u), pad(shared), hashlib.sha256).digest()
    return hmac.new(prk, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]


@dataclass(frozen=True)
class SrpServer:
    """One sign-in as Cognito would run it: the user's verifier and this exchange's ``b``."""

    pool_id: str
    user_id: str  # USER_ID_FOR_SRP
    password: str  # what the verifier was made from (Cognito keeps v, never the password)
    salt: int
    small_b: int

    @property
    def pool_name(self) -> str:
        return self.pool_id.split("_", 1)[1]

    @cached_property
    def verifier(self) -> int:
        identity = hashlib.sha256(f"{self.pool_name}{self.user_id}:{self.password}".encode()).hexdigest()
        x = h(pad(self.salt) + bytes.fromhex(identity))
        return pow(G, x, N)

    @cached_property
    def big_b(self) -> int:
        return (K * self.verifier + pow(G, self.small_b, N)) % N

    def challenge(self, secret_block: bytes) -> dict[str, str]:
        """InitiateAuth's PASSWORD_VERIFIER ChallengeParameters (hex as Cognito sends it)."""
        return {
            "USER_ID_FOR_SRP": self.user_id,
            "USERNAME": self.user_id,
            "SALT": pad(self.salt).hex(),
            "SRP_B": f"{self.big_b:x}",
            "SECRET_BLOCK": base64.b64encode(secret_block).decode(),
        }

    @lru_cache(maxsize=256)  # noqa: B019 (a test's few servers, kept for the module's life)
    def shared_secret(self, big_a: int) -> tuple[int, int]:
        if big_a % N == 0:
            raise ValueError("A mod N is 0")
        u = h(pad(big_a) + pad(self.big_b))
        return pow(big_a * pow(self.verifier, u, N), self.small_b, N), u

    def key(self, big_a: int) -> bytes:
        return derive_key(*self.shared_secret(big_a))

    def accepts(self, srp_a_hex: str, responses: dict[str, str]) -> bool:
        """Whether RespondToAuthChallenge's PASSWORD_VERIFIER answer proves the password."""
        if responses.get("USERNAME") != self.user_id:
            return False
        message = (
            self.pool_name.encode()
            + self.user_id.encode()
            + base64.b64decode(responses["PASSWORD_CLAIM_SECRET_BLOCK"])
            + responses["TIMESTAMP"].encode()
        )
        expected = hmac.new(self.key(int(srp_a_hex, 16)), message, hashlib.sha256).digest()
        return hmac.compare_digest(base64.b64encode(expected).decode(), responses["PASSWORD_CLAIM_SIGNATURE"])
