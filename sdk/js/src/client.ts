/**
 * The ConvoSensei client: a bounded in-memory queue, drained in the background into batches that are
 * compressed, sent and retried.
 *
 * track() only validates, copies and enqueues, so it never waits on the network and never throws into the
 * caller's code; JSON encoding, gzip, HTTP and backoff all happen later, on the event loop. The behaviour
 * and the wire format are the Python SDK's (sdk/python/src/convosensei_sdk/client.py); where a JavaScript
 * runtime needs something else, a comment says so.
 */

import * as env from "./env.js";
import { ConvoSenseiError, DeliveryError, InvalidTrackError, QueueFullError } from "./errors.js";
import { buildItem, pythonIsoFormat, type TrackInput, type WireConversation } from "./message.js";
import { type HttpResult, TlsError, Transport } from "./transport.js";

/** Server limits: 100 conversations and 5 MiB per request, 1,000 messages per conversation entry. */
export const SERVER_MAX_CONVERSATIONS = 100;
export const SERVER_MAX_BYTES = 5 * 1024 * 1024;
/** Under the server's limit, so the envelope and a proxy's own accounting never tip a full batch over it. */
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;
export const MAX_MERGED_MESSAGES = 1000;
/**
 * The status of a conversation refused inside a batch: what the server answers for it sent alone
 * (POST /api/v1/conversations/track), not the batch's 202, which reads as success.
 */
const REFUSED_CONVERSATION_STATUS = 400;

export type ErrorCallback = (error: ConvoSenseiError, items: WireConversation[]) => void;

export interface ClientOptions {
  /** `cs_<prefix>_<secret>`; default CONVOSENSEI_API_KEY. */
  apiKey?: string | undefined;
  /** Default CONVOSENSEI_BASE_URL, else http://localhost:8000. */
  baseUrl?: string | undefined;
  /** Sent with every conversation; default CONVOSENSEI_ENVIRONMENT, else not sent. */
  environment?: string | undefined;
  /** track() does nothing; default CONVOSENSEI_DISABLED, else false. */
  disabled?: boolean | undefined;
  /** gzip request bodies where the runtime has CompressionStream; default CONVOSENSEI_GZIP, else true. */
  gzip?: boolean | undefined;
  /** Default CONVOSENSEI_MAX_QUEUE_SIZE, else 10,000 track() calls. */
  maxQueueSize?: number | undefined;
  /** Conversations per request, 1–100; default 100. */
  batchSize?: number | undefined;
  /** Bytes of JSON per request before gzip, 1 KiB–5 MiB; default 4 MiB. */
  maxBatchBytes?: number | undefined;
  /** How long a batch collects from its first conversation; default CONVOSENSEI_FLUSH_INTERVAL (s), else 500 ms. */
  flushIntervalMs?: number | undefined;
  /** Per request; default CONVOSENSEI_TIMEOUT (s), else 10,000 ms. */
  timeoutMs?: number | undefined;
  /** Default CONVOSENSEI_MAX_RETRIES, else 10. */
  maxRetries?: number | undefined;
  /** First backoff step; default 500 ms, doubling. */
  backoffBaseMs?: number | undefined;
  /** Backoff cap; default 30,000 ms. */
  backoffMaxMs?: number | undefined;
  /** Cap on a server's Retry-After; default 300,000 ms. */
  maxRetryAfterMs?: number | undefined;
  /** Default for flush() and shutdown(); default CONVOSENSEI_SHUTDOWN_TIMEOUT (s), else 5,000 ms. */
  shutdownTimeoutMs?: number | undefined;
  /** Called with each error and the conversations it concerns; exceptions it throws are swallowed. */
  onError?: ErrorCallback | undefined;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  "apiKey",
  "baseUrl",
  "environment",
  "disabled",
  "gzip",
  "maxQueueSize",
  "batchSize",
  "maxBatchBytes",
  "flushIntervalMs",
  "timeoutMs",
  "maxRetries",
  "backoffBaseMs",
  "backoffMaxMs",
  "maxRetryAfterMs",
  "shutdownTimeoutMs",
  "onError",
]);

/** Counts of track() calls (one conversation entry each) since the client was created. */
export interface Stats {
  /** waiting in the queue now */
  queued: number;
  /** accepted by the server */
  sent: number;
  /** refused for good by the server, or retries exhausted, or given up at shutdown */
  failed: number;
  /** not enqueued because the queue was full or the client was shut down */
  dropped: number;
  /** rejected by track() for bad input */
  invalid: number;
  /** HTTP attempts that were retried */
  retries: number;
}

interface Encoded {
  item: WireConversation;
  json: string;
  bytes: number;
}

interface FlushWaiter {
  target: number;
  resolve: (done: boolean) => void;
}

type Timer = ReturnType<typeof setTimeout>;

/** A timer that never keeps a Node process alive on its own (browsers and edge runtimes have no unref). */
function unrefTimer(timer: Timer): Timer {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

const encoder = new TextEncoder();

/** One conversation entry as compact JSON; a BigInt in metadata goes as a string, as Python's default=str would. */
function dumps(item: unknown): string {
  return JSON.stringify(item, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
}

function pick<T>(explicit: T | undefined, fromEnv: T | undefined, fallback: T): T {
  if (explicit !== undefined && explicit !== null) return explicit;
  if (fromEnv !== undefined) return fromEnv;
  return fallback;
}

function isTransient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Retry-After in milliseconds (seconds or an HTTP date), or null when absent or unreadable. */
export function retryAfterMs(value: string | null): number | null {
  if (!value || !value.trim()) return null;
  const seconds = Number(value.trim());
  if (!Number.isNaN(seconds)) return Math.max(0, seconds * 1000);
  const when = Date.parse(value);
  if (Number.isNaN(when)) return null;
  return Math.max(0, when - Date.now());
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deliveryErrorFrom(result: HttpResult, url: string): DeliveryError {
  let message = `HTTP ${result.status}`;
  let code: string | undefined;
  let details: unknown;
  try {
    const envelope: unknown = JSON.parse(result.body);
    if (isRecord(envelope)) {
      message = envelope.message ? String(envelope.message) : message;
      code = typeof envelope.code === "string" ? envelope.code : undefined;
      details = envelope.details;
    }
  } catch {
    // Not the server's envelope (a proxy's HTML page): the status says enough.
  }
  if (result.status === 404 || result.status === 405) {
    // Nothing takes batches there: most often a baseUrl with a path of its own.
    message += ` (POST ${url}: baseUrl is the server's root, such as https://convosensei.example.com)`;
  }
  return new DeliveryError(message, { status: result.status, code, details });
}

/**
 * The conversations a response's `results` mark "error", by entry index, with the server's reasons and
 * REFUSED_CONVERSATION_STATUS.
 */
function rejections(results: unknown[], entries: number): Map<number, DeliveryError> {
  const rejected = new Map<number, DeliveryError>();
  for (const entry of results) {
    if (!isRecord(entry) || entry.status !== "error") continue;
    const index = entry.index;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= entries) continue;
    const envelope = isRecord(entry.error) ? entry.error : entry;
    rejected.set(
      index,
      new DeliveryError(envelope.message ? String(envelope.message) : "conversation rejected", {
        status: REFUSED_CONVERSATION_STATUS,
        code: typeof envelope.code === "string" ? envelope.code : undefined,
        details: envelope.details,
      }),
    );
  }
  return rejected;
}

/**
 * Per refused entry, its error and the track() calls an earlier refused entry did not carry: a call sent in
 * parts fails (and is reported) once, for its first refused part.
 */
function firstRefusals(
  rejected: Map<number, DeliveryError>,
  entryItems: WireConversation[][],
): Array<[DeliveryError, WireConversation[]]> {
  const refused = new Set<WireConversation>();
  const out: Array<[DeliveryError, WireConversation[]]> = [];
  for (const index of [...rejected.keys()].sort((a, b) => a - b)) {
    const items = (entryItems[index] ?? []).filter((item) => !refused.has(item));
    for (const item of items) refused.add(item);
    if (items.length) out.push([rejected.get(index)!, items]);
  }
  return out;
}

/**
 * One entry per conversation: the server upserts by external_id, and one request that names a conversation
 * twice is both wasteful and a conflict risk for a bulk upsert. An entry holds at most MAX_MERGED_MESSAGES:
 * a longer track() goes out in parts, entries the server stores one after the other.
 *
 * Returns the encoded entries and, per entry, the track() calls it carries. The Python SDK's
 * `_merge_same_conversation`, step for step.
 */
export function mergeSameConversation(batch: Encoded[]): { entries: string[]; entryItems: WireConversation[][] } {
  const indexOf = new Map<string, number>();
  const merged = new Map<number, WireConversation>();
  const entries: string[] = [];
  const entryItems: WireConversation[][] = [];
  for (const { item, json } of batch) {
    const key = item.external_id;
    const messages = item.messages;
    if (messages.length > MAX_MERGED_MESSAGES) {
      for (let start = 0; start < messages.length; start += MAX_MERGED_MESSAGES) {
        const part = { ...item, messages: messages.slice(start, start + MAX_MERGED_MESSAGES) };
        indexOf.set(key, entries.length);
        merged.set(entries.length, part);
        entries.push(dumps(part));
        entryItems.push([item]);
      }
      continue;
    }
    let index = indexOf.get(key);
    if (index !== undefined && merged.get(index)!.messages.length + messages.length > MAX_MERGED_MESSAGES) {
      index = undefined; // past the server's per-conversation message limit: a second entry instead
    }
    if (index === undefined) {
      indexOf.set(key, entries.length);
      entries.push(json);
      entryItems.push([item]);
      merged.set(entries.length - 1, item); // kept aside in case a later item names the same conversation
      continue;
    }
    let combined = merged.get(index)!;
    if (entryItems[index]!.length === 1) {
      // Still the caller's item (or a part of it): merged into a copy.
      combined = { ...combined, messages: [...combined.messages] };
      merged.set(index, combined);
    }
    combined.messages.push(...messages);
    if ("environment" in item) combined.environment = item.environment!;
    if ("user_id" in item) combined.user_id = item.user_id!;
    if ("metadata" in item) combined.metadata = { ...(combined.metadata ?? {}), ...item.metadata };
    entryItems[index]!.push(item);
  }
  entryItems.forEach((carried, index) => {
    if (carried.length > 1) entries[index] = dumps(merged.get(index));
  });
  return { entries, entryItems };
}

// ------------------------------------------------------------------------------ exit hook (Node only)

/** Clients with a life in this process: the exit hook flushes the ones with work left. */
const liveClients = new Set<ConvoSensei>();
let exitHooked = false;

function hookProcessExit(): void {
  const proc = (globalThis as { process?: { on?: (event: string, listener: () => void) => unknown } }).process;
  if (exitHooked || typeof proc?.on !== "function") return;
  exitHooked = true;
  // beforeExit: the event loop is empty (every SDK timer is unref'd), so the process is about to end; a flush
  // started here keeps it alive for at most shutdownTimeoutMs. It is not emitted on process.exit(), a signal
  // or an uncaught exception: there, `await shutdown()` first.
  proc.on("beforeExit", () => {
    for (const client of liveClients) {
      if (client.hasPendingWork()) void client.shutdown();
    }
  });
}

// ------------------------------------------------------------------------------ the client

/**
 * Sends conversations to a ConvoSensei server in the background.
 *
 * The constructor throws Error/TypeError for programming errors (missing or malformed apiKey, bad baseUrl,
 * out-of-range sizes, an unknown option, an unclear environment variable); after that no method throws.
 */
export class ConvoSensei {
  readonly baseUrl: string;
  readonly environment: string | undefined;
  readonly disabled: boolean;
  readonly gzip: boolean;
  readonly maxQueueSize: number;
  readonly batchSize: number;
  readonly maxBatchBytes: number;
  readonly flushIntervalMs: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly maxRetryAfterMs: number;
  readonly shutdownTimeoutMs: number;
  onError: ErrorCallback | undefined;

  // A private field: util.inspect and JSON.stringify of the client never show the key.
  readonly #apiKey: string;
  #transport: Transport | null = null;

  #queue: WireConversation[] = [];
  /** Encodings of an item that did not fit the last batch, so the next one does not encode it again. */
  #encoded = new WeakMap<WireConversation, Encoded>();
  /** Items ever enqueued, and items finished (sent or given up); finished items are always a prefix. */
  #enqueued = 0;
  #settled = 0;
  #waiters: FlushWaiter[] = [];
  #batchTimer: Timer | null = null;
  #running: Promise<void> | null = null;
  #closed = false;
  #stopping = false;
  #shutdownDeadline: number | null = null;
  #wakeBackoff: (() => void) | null = null;
  #inFlight: AbortController | null = null;
  #sent = 0;
  #failed = 0;
  #dropped = 0;
  #invalid = 0;
  #retries = 0;
  // Message ids without a timestamp: a random per-client prefix plus a counter, 32 hex digits as in Python.
  readonly #idPrefix: string;
  #idCounter = 0;

  constructor(options: ClientOptions = {}) {
    for (const name of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(name)) throw new TypeError(`unknown option: ${name}`);
    }
    this.disabled = pick(options.disabled, env.envBool("CONVOSENSEI_DISABLED"), false);
    const apiKey = pick(options.apiKey, env.envString("CONVOSENSEI_API_KEY"), "");
    if (!this.disabled) {
      if (!apiKey) throw new Error("apiKey is required (or set CONVOSENSEI_API_KEY, or disabled: true)");
      if (typeof apiKey !== "string" || !apiKey.startsWith("cs_") || apiKey.split("_").length < 3) {
        // Catches a pasted prefix or an LLM provider's key before it is sent to the wrong server.
        throw new Error("apiKey must look like cs_<prefix>_<secret>");
      }
    }
    this.#apiKey = apiKey;
    this.baseUrl = pick(options.baseUrl, env.envString("CONVOSENSEI_BASE_URL"), "http://localhost:8000");
    this.environment = pick(options.environment, env.envString("CONVOSENSEI_ENVIRONMENT"), undefined);
    this.gzip = pick(options.gzip, env.envBool("CONVOSENSEI_GZIP"), true);
    this.maxQueueSize = pick(options.maxQueueSize, env.envInt("CONVOSENSEI_MAX_QUEUE_SIZE"), 10_000);
    this.flushIntervalMs = pick(options.flushIntervalMs, env.envSecondsAsMs("CONVOSENSEI_FLUSH_INTERVAL"), 500);
    this.timeoutMs = pick(options.timeoutMs, env.envSecondsAsMs("CONVOSENSEI_TIMEOUT"), 10_000);
    this.maxRetries = pick(options.maxRetries, env.envInt("CONVOSENSEI_MAX_RETRIES"), 10);
    this.shutdownTimeoutMs = pick(
      options.shutdownTimeoutMs,
      env.envSecondsAsMs("CONVOSENSEI_SHUTDOWN_TIMEOUT"),
      5_000,
    );
    this.batchSize = options.batchSize ?? SERVER_MAX_CONVERSATIONS;
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.backoffBaseMs = options.backoffBaseMs ?? 500;
    this.backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 300_000;
    this.onError = options.onError;

    const integer = (value: number, low: number, high: number): boolean =>
      Number.isInteger(value) && value >= low && value <= high;
    const positive = (value: number): boolean => typeof value === "number" && value > 0 && value < Infinity;
    if (!integer(this.batchSize, 1, SERVER_MAX_CONVERSATIONS)) {
      throw new Error(`batchSize must be an integer between 1 and ${SERVER_MAX_CONVERSATIONS}`);
    }
    if (!integer(this.maxBatchBytes, 1024, SERVER_MAX_BYTES)) {
      throw new Error(`maxBatchBytes must be an integer between 1024 and ${SERVER_MAX_BYTES}`);
    }
    if (
      !integer(this.maxQueueSize, 1, Number.MAX_SAFE_INTEGER) ||
      !integer(this.maxRetries, 0, Number.MAX_SAFE_INTEGER) ||
      ![this.flushIntervalMs, this.timeoutMs, this.shutdownTimeoutMs, this.backoffBaseMs, this.backoffMaxMs].every(
        positive,
      ) ||
      !(this.maxRetryAfterMs >= 0)
    ) {
      throw new Error(
        "maxQueueSize and the *Ms durations must be positive, maxRetries an integer >= 0, maxRetryAfterMs >= 0",
      );
    }
    if (options.onError !== undefined && typeof options.onError !== "function") {
      throw new TypeError("onError must be a function");
    }
    if (!this.disabled) {
      // Validates baseUrl now, where a mistake is a programming error.
      this.#transport = new Transport(this.baseUrl, this.#apiKey, this.timeoutMs, this.gzip);
    }
    const random = new Uint8Array(10);
    const cryptoApi = (globalThis as { crypto?: { getRandomValues?: (array: Uint8Array) => Uint8Array } }).crypto;
    if (typeof cryptoApi?.getRandomValues === "function") cryptoApi.getRandomValues(random);
    else for (let i = 0; i < random.length; i++) random[i] = Math.floor(Math.random() * 256);
    this.#idPrefix = Array.from(random, (byte) => byte.toString(16).padStart(2, "0")).join("");
    if (!this.disabled) {
      liveClients.add(this);
      hookProcessExit();
    }
  }

  // ---------------------------------------------------------------------------------------- public

  /**
   * Enqueue messages of one conversation; returns true if enqueued.
   *
   * Each message is {role, content, timestamp?, id?, metadata?}: a missing timestamp gets now, and a missing
   * id a hash of the conversation id, role, timestamp and content when the caller gave the timestamp (so a
   * re-sent transcript is deduped), else a fresh unique id. Never throws: bad input is counted as invalid,
   * passed to onError and dropped.
   */
  track(input: TrackInput): boolean {
    if (this.disabled) return false;
    let item: WireConversation;
    try {
      item = buildItem(input, this.environment, () => this.#newMessageId(), pythonIsoFormat(new Date()));
    } catch (error) {
      this.#invalid += 1;
      const reason =
        error instanceof InvalidTrackError ? error : new InvalidTrackError(error instanceof Error ? error.message : String(error));
      this.#report(reason, []);
      return false;
    }
    if (this.#closed) {
      this.#dropped += 1;
      return false;
    }
    if (this.#queue.length >= this.maxQueueSize) {
      this.#dropped += 1;
      this.#report(new QueueFullError(`queue full (${this.maxQueueSize} items); dropped`), [item]);
      return false;
    }
    this.#queue.push(item);
    this.#enqueued += 1;
    this.#schedule();
    return true;
  }

  /**
   * Wait until everything tracked so far has been sent or given up; resolves false on timeout (default
   * shutdownTimeoutMs), even while the server is down, and never rejects.
   *
   * Unlike the SDK's own timers, this wait keeps a Node process alive until it ends: the caller asked for it.
   */
  flush(timeoutMs: number = this.shutdownTimeoutMs): Promise<boolean> {
    if (this.disabled || this.#settled >= this.#enqueued) return Promise.resolve(true);
    const target = this.#enqueued;
    return new Promise<boolean>((resolve) => {
      const waiter: FlushWaiter = {
        target,
        resolve: (done) => {
          clearTimeout(timer);
          this.#waiters = this.#waiters.filter((other) => other !== waiter);
          resolve(done);
        },
      };
      const timer = setTimeout(() => waiter.resolve(false), Math.max(0, timeoutMs));
      this.#waiters.push(waiter);
      this.#schedule();
    });
  }

  /**
   * Stop accepting, flush for at most `timeoutMs` (default shutdownTimeoutMs), then give up what is left.
   *
   * Resolves false if it timed out with conversations undelivered: they are counted as failed and passed to
   * onError. Never rejects. Node runs it by itself when the event loop empties (beforeExit).
   */
  async shutdown(timeoutMs: number = this.shutdownTimeoutMs): Promise<boolean> {
    if (this.#closed) return true;
    this.#closed = true;
    liveClients.delete(this);
    if (this.disabled) return true;
    const deadline = Date.now() + timeoutMs;
    this.#shutdownDeadline = deadline;
    const flushed = await this.flush(timeoutMs);
    this.#stopping = true;
    // Out of time: the request in flight is cut, a backoff wait ends, and the delivery loop gives its batch
    // up at once instead of retrying past the deadline.
    this.#inFlight?.abort();
    this.#wakeBackoff?.();
    clearTimeout(this.#batchTimer ?? undefined);
    this.#batchTimer = null;
    const left = this.#queue.splice(0);
    if (left.length) {
      this.#giveUp(left, new DeliveryError("shutdown before delivery"));
      this.#settle(left.length);
    }
    const running = this.#running;
    if (running) {
      let timer: Timer | undefined;
      await Promise.race([running, new Promise((resolve) => (timer = setTimeout(resolve, 100)))]);
      clearTimeout(timer);
    }
    return flushed;
  }

  /** A snapshot of the counters. */
  stats(): Stats {
    return {
      queued: this.#queue.length,
      sent: this.#sent,
      failed: this.#failed,
      dropped: this.#dropped,
      invalid: this.#invalid,
      retries: this.#retries,
    };
  }

  /** Whether conversations are queued or being sent (the exit hook flushes only such clients). */
  hasPendingWork(): boolean {
    return this.#settled < this.#enqueued;
  }

  // ---------------------------------------------------------------------------------------- internals

  #newMessageId(): string {
    const id = `${this.#idPrefix}${this.#idCounter.toString(16).padStart(12, "0")}`;
    this.#idCounter += 1;
    return id;
  }

  #report(error: ConvoSenseiError, items: WireConversation[]): void {
    if (!this.onError) return;
    try {
      this.onError(error, items);
    } catch {
      // A bug in the callback must not reach the caller of track() nor stop delivery.
    }
  }

  #giveUp(items: WireConversation[], error: ConvoSenseiError): void {
    this.#failed += items.length;
    this.#report(error, items);
  }

  /** Whether the queue should go out now rather than wait for the batch interval. */
  #urgent(): boolean {
    return this.#queue.length >= this.batchSize || this.#waiters.length > 0 || this.#closed;
  }

  #schedule(): void {
    if (this.#running || this.#stopping || this.#queue.length === 0) return;
    if (this.#urgent()) {
      if (this.#batchTimer) clearTimeout(this.#batchTimer);
      this.#batchTimer = null;
      this.#running = this.#drain();
    } else if (!this.#batchTimer) {
      // The interval runs from the first conversation of a batch, so a quiet spell does not make the next tiny.
      this.#batchTimer = unrefTimer(
        setTimeout(() => {
          this.#batchTimer = null;
          if (!this.#running && !this.#stopping && this.#queue.length) this.#running = this.#drain();
        }, this.flushIntervalMs),
      );
    }
  }

  #settle(count: number): void {
    this.#settled += count;
    for (const waiter of [...this.#waiters]) {
      if (this.#settled >= waiter.target) waiter.resolve(true);
    }
  }

  async #drain(): Promise<void> {
    try {
      do {
        const { batch, skipped } = this.#takeBatch();
        if (batch.length) await this.#deliver(batch);
        this.#settle(batch.length + skipped);
      } while (this.#queue.length && this.#urgent() && !this.#stopping);
    } catch {
      // A bug here must not surface as an unhandled rejection in the application; the queue stays, and the
      // next track() or flush() starts a new drain.
    } finally {
      this.#running = null;
      this.#schedule();
    }
  }

  /** Up to batchSize conversations and maxBatchBytes of JSON off the queue, in order. */
  #takeBatch(): { batch: Encoded[]; skipped: number } {
    const batch: Encoded[] = [];
    let size = 0;
    let skipped = 0;
    while (batch.length < this.batchSize && this.#queue.length) {
      const item = this.#queue[0]!;
      let encoded = this.#encoded.get(item);
      if (!encoded) {
        try {
          const json = dumps(item);
          encoded = { item, json, bytes: encoder.encode(json).length };
        } catch (error) {
          this.#queue.shift();
          skipped += 1;
          const reason = error instanceof Error ? error.message : String(error);
          this.#giveUp([item], new DeliveryError(`could not encode conversation: ${reason}`));
          continue;
        }
      }
      if (encoded.bytes > this.maxBatchBytes) {
        this.#queue.shift();
        skipped += 1;
        this.#giveUp([item], new DeliveryError("conversation larger than maxBatchBytes", { status: 413 }));
        continue;
      }
      if (batch.length && size + encoded.bytes > this.maxBatchBytes) {
        this.#encoded.set(item, encoded); // first of the next batch
        break;
      }
      this.#queue.shift();
      batch.push(encoded);
      size += encoded.bytes;
    }
    return { batch, skipped };
  }

  /**
   * Send one batch, retrying transient failures; every item ends up counted as sent or failed.
   *
   * Resolves true when the server accepted every conversation of the batch; never rejects.
   */
  async #deliver(batch: Encoded[]): Promise<boolean> {
    const { entries, entryItems } = mergeSameConversation(batch);
    const body = `{"conversations":[${entries.join(",")}]}`;
    const items = batch.map((encoded) => encoded.item);
    let attempt = 0;
    for (;;) {
      let error: Error;
      let retryAfter: number | null = null;
      let result: HttpResult | null = null;
      const controller = new AbortController();
      this.#inFlight = controller;
      try {
        result = await this.#transport!.postBatch(body, controller.signal);
      } catch (networkError) {
        if (networkError instanceof TlsError) {
          // A wrong baseUrl or an untrusted certificate: retries would only delay the news.
          this.#giveUp(items, new DeliveryError(networkError.message));
          return false;
        }
        error = networkError instanceof Error ? networkError : new Error(String(networkError));
      } finally {
        this.#inFlight = null;
      }
      if (result) {
        if (result.status >= 200 && result.status < 300) return this.#accountResults(result, batch.length, entryItems);
        if (result.status === 413 && batch.length > 1) {
          const half = Math.floor(batch.length / 2);
          const firstOk = await this.#deliver(batch.slice(0, half));
          const secondOk = await this.#deliver(batch.slice(half));
          return firstOk && secondOk;
        }
        const refused = deliveryErrorFrom(result, this.#transport!.url);
        error = refused;
        if (!isTransient(result.status)) {
          const results = isRecord(refused.details) ? refused.details.results : undefined;
          if (Array.isArray(results)) {
            // No conversation was valid: each is refused for its own reasons, as in a 202.
            const rejected = rejections(results, entryItems.length);
            const every = new Map(entryItems.map((_, index) => [index, rejected.get(index) ?? refused] as const));
            for (const [reason, refusedItems] of firstRefusals(every, entryItems)) this.#giveUp(refusedItems, reason);
          } else {
            this.#giveUp(items, refused);
          }
          return false;
        }
        retryAfter = retryAfterMs(result.retryAfter);
      }
      attempt += 1;
      const last = error! as Error & { status?: number; code?: string };
      if (attempt > this.maxRetries) {
        this.#giveUp(
          items,
          new DeliveryError(`gave up after ${this.maxRetries} retries: ${last.message}`, {
            status: last.status,
            code: last.code,
          }),
        );
        return false;
      }
      const delay = this.#backoff(attempt, retryAfter);
      if (this.#stopping || (this.#shutdownDeadline !== null && Date.now() + delay > this.#shutdownDeadline)) {
        // Shutting down and the next attempt could not happen in time: say so now, not never.
        this.#giveUp(
          items,
          new DeliveryError(`shutdown before delivery: ${last.message}`, { status: last.status, code: last.code }),
        );
        return false;
      }
      this.#retries += 1;
      await this.#sleep(delay);
    }
  }

  #backoff(attempt: number, retryAfter: number | null): number {
    const ceiling = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** (attempt - 1));
    // "Equal jitter": never less than half the exponential step, so retries from many processes spread out
    // without collapsing to zero delay.
    let delay = ceiling / 2 + Math.random() * (ceiling / 2);
    if (retryAfter !== null) {
      // The server's Retry-After is a floor, capped so one odd header cannot stall the queue for hours.
      delay = Math.max(delay, Math.min(retryAfter, this.maxRetryAfterMs));
    }
    return delay;
  }

  /** A backoff wait that shutdown() can cut short; it never keeps a process alive by itself. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wakeBackoff = null;
        resolve();
      };
      const timer = unrefTimer(setTimeout(done, ms));
      this.#wakeBackoff = done;
    });
  }

  #accountResults(result: HttpResult, total: number, entryItems: WireConversation[][]): boolean {
    let results: unknown;
    try {
      const parsed: unknown = JSON.parse(result.body || "{}");
      results = isRecord(parsed) ? parsed.results : undefined;
    } catch {
      results = undefined;
    }
    if (!Array.isArray(results)) {
      // A 2xx without per-conversation results is taken as all accepted.
      this.#sent += total;
      return true;
    }
    let failed = 0;
    for (const [error, refused] of firstRefusals(rejections(results, entryItems.length), entryItems)) {
      failed += refused.length;
      this.#giveUp(refused, error);
    }
    this.#sent += total - failed;
    return failed === 0;
  }
}
