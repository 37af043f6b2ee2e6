// Delivery: batching, merging, compression, retries, the bounded queue, bounded flush and shutdown.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer as createNetServer } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { DeliveryError, QueueFullError } from "../dist/index.js";
import { API_KEY, message, sleep, useStandIn } from "./helpers.mjs";
import { AHEAD, freePort, IngestStandIn, selfSignedCert } from "./standin.mjs";

const FUTURE = "2099-01-01T00:00:00Z"; // refused by the server (and the stand-in), not by track()
const conversationSizes = (requests) => requests.map((r) => r.body.conversations.length);
const entriesOf = (requests) => requests.flatMap((r) => r.body.conversations);

describe("batching", () => {
  const ctx = useStandIn();

  test("many tracks are sent in batches of at most batchSize", async () => {
    const client = ctx.makeClient({ batchSize: 10, flushIntervalMs: 500 });
    for (let i = 0; i < 35; i++) client.track({ conversationId: `c${i}`, messages: [message()] });
    assert.equal(await client.flush(5000), true);
    assert.deepEqual(conversationSizes(ctx.ingest.acceptedRequests()), [10, 10, 10, 5]);
  });

  test("a batch is cut before it would exceed maxBatchBytes", async () => {
    const client = ctx.makeClient({ maxBatchBytes: 10_000, flushIntervalMs: 500 });
    for (let i = 0; i < 6; i++) client.track({ conversationId: `c${i}`, messages: [message("x".repeat(3000))] });
    await client.flush(5000);
    assert.deepEqual(conversationSizes(ctx.ingest.acceptedRequests()), [3, 3]);
  });

  test("a conversation larger than maxBatchBytes fails alone and the others are sent", async () => {
    const errors = [];
    const client = ctx.makeClient({ maxBatchBytes: 2048, onError: (error) => errors.push(error.status) });
    client.track({ conversationId: "big", messages: [message("x".repeat(4000))] });
    client.track({ conversationId: "small", messages: [message()] });
    await client.flush(5000);
    assert.deepEqual([errors, client.stats().sent, client.stats().failed], [[413], 1, 1]);
  });

  test("a batch waits flushIntervalMs from its first conversation, then goes without a flush()", async () => {
    const client = ctx.makeClient({ flushIntervalMs: 300 });
    client.track({ conversationId: "c1", messages: [message()] });
    await sleep(100);
    const early = ctx.ingest.requests.length;
    assert.equal(await ctx.ingest.waitForRequests(1, 3000), true);
    assert.equal(early, 0);
  });

  test("tracks of one conversation in one batch are merged into one entry", async () => {
    const client = ctx.makeClient({ flushIntervalMs: 500 });
    for (let i = 0; i < 3; i++) client.track({ conversationId: "same", messages: [message(`m${i}`)] });
    await client.flush(5000);
    const entries = ctx.ingest.acceptedRequests()[0].body.conversations;
    assert.deepEqual(entries.map((e) => e.messages.map((m) => m.content)), [["m0", "m1", "m2"]]);
  });

  test("a merged entry takes the later call's environment and user id, and both calls' metadata", async () => {
    const client = ctx.makeClient({ flushIntervalMs: 500 });
    client.track({ conversationId: "same", messages: [message("a")], userId: "u1", metadata: { a: 1, b: 1 } });
    client.track({ conversationId: "same", messages: [message("b")], userId: "u2", environment: "e2", metadata: { b: 2 } });
    await client.flush(5000);
    const [entry] = ctx.ingest.acceptedRequests()[0].body.conversations;
    assert.deepEqual([entry.user_id, entry.environment, entry.metadata], ["u2", "e2", { a: 1, b: 2 }]);
  });

  test("merging stops at the server's limit of a thousand messages per entry", async () => {
    const client = ctx.makeClient({ flushIntervalMs: 500 });
    for (let i = 0; i < 3; i++) {
      client.track({ conversationId: "big", messages: Array.from({ length: 400 }, (_, j) => message(`${i}-${j}`)) });
    }
    await client.flush(5000);
    assert.deepEqual(ctx.ingest.acceptedRequests()[0].body.conversations.map((e) => e.messages.length), [800, 400]);
  });

  test("a track with more messages than an entry takes is sent in parts and counted once", async () => {
    const client = ctx.makeClient();
    client.track({ conversationId: "long", messages: Array.from({ length: 2500 }, (_, i) => message(`turn ${i}`)) });
    assert.equal(await client.flush(5000), true);
    assert.deepEqual(entriesOf(ctx.ingest.acceptedRequests()).map((e) => e.messages.length), [1000, 1000, 500]);
    assert.deepEqual([ctx.ingest.distinctMessageIds().size, client.stats().sent, client.stats().failed], [2500, 1, 0]);
  });

  test("a track whose parts are all refused fails once", async () => {
    const errors = [];
    const client = ctx.makeClient({ onError: (_error, items) => errors.push(items) });
    const messages = Array.from({ length: 1500 }, (_, i) => message(`turn ${i}`, "user", { timestamp: FUTURE }));
    client.track({ conversationId: "long", messages });
    assert.equal(await client.flush(5000), true);
    assert.deepEqual([client.stats().sent, client.stats().failed, errors.length], [0, 1, 1]);
  });

  test("a track with one part refused fails once", async () => {
    const errors = [];
    const client = ctx.makeClient({ onError: (_error, items) => errors.push(items) });
    const messages = [
      ...Array.from({ length: 1000 }, (_, i) => message(`turn ${i}`)),
      message("later", "user", { timestamp: FUTURE }),
    ];
    client.track({ conversationId: "long", messages });
    assert.equal(await client.flush(5000), true);
    assert.deepEqual([client.stats().sent, client.stats().failed, errors.length], [0, 1, 1]);
  });

  test("request bodies are gzip-compressed and sent with a Content-Length", async () => {
    const client = ctx.makeClient();
    client.track({ conversationId: "c1", messages: [message("compress me ".repeat(100))] });
    await client.flush(5000);
    const { headers, wireBytes } = ctx.ingest.acceptedRequests()[0];
    assert.deepEqual([headers["content-encoding"], Number(headers["content-length"]) === wireBytes], ["gzip", true]);
    assert.ok(wireBytes < 600, `${wireBytes} bytes on the wire`);
  });

  test("gzip can be turned off", async () => {
    const client = ctx.makeClient({ gzip: false });
    client.track({ conversationId: "c1", messages: [message()] });
    await client.flush(5000);
    assert.equal(ctx.ingest.acceptedRequests()[0].headers["content-encoding"], undefined);
  });
});

describe("retries", () => {
  const ctx = useStandIn();

  test("a 503 is retried until it succeeds", async () => {
    ctx.ingest.respondNext(503, { times: 3 });
    const client = ctx.makeClient();
    client.track({ conversationId: "c1", messages: [message()] });
    assert.equal(await client.flush(10_000), true);
    assert.deepEqual([ctx.ingest.requests.length, client.stats().sent, client.stats().retries], [4, 1, 3]);
  });

  test("a 429 with Retry-After delays the next attempt by at least that long", async () => {
    ctx.ingest.respondNext(429, { headers: { "Retry-After": "1" } });
    const client = ctx.makeClient();
    client.track({ conversationId: "c1", messages: [message()] });
    assert.equal(await client.flush(10_000), true);
    const [first, second] = ctx.ingest.requests;
    assert.ok(second.at - first.at >= 1000, `${second.at - first.at} ms apart`);
  });

  test("a Retry-After given as an HTTP date is honoured too", async () => {
    const when = new Date(Date.now() + 2000).toUTCString(); // whole seconds: 1-2 s from now
    ctx.ingest.respondNext(503, { headers: { "Retry-After": when } });
    const client = ctx.makeClient();
    client.track({ conversationId: "c1", messages: [message()] });
    assert.equal(await client.flush(10_000), true);
    const [first, second] = ctx.ingest.requests;
    assert.ok(second.at - first.at >= 900, `${second.at - first.at} ms apart`);
  });

  test("a 400 is not retried and is counted as failed", async () => {
    ctx.ingest.respondNext(400, { body: { message: "bad", code: "invalid", details: {} } });
    const client = ctx.makeClient();
    client.track({ conversationId: "c1", messages: [message()] });
    await client.flush(5000);
    await sleep(300); // room for a wrong retry to show up
    assert.deepEqual([ctx.ingest.requests.length, client.stats().failed, client.stats().retries], [1, 1, 0]);
  });

  test("a refused batch is reported to onError with the server's status and code", async () => {
    const errors = [];
    ctx.ingest.respondNext(401, { body: { message: "invalid API key", code: "authentication_failed", details: {} } });
    const client = ctx.makeClient({ onError: (error, items) => errors.push([error, items.length]) });
    client.track({ conversationId: "c1", messages: [message()] });
    await client.flush(5000);
    assert.deepEqual(
      errors.map(([e, n]) => [e instanceof DeliveryError, e.status, e.code, n]),
      [[true, 401, "authentication_failed", 1]],
    );
  });

  test("a baseUrl with a path of its own gets a 404 that names the URL tried and what baseUrl should be", async () => {
    const errors = [];
    const client = ctx.makeClient({ baseUrl: `${ctx.ingest.url}/api`, onError: (error) => errors.push(error) });
    client.track({ conversationId: "c1", messages: [message()] });
    await client.flush(5000);
    assert.deepEqual([errors.map((e) => e.status), ctx.ingest.requests.length], [[404], 1]);
    assert.match(errors[0].message, /POST http:\/\/127\.0\.0\.1:\d+\/api\/api\/v1\/conversations\/track\/batch/);
    assert.match(errors[0].message, /baseUrl is the server's root/);
    assert.ok(!errors[0].message.includes(API_KEY));
  });

  test("a redirect is not followed: the key never goes where it points", async () => {
    const elsewhere = await new IngestStandIn().start();
    try {
      ctx.ingest.respondNext(307, { headers: { Location: `${elsewhere.url}/api/v1/conversations/track/batch` } });
      const client = ctx.makeClient();
      client.track({ conversationId: "c1", messages: [message()] });
      await client.flush(5000);
      assert.deepEqual([elsewhere.requests.length, client.stats().failed], [0, 1]);
    } finally {
      await elsewhere.stop();
    }
  });

  test("a conversation refused inside a 202 counts as failed and the rest as sent", async () => {
    const results = [
      { index: 0, status: "error", error: { message: "nope", code: "validation_error" } },
      { index: 1, status: "ok" },
    ];
    ctx.ingest.respondNext(202, { body: { results } });
    const client = ctx.makeClient({ flushIntervalMs: 500 });
    client.track({ conversationId: "c1", messages: [message()] });
    client.track({ conversationId: "c2", messages: [message()] });
    await client.flush(5000);
    assert.deepEqual([client.stats().sent, client.stats().failed], [1, 1]);
  });

  test("a 413 splits the batch and delivers both halves", async () => {
    ctx.ingest.respondNext(413);
    const client = ctx.makeClient({ flushIntervalMs: 500 });
    for (let i = 0; i < 4; i++) client.track({ conversationId: `c${i}`, messages: [message()] });
    await client.flush(5000);
    assert.deepEqual(conversationSizes(ctx.ingest.acceptedRequests()), [2, 2]);
  });

  test("a request without an answer within timeoutMs is retried, and delivered once", async () => {
    ctx.ingest.delayNext(1500);
    const client = ctx.makeClient({ timeoutMs: 300 });
    client.track({ conversationId: "c1", messages: [message("once")] });
    assert.equal(await client.flush(5000), true);
    assert.deepEqual([client.stats().retries >= 1, client.stats().sent], [true, 1]);
    await sleep(1500); // the late answer to the first attempt also stores its messages: the id dedupes them
    assert.deepEqual([ctx.ingest.distinctMessageIds().size, ctx.ingest.messageDeliveries], [1, 2]);
  });

  test("retries that run out are reported, with the last status", async () => {
    const errors = [];
    ctx.ingest.respondNext(503, { times: 3 });
    const client = ctx.makeClient({ maxRetries: 2, onError: (error) => errors.push([error.message, error.status]) });
    client.track({ conversationId: "c1", messages: [message()] });
    await client.flush(5000);
    assert.deepEqual(errors, [["gave up after 2 retries: scripted", 503]]);
  });

  test("everything is delivered exactly once after the server was down for 2.5 s", async () => {
    const port = await freePort();
    const client = ctx.makeClient({ baseUrl: `http://127.0.0.1:${port}`, backoffBaseMs: 200, backoffMaxMs: 1000, batchSize: 20 });
    for (let i = 0; i < 200; i++) client.track({ conversationId: `c${i % 7}`, messages: [message(`m${i}`)] });
    await sleep(2500); // nothing listens on the port: every attempt is refused
    const server = await new IngestStandIn({ port }).start();
    try {
      assert.equal(await client.flush(15_000), true);
      assert.deepEqual([server.distinctMessageIds().size, server.messageDeliveries, client.stats().sent], [200, 200, 200]);
      assert.ok(client.stats().retries > 0);
    } finally {
      await server.stop();
    }
  });
});

describe("what the server refused, and why", () => {
  const ctx = useStandIn();
  const fromTheFuture = message("my card is 4111 1111 1111 1111", "user", { timestamp: FUTURE });

  test("a batch the server refuses whole reports each conversation's field errors", async () => {
    const errors = [];
    const client = ctx.makeClient({ onError: (error) => errors.push(error) });
    client.track({ conversationId: "c1", messages: [fromTheFuture] });
    await client.flush(5000);
    const [error] = errors;
    assert.deepEqual(
      [errors.length, error.status, error.code, error.fieldErrors],
      [1, 400, "validation_error", { "messages.0.timestamp": [AHEAD] }],
    );
    assert.equal(error.message, `The conversation has invalid fields. messages.0.timestamp: ${AHEAD}`);
  });

  test("a conversation refused inside a 202 reports its field errors with its own entry", async () => {
    const errors = [];
    const client = ctx.makeClient({ flushIntervalMs: 500, onError: (error, items) => errors.push([error, items]) });
    client.track({ conversationId: "bad", messages: [message(), fromTheFuture] });
    client.track({ conversationId: "good", messages: [message()] });
    await client.flush(5000);
    const [[error, [item]]] = errors;
    // 400, what the server answers for the same conversation sent alone, not the batch's 202, which reads as success.
    assert.deepEqual(
      [errors.length, error.status, error.code, item.external_id, error.fieldErrors],
      [1, 400, "validation_error", "bad", { "messages.1.timestamp": [AHEAD] }],
    );
  });

  test("a request refused as a whole reports its field errors", async () => {
    const errors = [];
    const reason = { conversations: ["At most 100 conversations per batch."] };
    ctx.ingest.respondNext(400, { body: { message: "The request has invalid fields.", code: "validation_error", details: reason } });
    const client = ctx.makeClient({ onError: (error) => errors.push([error.message, error.fieldErrors]) });
    client.track({ conversationId: "c1", messages: [message()] });
    await client.flush(5000);
    assert.deepEqual(errors, [["The request has invalid fields. conversations: At most 100 conversations per batch.", reason]]);
  });

  test("no error the SDK reports contains the API key", async () => {
    const texts = [];
    const onError = (error) => texts.push(`${error.message} ${error.stack} ${JSON.stringify(error)}`);
    ctx.ingest.respondNext(401, { body: { message: "invalid API key", code: "authentication_failed", details: {} } });
    ctx.ingest.respondNext(503, { times: 2 });
    const refused = ctx.makeClient({ onError, maxRetries: 1 });
    refused.track({ conversationId: "c1", messages: [message()] }); // 401
    await refused.flush(5000);
    refused.track({ conversationId: "c2", messages: [message()] }); // 503, 503: retries run out
    await refused.flush(5000);
    const down = ctx.makeClient({ onError, baseUrl: `http://127.0.0.1:${await freePort()}`, maxRetries: 1 });
    down.track({ conversationId: "c3", messages: [message()] }); // connection refused
    await down.flush(5000);
    down.track({ conversationId: "c4", messages: [{ role: "robot", content: "x" }] }); // invalid
    assert.equal(texts.length, 4);
    assert.deepEqual(texts.filter((text) => text.includes(API_KEY) || text.includes("secret")), []);
  });
});

describe("TLS", () => {
  // A handshake that fails for a reason the next attempt cannot change is a wrong baseUrl or a certificate the
  // client does not trust: reported at once, like a 4xx, instead of retried for minutes.
  const ctx = useStandIn();
  const untrusted = selfSignedCert();

  async function tlsRefusals(client, errors) {
    client.track({ conversationId: "c1", messages: [message()] });
    assert.equal(await client.flush(5000), true);
    return [client.stats().retries, client.stats().failed, errors.map((e) => [e.status, e.message])];
  }

  test("https to a plain-http server is reported at once, not retried", async () => {
    const errors = [];
    const origin = `https://127.0.0.1:${ctx.ingest.port}`;
    const client = ctx.makeClient({ baseUrl: origin, onError: (error) => errors.push(error) });
    const wrong = `TLS handshake with ${origin} failed: the server does not speak TLS on this port (is baseUrl http://?)`;
    assert.deepEqual(await tlsRefusals(client, errors), [0, 1, [[undefined, wrong]]]);
    assert.ok(errors[0] instanceof DeliveryError && !errors[0].message.includes(API_KEY));
  });

  test("an untrusted server certificate is reported at once, not retried", { skip: !untrusted && "no openssl" }, async () => {
    const server = await new IngestStandIn({ tls: untrusted }).start();
    try {
      const errors = [];
      const client = ctx.makeClient({ baseUrl: server.url, onError: (error) => errors.push(error) });
      const refused = `TLS handshake with ${server.url} failed: certificate not trusted (self-signed certificate)`;
      assert.deepEqual(await tlsRefusals(client, errors), [0, 1, [[undefined, refused]]]);
      assert.ok(!errors[0].message.includes(API_KEY));
    } finally {
      await server.stop();
    }
  });

  test("an https server that is down is still retried", async () => {
    const errors = [];
    const client = ctx.makeClient({
      baseUrl: `https://127.0.0.1:${await freePort()}`,
      maxRetries: 2,
      onError: (error) => errors.push(error),
    });
    const [retries, failed, [[, text]]] = await tlsRefusals(client, errors);
    assert.deepEqual([retries, failed, text.startsWith("gave up after 2 retries")], [2, 1, true]);
  });

  test("a connection closed during the TLS handshake is still retried", async () => {
    // What a server restarting, or a proxy dropping a connection, looks like: not a configuration error.
    const closer = createNetServer((socket) => socket.destroy());
    closer.listen(0, "127.0.0.1");
    await once(closer, "listening");
    try {
      const errors = [];
      const client = ctx.makeClient({
        baseUrl: `https://127.0.0.1:${closer.address().port}`,
        maxRetries: 2,
        onError: (error) => errors.push(error),
      });
      const [retries, failed, [[, text]]] = await tlsRefusals(client, errors);
      assert.deepEqual([retries, failed, text.startsWith("gave up after 2 retries")], [2, 1, true]);
    } finally {
      await new Promise((resolve) => closer.close(resolve));
    }
  });
});

describe("the queue, flush and shutdown", () => {
  const ctx = useStandIn();

  /** A client whose one batch sits in a long backoff, so new tracks only fill its queue. */
  async function stuckClient(maxQueueSize, errors) {
    ctx.ingest.respondNext(503, { times: 1000 });
    const client = ctx.makeClient({ maxQueueSize, batchSize: 1, backoffBaseMs: 30_000, onError: (e) => errors.push(e) });
    client.track({ conversationId: "first", messages: [message()] });
    assert.equal(await ctx.ingest.waitForRequests(1, 5000), true);
    return client;
  }

  test("a full queue drops new conversations, counts them and reports QueueFullError", async () => {
    const errors = [];
    const client = await stuckClient(5, errors);
    const accepted = Array.from({ length: 19 }, (_, i) => client.track({ conversationId: `c${i}`, messages: [message()] }));
    assert.deepEqual(
      [accepted.filter((ok) => !ok).length, client.stats().dropped, client.stats().queued, errors.length],
      [14, 14, 5, 14],
    );
    assert.deepEqual([...new Set(errors.map((e) => e.constructor))], [QueueFullError]);
  });

  test("flush() resolves false within its timeout while the server is down", async () => {
    const client = ctx.makeClient({ baseUrl: `http://127.0.0.1:${await freePort()}` });
    client.track({ conversationId: "c1", messages: [message()] });
    const started = performance.now();
    assert.equal(await client.flush(1000), false);
    assert.ok(performance.now() - started < 1500);
  });

  test("flush() with nothing tracked resolves true at once", async () => {
    const client = ctx.makeClient();
    assert.equal(await client.flush(1000), true);
  });

  test("flush() sends at once instead of waiting for the batch interval", async () => {
    const client = ctx.makeClient({ flushIntervalMs: 60_000 });
    client.track({ conversationId: "c1", messages: [message()] });
    const started = performance.now();
    assert.equal(await client.flush(5000), true);
    assert.ok(performance.now() - started < 1000);
  });

  test("shutdown() ends within its timeout while the server is down and gives up what is left", async () => {
    const errors = [];
    const client = ctx.makeClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, onError: (e) => errors.push(e.message) });
    client.track({ conversationId: "c1", messages: [message()] });
    client.track({ conversationId: "c2", messages: [message()] });
    const started = performance.now();
    await client.shutdown(1000);
    assert.ok(performance.now() - started < 1500);
    assert.deepEqual([client.stats().failed, client.stats().queued], [2, 0]);
    assert.ok(errors.every((text) => text.startsWith("shutdown before delivery")), errors.join("\n"));
  });

  test("shutdown() cuts a request that hangs at its deadline", async () => {
    ctx.ingest.delayNext(5000);
    const client = ctx.makeClient({ timeoutMs: 10_000 });
    client.track({ conversationId: "c1", messages: [message()] });
    await sleep(200); // the request is on its way, unanswered
    const started = performance.now();
    assert.equal(await client.shutdown(500), false);
    assert.ok(performance.now() - started < 1000);
    assert.equal(client.stats().failed, 1);
  });

  test("shutdown() delivers what is queued when the server is up", async () => {
    const client = ctx.makeClient({ flushIntervalMs: 60_000 });
    client.track({ conversationId: "c1", messages: [message()] });
    assert.equal(await client.shutdown(5000), true);
    assert.equal(ctx.ingest.messages.size, 1);
  });
});

describe("in a Node process", () => {
  const ctx = useStandIn();
  const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));

  /** Run a module in a child node; resolves with its exit code and how long it ran, killed after 20 s. */
  function runNode(source) {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const child = spawn(process.execPath, ["--input-type=module", "-e", source], { stdio: ["ignore", "inherit", "inherit"] });
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      child.on("error", reject);
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, ms: performance.now() - started });
      });
    });
  }

  test("conversations still queued when the program ends are delivered before the process exits", async () => {
    const source = `
      import * as convosensei from ${JSON.stringify(dist)};
      convosensei.init({ apiKey: ${JSON.stringify(API_KEY)}, baseUrl: ${JSON.stringify(ctx.ingest.url)}, flushIntervalMs: 30000 });
      convosensei.track({ conversationId: "c1", messages: [{ role: "user", content: "bye" }] });
    `;
    const { code } = await runNode(source);
    assert.deepEqual([code, [...ctx.ingest.messages.values()].map((m) => m.content)], [0, ["bye"]]);
  });

  test("a server that is down keeps the process alive for at most shutdownTimeoutMs", async () => {
    const source = `
      import { ConvoSensei } from ${JSON.stringify(dist)};
      const client = new ConvoSensei({ apiKey: ${JSON.stringify(API_KEY)}, baseUrl: "http://127.0.0.1:${await freePort()}", shutdownTimeoutMs: 1000 });
      client.track({ conversationId: "c1", messages: [{ role: "user", content: "lost" }] });
    `;
    const { code, ms } = await runNode(source);
    assert.equal(code, 0);
    assert.ok(ms < 5000, `ran ${ms} ms`);
  });

  test("an idle client does not keep the process alive", async () => {
    const source = `
      import { ConvoSensei } from ${JSON.stringify(dist)};
      const client = new ConvoSensei({ apiKey: ${JSON.stringify(API_KEY)}, baseUrl: ${JSON.stringify(ctx.ingest.url)} });
      client.track({ conversationId: "c1", messages: [{ role: "user", content: "hi" }] });
      await client.flush(5000);
    `;
    const { code, ms } = await runNode(source);
    assert.deepEqual([code, ctx.ingest.messages.size], [0, 1]);
    assert.ok(ms < 3000, `ran ${ms} ms`);
  });
});
