// Runs the console's SRP math (chalicelib/http/static/console/srp.js) under Node for
// tests/unit/http/test_console_srp.py: JSON cases on stdin, one JSON answer per case on stdout.
// Each case: {pool_id, user_id, password, small_a (hex), srp_b (hex), salt (hex), secret_block
// (base64), now (ms since the epoch)}. Numbers go both ways as hex strings.
'use strict';
const path = require('path');
const srp = require(path.resolve(process.argv[2]));

async function run(c) {
  const smallA = srp.hexToBig(c.small_a);
  const largeA = srp.largeA(smallA);
  const key = await srp.passwordAuthenticationKey({
    poolName: srp.poolNameOf(c.pool_id),
    userId: c.user_id,
    password: c.password,
    smallA: smallA,
    largeA: largeA,
    serverB: srp.hexToBig(c.srp_b),
    salt: c.salt
  });
  const responses = await srp.passwordVerifierResponses({
    userPoolId: c.pool_id,
    password: c.password,
    smallA: smallA,
    largeA: largeA,
    challenge: { USER_ID_FOR_SRP: c.user_id, SRP_B: c.srp_b, SALT: c.salt, SECRET_BLOCK: c.secret_block },
    now: new Date(c.now)
  });
  return {
    srp_a: largeA.toString(16),
    k: (await srp.multiplier()).toString(16),
    key: srp.bytesToHex(key),
    timestamp: responses.TIMESTAMP,
    responses: responses
  };
}

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', async () => {
  const out = [];
  for (const c of JSON.parse(input)) out.push(await run(c));
  process.stdout.write(JSON.stringify(out));
});
