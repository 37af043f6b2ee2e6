// track(), the constructor and configuration: what the caller sees.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as convosensei from "../dist/index.js";
import { ConvoSensei, InvalidTrackError } from "../dist/index.js";
import { API_KEY, message, useStandIn } from "./helpers.mjs";

describe("track", () => {
  const ctx = useStandIn();

  test("tracked messages reach the server", async () => {
    const client = ctx.makeClient();
    client.track({ conversationId: "c1", messages: [message("hi"), message("hello!", "assistant")] });
    assert.equal(await client.flush(5000), true);
    assert.deepEqual([...ctx.ingest.messages.values()].map((m) => m.content).sort(), ["hello!", "hi"]);
  });

  test("a transcript tracked again with its timestamps adds each message once", async () => {
    const client = ctx.makeClient();
    const history = [
      message("Where is my order?", "user", { timestamp: "2026-11-26T09:00:00Z" }),
      message("It shipped yesterday.", "assistant", { timestamp: "2026-11-26T09:00:04Z" }),
    ];
    client.track({ conversationId: "c1", messages: history });
    await client.flush(5000);
    client.track({ conversationId: "c1", messages: [...history, message("Thanks", "user", { timestamp: "2026-11-26T09:01:00Z" })] });
    await client.flush(5000);
    assert.deepEqual([ctx.ingest.distinctMessageIds().size, ctx.ingest.messageDeliveries], [3, 5]);
  });

  test("repeats of a message at the same timestamp stay distinct", async () => {
    const client = ctx.makeClient();
    const ok = message("ok", "user", { timestamp: "2026-11-26T09:00:00Z" });
    client.track({ conversationId: "c1", messages: [ok, ok] });
    await client.flush(5000);
    assert.equal(ctx.ingest.distinctMessageIds().size, 2);
  });

  test("client-supplied message ids are sent unchanged", async () => {
    const client = ctx.makeClient();
    client.track({ conversationId: "c1", messages: [message("hi", "user", { id: "m-1" })] });
    await client.flush(5000);
    assert.deepEqual([...ctx.ingest.distinctMessageIds()], ["m-1"]);
  });

  test("environment, user id and metadata are sent with the conversation", async () => {
    const client = ctx.makeClient({ environment: "staging" });
    client.track({ conversationId: "c1", messages: [message()], userId: "u-7", metadata: { plan: "pro" } });
    await client.flush(5000);
    const sent = ctx.ingest.acceptedRequests()[0].body.conversations[0];
    assert.deepEqual([sent.environment, sent.user_id, sent.metadata], ["staging", "u-7", { plan: "pro" }]);
  });

  test("an entry goes on the wire with the Python SDK's keys in its order", async () => {
    const client = ctx.makeClient({ environment: "prod" });
    const timestamp = "2026-11-26T09:00:00Z";
    client.track({
      conversationId: "c1",
      messages: [message("hi", "user", { timestamp, id: "m1", metadata: { model: "x" } })],
      userId: "u",
      metadata: { a: 1 },
    });
    await client.flush(5000);
    const sent = ctx.ingest.acceptedRequests()[0].body.conversations[0];
    assert.deepEqual(
      [Object.keys(sent), Object.keys(sent.messages[0])],
      [["external_id", "messages", "metadata", "environment", "user_id"], ["role", "content", "timestamp", "id", "metadata"]],
    );
  });

  test("changing a message after track() does not change what is sent", async () => {
    const client = ctx.makeClient({ flushIntervalMs: 300 });
    const original = message("before", "user", { metadata: { k: "before" } });
    const messages = [original];
    client.track({ conversationId: "c1", messages });
    original.content = "after";
    original.metadata.k = "after";
    messages.push(message("added later"));
    await client.flush(5000);
    const sent = [...ctx.ingest.messages.values()];
    assert.deepEqual(sent.map((m) => [m.content, m.metadata]), [["before", { k: "before" }]]);
  });

  const BAD = [
    { conversationId: "", messages: [message()] },
    { conversationId: "c1", messages: [] },
    { conversationId: "c1", messages: "hello" },
    { conversationId: "c1", messages: [{ role: "robot", content: "x" }] },
    { conversationId: "c1", messages: [{ role: "user", content: null }] },
    { conversationId: "c1", messages: [message("x", "user", { timestamp: 12345 })] },
    { conversationId: "c1", messages: [message("x", "user", { timestamp: new Date("not a date") })] },
    { conversationId: "c1", messages: [message()], metadata: ["not", "an", "object"] },
    { conversationId: "c1", messages: [message("x", "user", { metadata: "no" })] },
  ];
  for (const bad of BAD) {
    test(`bad input ${JSON.stringify(bad)} is counted as invalid and reported instead of thrown`, () => {
      const errors = [];
      const client = ctx.makeClient({ onError: (error, items) => errors.push([error, items]) });
      assert.equal(client.track(bad), false);
      assert.deepEqual(
        [client.stats().invalid, errors.length, errors[0][0] instanceof InvalidTrackError, errors[0][1]],
        [1, 1, true, []],
      );
    });
  }

  test("track() with no argument at all returns false instead of throwing", () => {
    const client = ctx.makeClient();
    assert.deepEqual([client.track(), client.stats().invalid], [false, 1]);
  });

  test("an invalid role is reported in the Python SDK's words", () => {
    const errors = [];
    const client = ctx.makeClient({ onError: (error) => errors.push(error.message) });
    client.track({ conversationId: "c1", messages: [{ role: "robot", content: "x" }] });
    assert.deepEqual(errors, ['message role must be user, assistant, system or tool, got "robot"']);
  });

  test("an onError callback that throws does not reach the caller", () => {
    const client = ctx.makeClient({
      onError: () => {
        throw new Error("callback bug");
      },
    });
    assert.equal(client.track({ conversationId: "c1", messages: [{ role: "robot", content: "x" }] }), false);
  });

  test("a disabled client sends nothing", async () => {
    const client = ctx.makeClient({ disabled: true, apiKey: undefined });
    assert.equal(client.track({ conversationId: "c1", messages: [message()] }), false);
    assert.equal(await client.flush(1000), true);
    assert.equal(ctx.ingest.requests.length, 0);
  });

  test("track() after shutdown() is counted as dropped", async () => {
    const client = ctx.makeClient();
    await client.shutdown(1000);
    client.track({ conversationId: "c1", messages: [message()] });
    assert.equal(client.stats().dropped, 1);
  });

  test("module-level track() sends through the client made by init()", async () => {
    convosensei.init({ apiKey: API_KEY, baseUrl: ctx.ingest.url, flushIntervalMs: 50 });
    try {
      assert.equal(convosensei.track({ conversationId: "c1", messages: [message()] }), true);
      assert.equal(await convosensei.flush(5000), true);
      assert.deepEqual([ctx.ingest.messages.size, convosensei.stats().sent], [1, 1]);
    } finally {
      await convosensei.shutdown(2000);
    }
  });
});

describe("configuration", () => {
  const withEnv = (vars, fn) => {
    const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
    Object.assign(process.env, vars);
    try {
      return fn();
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  };

  test("a client without an API key throws", () => {
    withEnv({ CONVOSENSEI_API_KEY: "" }, () => {
      assert.throws(() => new ConvoSensei({ baseUrl: "http://127.0.0.1:9" }), /apiKey/);
    });
  });

  test("a key that is not a ConvoSensei key throws without quoting it", () => {
    assert.throws(
      () => new ConvoSensei({ apiKey: "sk-openai-key", baseUrl: "http://127.0.0.1:9" }),
      (error) => /cs_/.test(error.message) && !error.message.includes("sk-openai-key"),
    );
  });

  test("a base URL that is not http(s) throws", () => {
    assert.throws(() => new ConvoSensei({ apiKey: API_KEY, baseUrl: "ftp://example" }), /baseUrl/);
  });

  test("a base URL with a password in it throws without quoting it", () => {
    assert.throws(
      () => new ConvoSensei({ apiKey: API_KEY, baseUrl: "http://user:hunter2@127.0.0.1:9" }),
      (error) => /baseUrl/.test(error.message) && !error.message.includes("hunter2"),
    );
  });

  test("an unknown option throws a TypeError", () => {
    assert.throws(() => new ConvoSensei({ apiKey: API_KEY, flushInterval: 5 }), TypeError);
  });

  test("out-of-range sizes throw", () => {
    assert.throws(() => new ConvoSensei({ apiKey: API_KEY, batchSize: 101 }), /batchSize/);
  });

  test("settings are read from the Python SDK's environment variables, seconds as seconds", () => {
    const vars = {
      CONVOSENSEI_API_KEY: API_KEY,
      CONVOSENSEI_BASE_URL: "http://127.0.0.1:9",
      CONVOSENSEI_ENVIRONMENT: "prod",
      CONVOSENSEI_FLUSH_INTERVAL: "0.25",
      CONVOSENSEI_MAX_QUEUE_SIZE: "50",
      CONVOSENSEI_GZIP: "off",
    };
    const client = withEnv(vars, () => new ConvoSensei());
    assert.deepEqual(
      [client.baseUrl, client.environment, client.flushIntervalMs, client.maxQueueSize, client.gzip],
      ["http://127.0.0.1:9", "prod", 250, 50, false],
    );
  });

  test("an unclear boolean environment variable throws, naming it", () => {
    withEnv({ CONVOSENSEI_GZIP: "yes please" }, () => {
      assert.throws(() => new ConvoSensei({ apiKey: API_KEY }), /CONVOSENSEI_GZIP/);
    });
  });

  test("module-level track() without init() or environment is a no-op", () => {
    withEnv({ CONVOSENSEI_API_KEY: "" }, () => {
      assert.equal(convosensei.track({ conversationId: "c1", messages: [message()] }), false);
    });
  });

  test("the API key is not visible when the client is inspected or serialised", async () => {
    const { inspect } = await import("node:util");
    const client = new ConvoSensei({ apiKey: API_KEY, baseUrl: "http://127.0.0.1:9" });
    const shown = inspect(client, { depth: 5, showHidden: true }) + JSON.stringify(client);
    await client.shutdown(0);
    assert.equal(shown.includes("secret"), false);
  });
});
