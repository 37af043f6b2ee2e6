// Shared set-up: a stand-in per test, clients with test-friendly timings that are always shut down.

import { after, afterEach, beforeEach } from "node:test";
import { ConvoSensei } from "../dist/index.js";
import { API_KEY, IngestStandIn } from "./standin.mjs";

export { API_KEY };

/** `ctx.ingest` is a fresh stand-in for each test; `ctx.makeClient(options)` a client pointed at it. */
export function useStandIn() {
  const ctx = { ingest: null, clients: [] };
  beforeEach(async () => {
    ctx.ingest = await new IngestStandIn().start();
  });
  afterEach(async () => {
    await Promise.all(ctx.clients.map((client) => client.shutdown(300)));
    ctx.clients = [];
    await ctx.ingest.stop();
  });
  ctx.makeClient = (options = {}) => {
    const client = new ConvoSensei({
      apiKey: API_KEY,
      baseUrl: ctx.ingest.url,
      flushIntervalMs: 50,
      backoffBaseMs: 50,
      backoffMaxMs: 500,
      timeoutMs: 5000,
      shutdownTimeoutMs: 2000,
      ...options,
    });
    ctx.clients.push(client);
    return client;
  };
  return ctx;
}

export function message(content = "hello", role = "user", extra = {}) {
  return { role, content, ...extra };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export { after };
