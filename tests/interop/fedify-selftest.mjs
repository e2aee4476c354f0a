#!/usr/bin/env node
// Self-test of fedify-peer.mjs without Tribune: starts four peers (A and B knock first with
// draft-cavage HTTP signatures, C with RFC 9421, D also has an Ed25519 key) and has them follow, reply, like, announce, undo
// and delete against each other through the control API, checking that the receiving peer's
// inbox recorded each activity as verified, and that unsigned/garbled deliveries are recorded as
// rejected. Needs Node >= 22; exit code 0 when every check passes.
//
// Usage: "$(node tests/interop/node22-path.mjs)" tests/interop/fedify-selftest.mjs
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

if (Number(process.versions.node.split('.')[0]) < 22) {
  process.stderr.write(`fedify-selftest: needs Node >= 22 (this is ${process.version})\n`);
  process.exit(2);
}

const PEER = fileURLToPath(new URL('./fedify-peer.mjs', import.meta.url));
const children = [];
// Peers' stderr: streamed with FEDIFY_SELFTEST_VERBOSE=1, else shown only when a check fails.
const VERBOSE = process.env.FEDIFY_SELFTEST_VERBOSE === '1';
const peerLogs = [];
let passed = 0;
let failed = 0;

function startPeer(name, args = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PEER, '--port', '0', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    child.stderr.on('data', (d) => {
      for (const line of d.toString().split('\n')) {
        if (!line) continue;
        if (VERBOSE) process.stderr.write(`[${name}] ${line}\n`);
        else peerLogs.push(`[${name}] ${line}`);
      }
    });
    const timer = setTimeout(() => reject(new Error(`peer ${name} not ready after 30 s`)), 30_000);
    child.once('exit', (code) => reject(new Error(`peer ${name} exited early (code ${code})`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      const info = JSON.parse(line);
      if (!info.ready) return reject(new Error(`peer ${name}: unexpected first line ${line}`));
      resolve({ name, child, ...info, base: `http://127.0.0.1:${info.port}` });
    });
  });
}

async function call(peer, method, path, body) {
  const res = await fetch(`${peer.base}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return { httpStatus: res.status, ...(await res.json().then((j) => (Array.isArray(j) ? { list: j } : j))) };
}
const post = (peer, path, body) => call(peer, 'POST', `/_control/${path}`, body);
const received = async (peer) => (await call(peer, 'GET', '/_control/received')).list;

function check(name, cond, detail) {
  if (cond) {
    passed++;
    process.stdout.write(`ok ${passed + failed} - ${name}\n`);
  } else {
    failed++;
    process.stdout.write(`not ok ${passed + failed} - ${name}\n`);
    if (detail !== undefined) process.stdout.write(`  # ${JSON.stringify(detail).slice(0, 2000)}\n`);
  }
}

/** Polls `peer`'s received list until `pred` matches an entry (or 10 s pass). */
async function waitReceived(peer, pred) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const hit = (await received(peer)).find(pred);
    if (hit || Date.now() > deadline) return hit;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  const [A, B, C, D] = await Promise.all([
    startPeer('A'),
    startPeer('B'),
    startPeer('C', ['--first-knock', 'rfc9421']),
    startPeer('D', ['--ed25519']),
  ]);

  // Follow, and B's automatic Accept back to A.
  const follow = await post(A, 'follow', { target: B.actor });
  check('A follows B: delivered', follow.ok && follow.status >= 200 && follow.status < 300, follow);
  const gotFollow = await waitReceived(B, (r) => r.id === follow.id);
  check('B received the Follow, verified, from A', gotFollow?.verified && gotFollow.type === 'Follow' && gotFollow.actor === A.actor && gotFollow.object === B.actor, gotFollow);
  check('the Follow was signed with draft-cavage', gotFollow?.signature?.scheme === 'draft-cavage-http-signatures-12' && gotFollow.signature.keyId === A.keyId, gotFollow?.signature);
  const gotAccept = await waitReceived(A, (r) => r.type === 'Accept');
  check('A received B\'s Accept, verified', gotAccept?.verified && gotAccept.actor === B.actor, gotAccept);
  const stateA = await call(A, 'GET', '/_control/state');
  check('A now follows B (accepted)', stateA.following?.some((f) => f.id === B.actor && f.accepted === true), stateA);

  // Reply (Create Note) from B to A; A fetches the note back with a signed GET.
  const reply = await post(B, 'reply', { inReplyTo: `${A.actor}/notes/nonexistent`, content: '<p>Hello from B</p>', to: A.actor });
  check('B replies to A: delivered', reply.ok, reply);
  const gotCreate = await waitReceived(A, (r) => r.type === 'Create' && r.object === reply.id);
  check('A received the Create{Note}, verified, with inReplyTo', gotCreate?.verified && gotCreate.raw?.object?.inReplyTo === `${A.actor}/notes/nonexistent`, gotCreate);
  const fetched = await call(A, 'GET', `/_control/fetch?url=${encodeURIComponent(reply.id)}`);
  check('A fetches the note with a signed GET', fetched.ok && fetched.status === 200 && fetched.document?.type === 'Note' && fetched.document?.content === '<p>Hello from B</p>' && fetched.attempts?.[0]?.signature, fetched);
  const actorDoc = await call(C, 'GET', `/_control/fetch?url=${encodeURIComponent(B.actor)}`);
  check('C fetches B\'s actor (signed, RFC 9421) with its publicKey', actorDoc.ok && actorDoc.document?.publicKey?.id === B.keyId && actorDoc.attempts?.[0]?.signature === 'rfc9421', actorDoc);
  const missing = await call(A, 'GET', `/_control/fetch?url=${encodeURIComponent(`${B.actor}/notes/nope`)}`);
  check('a fetch of a missing object reports 404', missing.ok === false && missing.status === 404, missing);

  // Like, Announce (via B's shared inbox), Undo of the Like.
  const like = await post(A, 'like', { object: reply.id, to: B.actor });
  const gotLike = like.ok && (await waitReceived(B, (r) => r.id === like.id));
  check('A likes B\'s note; B received it verified', gotLike?.verified && gotLike.type === 'Like' && gotLike.object === reply.id, { like, gotLike });
  const announce = await post(A, 'announce', { object: reply.id, to: B.actor, sharedInbox: true });
  const gotAnnounce = announce.ok && (await waitReceived(B, (r) => r.id === announce.id));
  check('A announces B\'s note to B\'s shared inbox; verified', gotAnnounce?.verified && gotAnnounce.type === 'Announce' && gotAnnounce.inbox === 'shared', { announce, gotAnnounce });
  const undo = await post(A, 'undo', { activity: like.id, to: B.actor });
  const gotUndo = undo.ok && (await waitReceived(B, (r) => r.id === undo.id));
  check('A undoes its Like; B received Undo{Like} verified', gotUndo?.verified && gotUndo.type === 'Undo' && gotUndo.object === like.id, { undo, gotUndo });

  // Delete: B deletes its note; A receives it; the note is now 410 Gone.
  const del = await post(B, 'delete', { object: reply.id, to: A.actor });
  const gotDelete = del.ok && (await waitReceived(A, (r) => r.id === del.id));
  check('B deletes its note; A received Delete verified', gotDelete?.verified && gotDelete.type === 'Delete' && gotDelete.object === reply.id, { del, gotDelete });
  const gone = await call(A, 'GET', `/_control/fetch?url=${encodeURIComponent(reply.id)}`);
  check('the deleted note answers 410', gone.ok === false && gone.status === 410, gone);

  // RFC 9421 signatures are verified as well.
  const cFollow = await post(C, 'follow', { target: B.actor });
  const gotC = cFollow.ok && (await waitReceived(B, (r) => r.id === cFollow.id));
  check('C follows B with an RFC 9421 signature; verified', gotC?.verified && gotC.signature?.scheme === 'rfc9421', { cFollow, gotC });

  // Object Integrity Proofs (FEP-8b32) from a peer with an Ed25519 key.
  const dLike = await post(D, 'like', { object: `${B.actor}/notes/x`, to: B.actor });
  const gotD = dLike.ok && (await waitReceived(B, (r) => r.id === dLike.id));
  check('D (Ed25519 key) likes; B received it verified, with a proof', gotD?.verified && gotD.raw?.proof?.type === 'DataIntegrityProof', { dLike, gotD });

  // Undo Follow.
  const unfollow = await post(A, 'undo-follow', { target: B.actor });
  const gotUnfollow = unfollow.ok && (await waitReceived(B, (r) => r.id === unfollow.id));
  check('A undoes its Follow; B received Undo{Follow} verified', gotUnfollow?.verified && gotUnfollow.object === follow.id, { unfollow, gotUnfollow });
  const stateB = await call(B, 'GET', '/_control/state');
  check('B\'s followers: C only', JSON.stringify(stateB.followers) === JSON.stringify([C.actor]), stateB);

  // Rejections are recorded, unverified.
  const forged = {
    '@context': 'https://www.w3.org/ns/activitystreams',
    id: `${A.actor}/likes/forged`,
    type: 'Like',
    actor: A.actor,
    object: `${B.actor}/notes/x`,
  };
  const r1 = await fetch(B.inbox, { method: 'POST', headers: { 'content-type': 'application/activity+json' }, body: JSON.stringify(forged) });
  check('an unsigned delivery is refused with 401', r1.status === 401, r1.status);
  const gotForged = await waitReceived(B, (r) => r.id === forged.id);
  check('… and recorded as not verified (noSignature)', gotForged && gotForged.verified === false && gotForged.rejected?.reason === 'noSignature', gotForged);
  const r2 = await fetch(B.sharedInbox, { method: 'POST', headers: { 'content-type': 'application/activity+json' }, body: '{not json' });
  const gotGarbage = await waitReceived(B, (r) => r.raw === '{not json');
  check('garbage is refused (400) and recorded as not verified', r2.status === 400 && gotGarbage?.verified === false && gotGarbage.status === 400, { status: r2.status, gotGarbage });

  const errors = await post(A, 'like', { object: 'not a url', to: B.actor });
  check('control API: a bad request answers 400 with ok:false', errors.httpStatus === 400 && errors.ok === false, errors);
  const unreachable = await post(A, 'follow', { target: 'http://127.0.0.1:9/users/nobody' });
  check('control API: an unreachable target answers 502 with ok:false', unreachable.httpStatus === 502 && unreachable.ok === false, unreachable);

  // Clean shutdown on SIGTERM.
  const codes = await Promise.all(
    [A, B, C, D].map((p) => new Promise((resolve) => {
      p.child.removeAllListeners('exit');
      p.child.once('exit', (code, signal) => resolve(code ?? signal));
      p.child.kill('SIGTERM');
    })),
  );
  check('all peers exit 0 on SIGTERM', codes.every((c) => c === 0), codes);
}

const watchdog = setTimeout(() => {
  process.stdout.write('not ok - selftest timed out after 120 s\n');
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
}, 120_000);

try {
  await main();
} catch (e) {
  failed++;
  process.stdout.write(`not ok - ${e?.stack ?? e}\n`);
} finally {
  clearTimeout(watchdog);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
if (failed && !VERBOSE) process.stderr.write(`--- peers' stderr ---\n${peerLogs.join('\n')}\n--- end ---\n`);
process.stdout.write(`fedify-selftest: ${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
