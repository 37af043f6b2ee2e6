// A stand-in for the ConvoSensei batch ingestion endpoint on 127.0.0.1, for the SDK's tests: the Node twin of
// sdk/python/tests/ingest_standin.py. It behaves like the server where the SDK can tell: bearer auth, gzip
// bodies, the 100-conversation, 1,000-message and 5 MiB limits, per-conversation results (field errors in the
// server's error envelope, and a 400 when none is valid), dedupe by client message id, and scripted failures.

import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export const API_KEY = "cs_test_secret";
export const BATCH_PATH = "/api/v1/conversations/track/batch";
const MAX_CONVERSATIONS = 100;
const MAX_MESSAGES = 1000;
const MAX_BYTES = 5 * 1024 * 1024;
const ROLES = new Set(["user", "assistant", "system", "tool"]);
const MAX_CLOCK_SKEW_MS = 300_000;
export const AHEAD = "The timestamp is more than 300 seconds ahead of the server's clock.";

export class IngestStandIn {
  /** `tls` ({key, cert} in PEM) makes it an HTTPS server. */
  constructor({ apiKey = API_KEY, port = 0, tls = null } = {}) {
    this.apiKey = apiKey;
    this.wantedPort = port;
    this.script = [];
    this.requests = []; // {at, headers, wireBytes, body, status}
    this.messages = new Map(); // by client message id, like the server's dedupe
    this.messageDeliveries = 0; // every accepted message, duplicates included
    this.arrivalListeners = [];
    this.scheme = tls ? "https" : "http";
    const handle = (req, res) => this.#handle(req, res);
    this.server = tls ? createTlsServer(tls, handle) : createServer(handle);
  }

  async start() {
    this.server.listen(this.wantedPort, "127.0.0.1");
    await once(this.server, "listening");
    this.port = this.server.address().port;
    this.url = `${this.scheme}://127.0.0.1:${this.port}`;
    return this;
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** The next `times` requests get this response instead of being processed (after `delayMs`, if given). */
  respondNext(status, { times = 1, headers = {}, body = null, delayMs = 0 } = {}) {
    for (let i = 0; i < times; i++) this.script.push({ status, headers, body, delayMs });
  }

  /** The next request is answered normally, but only after `delayMs`. */
  delayNext(delayMs) {
    this.script.push({ status: null, headers: {}, body: null, delayMs });
  }

  distinctMessageIds() {
    return new Set(this.messages.keys());
  }

  acceptedRequests() {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  /** Resolves true once `count` requests have been answered, false after `timeoutMs`. */
  waitForRequests(count, timeoutMs) {
    if (this.requests.length >= count) return Promise.resolve(true);
    return new Promise((resolve) => {
      const listener = () => {
        if (this.requests.length >= count) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (ok) => {
        clearTimeout(timer);
        this.arrivalListeners = this.arrivalListeners.filter((other) => other !== listener);
        resolve(ok);
      };
      this.arrivalListeners.push(listener);
    });
  }

  async #handle(req, res) {
    const at = performance.now();
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const raw = Buffer.concat(chunks);
    const scripted = this.script.shift();
    if (scripted?.delayMs) await new Promise((resolve) => setTimeout(resolve, scripted.delayMs));
    let outcome;
    if (scripted && scripted.status !== null) {
      const body = scripted.body ?? { message: "scripted", code: "scripted", details: {} };
      outcome = { status: scripted.status, payload: body, headers: scripted.headers, parsed: null };
    } else {
      outcome = this.#process(req, raw);
    }
    this.requests.push({ at, headers: req.headers, wireBytes: raw.length, body: outcome.parsed, status: outcome.status });
    for (const listener of [...this.arrivalListeners]) listener();
    if (res.destroyed) return; // the client gave up waiting (a timeout test)
    res.writeHead(outcome.status, { "Content-Type": "application/json", ...outcome.headers });
    res.end(JSON.stringify(outcome.payload));
  }

  #process(req, raw) {
    const error = (status, code, message) => ({
      status,
      payload: { message, code, details: {} },
      headers: {},
      parsed: null,
    });
    if (req.url !== BATCH_PATH) return error(404, "not_found", "no such endpoint");
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return error(401, "authentication_failed", "invalid API key");
    }
    if (!req.headers["content-length"]) return error(411, "length_required", "send a Content-Length");
    if (req.headers["content-encoding"] === "gzip") {
      try {
        raw = gunzipSync(raw);
      } catch {
        return error(400, "bad_gzip", "body is not valid gzip");
      }
    }
    if (raw.length > MAX_BYTES) return error(413, "payload_too_large", "request body over 5 MiB");
    let body;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      return error(400, "invalid_json", "body is not JSON");
    }
    const conversations = body?.conversations;
    if (!Array.isArray(conversations) || conversations.length === 0) {
      return error(400, "invalid", "conversations must be a non-empty list");
    }
    if (conversations.length > MAX_CONVERSATIONS) {
      return error(400, "too_many_conversations", "at most 100 conversations per request");
    }
    const results = conversations.map((conversation, index) => {
      const problem = conversationProblem(conversation);
      if (problem) {
        const envelope = { message: "The conversation has invalid fields.", code: "validation_error", details: problem };
        return { index, status: "error", error: envelope };
      }
      for (const message of conversation.messages) {
        this.messageDeliveries += 1;
        const key = message.id ?? `${message.role}|${message.timestamp}|${message.content}`;
        if (!this.messages.has(key)) this.messages.set(key, { ...message, external_id: conversation.external_id });
      }
      return { index, status: "ok", external_id: conversation.external_id };
    });
    if (results.every((result) => result.status === "error")) {
      const envelope = { message: "No conversation in the batch is valid.", code: "validation_error" };
      return { status: 400, payload: { ...envelope, details: { results } }, headers: {}, parsed: body };
    }
    return { status: 202, payload: { results }, headers: {}, parsed: body };
  }
}

function conversationProblem(conversation) {
  if (typeof conversation !== "object" || conversation === null) return { non_field_errors: ["Must be an object."] };
  if (typeof conversation.external_id !== "string") return { external_id: ["Must be a string."] };
  const messages = conversation.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    return { messages: ["A conversation needs at least one message."] };
  }
  if (messages.length > MAX_MESSAGES) return { messages: [`At most ${MAX_MESSAGES} messages per conversation.`] };
  for (const [index, message] of messages.entries()) {
    const problem = messageProblem(message);
    if (problem) return { messages: { [String(index)]: problem } };
  }
  return null;
}

function messageProblem(message) {
  if (!ROLES.has(message?.role)) return { role: ["Must be one of user, assistant, system or tool."] };
  if (typeof message.content !== "string") return { content: ["Must be a string."] };
  const at = typeof message.timestamp === "string" ? Date.parse(message.timestamp) : Number.NaN;
  if (Number.isNaN(at)) return { timestamp: ["Must be an ISO-8601 date and time such as 2026-11-26T09:00:00Z."] };
  if (at > Date.now() + MAX_CLOCK_SKEW_MS) return { timestamp: [AHEAD] };
  return null;
}

/** A port nothing listens on (yet). */
export async function freePort() {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A new self-signed certificate for 127.0.0.1 ({key, cert} in PEM), which no client trusts; null without openssl. */
export function selfSignedCert() {
  const folder = mkdtempSync(join(tmpdir(), "convosensei-tls-"));
  try {
    const [key, cert] = [join(folder, "key.pem"), join(folder, "cert.pem")];
    const command = "req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 -addext subjectAltName=IP:127.0.0.1";
    execFileSync("openssl", [...command.split(" "), "-keyout", key, "-out", cert], { stdio: "ignore", timeout: 30_000 });
    return { key: readFileSync(key), cert: readFileSync(cert) };
  } catch (error) {
    if (error.code === "ENOENT") return null;
    throw error;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
