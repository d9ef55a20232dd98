// Cognito's Secure Remote Password sign-in (USER_SRP_AUTH) for the console, in plain JS with native
// BigInt and WebCrypto: the password never leaves the browser. Only the client's side of the
// exchange is here; console.js makes the two calls (InitiateAuth with SRP_A, then
// RespondToAuthChallenge with the PASSWORD_VERIFIER answer).
//
// The same math as AWS's amazon-cognito-identity-js (AuthenticationHelper) and pycognito (aws_srp):
//   N = the 3072-bit group of RFC 5054 (RFC 3526's MODP group), g = 2, H = SHA-256
//   k = H(pad(N) || pad(g)), A = g^a mod N, u = H(pad(A) || pad(B))
//   x = H(pad(salt) || hex(H(poolName || userIdForSrp || ":" || password)))
//   S = (B - k·g^x)^(a + u·x) mod N  (the base taken mod N first: B - k·g^x is usually negative)
//   key = HMAC(HMAC(pad(u), pad(S)), "Caldera Derived Key" || 0x01)[0:16]  (one HKDF block)
//   PASSWORD_CLAIM_SIGNATURE = Base64(HMAC(key, poolName || userIdForSrp || secretBlock || timestamp))
// pad(): a number's hex with an even number of digits, and "00" in front where the first digit is
// 8-f, so the bytes never read as a negative two's-complement number (Java's BigInteger on
// Cognito's side). poolName is the part of the user pool id after "_".
//
// Loaded by the page as console/srp.js (a file of its own: no inline script under the CSP), where
// it sets window.CognitoSrp, and by Node (tests/unit/http/test_console_srp.py) through
// module.exports, where globalThis.crypto is Node's WebCrypto.
(function (root, factory) {
  'use strict';
  var api = factory(root.crypto);
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.CognitoSrp = api;
})(typeof self !== 'undefined' ? self : globalThis, function (crypto) {
  'use strict';

  var N_HEX =
    'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1' +
    '29024E088A67CC74020BBEA63B139B22514A08798E3404DD' +
    'EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245' +
    'E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED' +
    'EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D' +
    'C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F' +
    '83655D23DCA3AD961C62F356208552BB9ED529077096966D' +
    '670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B' +
    'E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9' +
    'DE2BCBF6955817183995497CEA956AE515D2261898FA0510' +
    '15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64' +
    'ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7' +
    'ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6B' +
    'F12FFA06D98A0864D87602733EC86A64521F2B18177B200C' +
    'BBE117577A615D6C770988C0BAD946E208E24FA074E5AB31' +
    '43DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF';
  var N = BigInt('0x' + N_HEX);
  var G = BigInt(2);
  var ZERO = BigInt(0);
  var ONE = BigInt(1);
  var INFO = 'Caldera Derived Key';
  var WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  var encoder = new TextEncoder();

  function available() {
    return typeof BigInt === 'function' && !!crypto && !!crypto.subtle && typeof crypto.getRandomValues === 'function';
  }

  function utf8(text) { return encoder.encode(text); }

  function concat(parts) {
    var length = parts.reduce(function (sum, part) { return sum + part.length; }, 0);
    var out = new Uint8Array(length);
    var at = 0;
    parts.forEach(function (part) { out.set(part, at); at += part.length; });
    return out;
  }

  function hexToBytes(hex) {
    if (hex.length % 2) hex = '0' + hex;
    var out = new Uint8Array(hex.length / 2);
    for (var i = 0; i < out.length; i++) {
      var byte = parseInt(hex.substr(i * 2, 2), 16);
      if (isNaN(byte)) throw new Error('not a hex string');
      out[i] = byte;
    }
    return out;
  }

  function bytesToHex(bytes) {
    var hex = '';
    for (var i = 0; i < bytes.length; i++) hex += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return hex;
  }

  function toBase64(bytes) {
    var binary = '';
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary);
  }

  function fromBase64(text) {
    var binary = atob(text);
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }

  function hexToBig(hex) {
    if (!/^[0-9a-fA-F]+$/.test(hex)) throw new Error('not a hex string');
    return BigInt('0x' + hex);
  }

  // A non-negative number as Cognito hashes it (see the comment at the top).
  function padHex(value) {
    if (value < ZERO) throw new Error('padHex: a negative number');
    var hex = value.toString(16);
    if (hex.length % 2) hex = '0' + hex;
    else if ('89abcdef'.indexOf(hex.charAt(0)) >= 0) hex = '00' + hex;
    return hex;
  }

  function modPow(base, exponent, modulus) {
    var result = ONE;
    base = ((base % modulus) + modulus) % modulus;
    while (exponent > ZERO) {
      if (exponent & ONE) result = (result * base) % modulus;
      exponent >>= ONE;
      base = (base * base) % modulus;
    }
    return result;
  }

  function sha256(bytes) {
    return crypto.subtle.digest('SHA-256', bytes).then(function (digest) { return new Uint8Array(digest); });
  }

  function hmac(key, message) {
    return crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
      .then(function (imported) { return crypto.subtle.sign('HMAC', imported, message); })
      .then(function (mac) { return new Uint8Array(mac); });
  }

  // H over the bytes of a hex string, as a number.
  function hexHash(hex) {
    return sha256(hexToBytes(hex)).then(function (digest) { return hexToBig(bytesToHex(digest)); });
  }

  var kValue = null;
  function multiplier() {
    if (!kValue) kValue = hexHash(padHex(N) + padHex(G));
    return kValue;
  }

  // a: 128 random bytes, reduced mod N (never 0).
  function randomSmallA() {
    var bytes = new Uint8Array(128);
    crypto.getRandomValues(bytes);
    var a = hexToBig(bytesToHex(bytes)) % N;
    return a === ZERO ? randomSmallA() : a;
  }

  function largeA(smallA) {
    var A = modPow(G, smallA, N);
    if (A % N === ZERO) throw new Error('A mod N is 0');
    return A;
  }

  function poolNameOf(userPoolId) {
    var parts = String(userPoolId).split('_');
    if (parts.length < 2 || !parts[1]) throw new Error('not a user pool id: ' + userPoolId);
    return parts[1];
  }

  // The 16-byte key both sides derive. params: {poolName, userId, password, smallA, largeA?,
  // serverB (BigInt), salt (hex string, as the challenge sends it)}.
  function passwordAuthenticationKey(params) {
    var a = params.smallA;
    var A = params.largeA !== undefined ? params.largeA : largeA(a);
    var B = params.serverB;
    if (B % N === ZERO) return Promise.reject(new Error('B mod N is 0'));
    var u;
    var x;
    return hexHash(padHex(A) + padHex(B)).then(function (uValue) {
      if (uValue === ZERO) throw new Error('u is 0');
      u = uValue;
      return sha256(utf8(params.poolName + params.userId + ':' + params.password));
    }).then(function (identityHash) {
      return hexHash(padHex(hexToBig(params.salt)) + bytesToHex(identityHash));
    }).then(function (xValue) {
      x = xValue;
      return multiplier();
    }).then(function (k) {
      var S = modPow(B - k * modPow(G, x, N), a + u * x, N);
      return hmac(hexToBytes(padHex(u)), hexToBytes(padHex(S)));
    }).then(function (prk) {
      return hmac(prk, concat([utf8(INFO), new Uint8Array([1])]));
    }).then(function (okm) { return okm.slice(0, 16); });
  }

  // "Tue Dec 2 01:23:45 UTC 2026": UTC, the day of the month not zero-padded, the time is.
  function timestamp(date) {
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return WEEKDAYS[date.getUTCDay()] + ' ' + MONTHS[date.getUTCMonth()] + ' ' + date.getUTCDate() + ' ' +
      two(date.getUTCHours()) + ':' + two(date.getUTCMinutes()) + ':' + two(date.getUTCSeconds()) +
      ' UTC ' + date.getUTCFullYear();
  }

  function signature(key, poolName, userId, secretBlock, when) {
    var message = concat([utf8(poolName), utf8(userId), fromBase64(secretBlock), utf8(when)]);
    return hmac(key, message).then(toBase64);
  }

  // The PASSWORD_VERIFIER challenge's answer (RespondToAuthChallenge's ChallengeResponses).
  // options: {userPoolId, password, smallA, largeA, challenge (ChallengeParameters), now?: Date}.
  // USER_ID_FOR_SRP is the name Cognito hashed the password with and the USERNAME it expects back.
  function passwordVerifierResponses(options) {
    var challenge = options.challenge || {};
    var userId = challenge.USER_ID_FOR_SRP;
    if (!userId || !challenge.SRP_B || !challenge.SALT || !challenge.SECRET_BLOCK) {
      return Promise.reject(new Error('an incomplete PASSWORD_VERIFIER challenge'));
    }
    var poolName = poolNameOf(options.userPoolId);
    var when = timestamp(options.now || new Date());
    return passwordAuthenticationKey({
      poolName: poolName,
      userId: userId,
      password: options.password,
      smallA: options.smallA,
      largeA: options.largeA,
      serverB: hexToBig(challenge.SRP_B),
      salt: challenge.SALT
    }).then(function (key) {
      return signature(key, poolName, userId, challenge.SECRET_BLOCK, when);
    }).then(function (signed) {
      return {
        USERNAME: userId,
        PASSWORD_CLAIM_SECRET_BLOCK: challenge.SECRET_BLOCK,
        PASSWORD_CLAIM_SIGNATURE: signed,
        TIMESTAMP: when
      };
    });
  }

  // InitiateAuth's AuthParameters and the secret that goes with them.
  function start(username) {
    var a = randomSmallA();
    var A = largeA(a);
    return { smallA: a, largeA: A, authParameters: { USERNAME: username, SRP_A: A.toString(16) } };
  }

  return {
    N: N,
    g: G,
    available: available,
    padHex: padHex,
    modPow: modPow,
    hexToBig: hexToBig,
    bytesToHex: bytesToHex,
    multiplier: multiplier,
    largeA: largeA,
    poolNameOf: poolNameOf,
    passwordAuthenticationKey: passwordAuthenticationKey,
    timestamp: timestamp,
    signature: signature,
    passwordVerifierResponses: passwordVerifierResponses,
    start: start
  };
});
