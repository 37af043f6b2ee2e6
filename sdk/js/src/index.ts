/**
 * ConvoSensei SDK: send AI chatbot conversations to a self-hosted ConvoSensei server.
 *
 *     import * as convosensei from "@convosensei/sdk";
 *     convosensei.init({ apiKey: "cs_...", baseUrl: "https://convosensei.example.com" });
 *     convosensei.track({ conversationId: "c1", messages: [{ role: "user", content: "hi" }] });
 *
 * The module-level functions use one default client; create ConvoSensei objects for more than one.
 */

import { type ClientOptions, ConvoSensei, type Stats } from "./client.js";
import type { TrackInput } from "./message.js";

export {
  type ClientOptions,
  ConvoSensei,
  DEFAULT_MAX_BATCH_BYTES,
  type ErrorCallback,
  MAX_MERGED_MESSAGES,
  SERVER_MAX_BYTES,
  SERVER_MAX_CONVERSATIONS,
  type Stats,
} from "./client.js";
export { ConvoSenseiError, DeliveryError, InvalidTrackError, QueueFullError } from "./errors.js";
export { type MessageInput, type Role, stableMessageId, type TrackInput, type WireConversation, type WireMessage } from "./message.js";
export { VERSION } from "./version.js";

let defaultClient: ConvoSensei | null = null;

/**
 * Create (or replace) the default client; options fall back to CONVOSENSEI_* variables.
 *
 * Returns the client. Throws on programming errors (no or malformed API key, bad baseUrl, unknown option),
 * the only place the SDK throws. A replaced client is shut down in the background.
 */
export function init(options: ClientOptions = {}): ConvoSensei {
  const client = new ConvoSensei(options);
  const previous = defaultClient;
  defaultClient = client;
  if (previous) void previous.shutdown();
  return client;
}

/** The default client; created from CONVOSENSEI_* variables on first use, null if that is impossible. */
export function getClient(): ConvoSensei | null {
  if (defaultClient) return defaultClient;
  try {
    defaultClient = new ConvoSensei();
  } catch {
    return null; // not configured: the module-level functions do nothing, as in the Python SDK
  }
  return defaultClient;
}

/** Enqueue messages of one conversation on the default client; see ConvoSensei.track. Never throws. */
export function track(input: TrackInput): boolean {
  const client = getClient();
  return client ? client.track(input) : false;
}

/** Wait (bounded) until the default client has sent everything; false on timeout. */
export function flush(timeoutMs?: number): Promise<boolean> {
  return defaultClient ? defaultClient.flush(timeoutMs) : Promise.resolve(true);
}

/** Flush (bounded) and stop the default client; Node also runs it when the event loop empties. */
export function shutdown(timeoutMs?: number): Promise<boolean> {
  return defaultClient ? defaultClient.shutdown(timeoutMs) : Promise.resolve(true);
}

/** The default client's counters, or null before it exists. */
export function stats(): Stats | null {
  return defaultClient ? defaultClient.stats() : null;
}
