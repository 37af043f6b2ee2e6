/** track() input: validated and copied into the wire format, with message ids that match the Python SDK's. */

import { InvalidTrackError } from "./errors.js";
import { sha256Hex, utf8SurrogatePass } from "./sha256.js";

export type Role = "user" | "assistant" | "system" | "tool";
const ROLES: ReadonlySet<string> = new Set(["user", "assistant", "system", "tool"]);

export interface MessageInput {
  role: Role;
  content: string;
  /** An ISO-8601 string (sent as given) or a Date; default: now. */
  timestamp?: string | Date | null | undefined;
  /** Your message id, the server's dedupe key; default: a stable hash (with a timestamp) or a fresh id. */
  id?: string | number | null | undefined;
  /** model, latency_ms, tokens, error… */
  metadata?: Record<string, unknown> | null | undefined;
}

export interface TrackInput {
  /** Your conversation id: the server's `external_id`, the upsert key. */
  conversationId: string;
  messages: readonly MessageInput[];
  userId?: string | number | null | undefined;
  /** Overrides the client's environment for this conversation. */
  environment?: string | null | undefined;
  metadata?: Record<string, unknown> | null | undefined;
}

/** One message as it goes on the wire (the server's MessageIn); keys in the Python SDK's order. */
export interface WireMessage {
  role: Role;
  content: string;
  timestamp: string;
  id: string;
  metadata?: Record<string, unknown>;
}

/** One conversation entry as it goes on the wire (the server's ConversationIn). */
export interface WireConversation {
  external_id: string;
  messages: WireMessage[];
  metadata?: Record<string, unknown>;
  environment?: string;
  user_id?: string;
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, "0");
}

/**
 * A Date as Python's `datetime.isoformat()` writes the same instant in UTC ("2024-05-01T12:00:00+00:00",
 * "2024-05-01T12:00:00.250000+00:00"): the timestamp is part of a message's stable id, so both SDKs must
 * write one instant the same way.
 */
export function pythonIsoFormat(date: Date): string {
  const ms = date.getUTCMilliseconds();
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}` +
    (ms ? `.${pad(ms, 3)}000` : "") +
    "+00:00"
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Date) return "Date";
  return typeof value;
}

function isoTimestamp(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new InvalidTrackError("timestamp is an invalid Date");
    return pythonIsoFormat(value);
  }
  throw new InvalidTrackError(`timestamp must be an ISO-8601 string or a Date, got ${typeName(value)}`);
}

/**
 * A message's stable id: the first 32 hex digits of SHA-256 over conversation id, role, timestamp and
 * content joined by U+001F, then U+001F and the how-many-th repeat of that message within one track() call
 * (0 for the first), encoded as Python's UTF-8 with surrogatepass. Exactly the Python SDK's
 * `_build_item.stable_id`, so a transcript tracked by either SDK, or re-sent whole on every turn, is stored once.
 */
export function stableMessageId(
  conversationId: string,
  role: string,
  timestamp: string,
  content: string,
  repeat: number,
): string {
  const key = [conversationId, role, timestamp, content].join("\x1f");
  return sha256Hex(utf8SurrogatePass(`${key}\x1f${repeat}`)).slice(0, 32);
}

/**
 * Validate and copy one track() call into a wire entry; throws InvalidTrackError (with the Python SDK's
 * wording, in JavaScript's names) when it cannot be sent.
 */
export function buildItem(
  input: TrackInput,
  clientEnvironment: string | undefined,
  newMessageId: () => string,
  now: string,
): WireConversation {
  if (!isRecord(input)) throw new InvalidTrackError("track() takes one object: { conversationId, messages, ... }");
  const { conversationId, messages, metadata, userId, environment } = input;
  if (typeof conversationId !== "string" || conversationId === "") {
    throw new InvalidTrackError("conversationId must be a non-empty string");
  }
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new InvalidTrackError("messages must be a non-empty array of message objects");
  }
  const repeats = new Map<string, number>();
  const copied = messages.map((message: unknown): WireMessage => {
    if (!isRecord(message)) throw new InvalidTrackError(`each message must be an object, got ${typeName(message)}`);
    const role = message.role;
    if (typeof role !== "string" || !ROLES.has(role)) {
      throw new InvalidTrackError(
        `message role must be user, assistant, system or tool, got ${JSON.stringify(role) ?? String(role)}`,
      );
    }
    const content = message.content;
    if (typeof content !== "string") {
      throw new InvalidTrackError(`message content must be a string, got ${typeName(content)}`);
    }
    const given = message.timestamp;
    const timestamp = given === undefined || given === null ? now : isoTimestamp(given);
    let id: string;
    if (message.id !== undefined && message.id !== null) {
      id = String(message.id);
    } else if (given === undefined || given === null) {
      // Assigned now, once, so a retried batch carries the same ids and the server dedupes it.
      id = newMessageId();
    } else {
      // The caller's own timestamp: the same message tracked again (a transcript re-sent on every turn)
      // hashes to the same id. A repeat ("ok", "ok") at one timestamp in one call is a message of its own.
      const key = [conversationId, role, timestamp, content].join("\x1f");
      const repeat = (repeats.get(key) ?? -1) + 1;
      repeats.set(key, repeat);
      id = stableMessageId(conversationId, role, timestamp, content, repeat);
    }
    const out: WireMessage = { role: role as Role, content, timestamp, id };
    if (message.metadata !== undefined && message.metadata !== null) {
      if (!isRecord(message.metadata)) throw new InvalidTrackError("message metadata must be an object");
      // A shallow copy: the caller may reuse its object after track() returns.
      out.metadata = { ...message.metadata };
    }
    return out;
  });
  const item: WireConversation = { external_id: conversationId, messages: copied };
  if (metadata !== undefined && metadata !== null) {
    if (!isRecord(metadata)) throw new InvalidTrackError("metadata must be an object");
    item.metadata = { ...metadata };
  }
  const env = environment ?? clientEnvironment;
  if (env !== undefined && env !== null) item.environment = String(env);
  if (userId !== undefined && userId !== null) item.user_id = String(userId);
  return item;
}
