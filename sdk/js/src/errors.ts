/** The errors handed to `onError`. The SDK never throws these into application code. */

/** Base class of every error the SDK reports. */
export class ConvoSenseiError extends Error {
  override name = "ConvoSenseiError";
}

/** The queue was full, so the conversation was dropped rather than grow memory without bound. */
export class QueueFullError extends ConvoSenseiError {
  override name = "QueueFullError";
}

/** track() was called with input that cannot be sent (the call was dropped and counted as invalid). */
export class InvalidTrackError extends ConvoSenseiError {
  override name = "InvalidTrackError";
}

export interface DeliveryErrorInit {
  status?: number | undefined;
  code?: string | undefined;
  details?: unknown;
}

/** How many field errors a DeliveryError's message names; `fieldErrors` keeps them all. */
const FIELDS_SHOWN = 5;

/**
 * The server refused a batch (or one conversation of it) for good, or retries ran out.
 *
 * `details` is the server's error envelope's details as sent; `fieldErrors` its reasons by field path
 * (`{"messages.0.timestamp": ["The timestamp is before 2000-01-01T00:00:00Z."]}`), which end the message.
 * `status` is the refusal's HTTP status: for one conversation of a 202, 400 (never 202);
 * undefined for a TLS failure, or when retries run out on network errors (else the last status).
 */
export class DeliveryError extends ConvoSenseiError {
  override name = "DeliveryError";
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly details: unknown;
  readonly fieldErrors: Record<string, string[]>;

  constructor(message: string, init: DeliveryErrorInit = {}) {
    const fieldErrors = flattenFieldErrors(init.details);
    super(message + describe(fieldErrors));
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.fieldErrors = fieldErrors;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The envelope's field errors (`{"messages": {"0": {"role": ["..."]}}}`) flattened to dotted paths. */
export function flattenFieldErrors(details: unknown): Record<string, string[]> {
  const flat: Record<string, string[]> = {};
  const walk = (node: unknown, path: string[]): void => {
    if (isRecord(node)) {
      for (const [key, value] of Object.entries(node)) walk(value, [...path, key]);
    } else if (typeof node === "string") {
      (flat[path.join(".")] ??= []).push(node);
    } else if (Array.isArray(node) && node.every((reason) => typeof reason === "string")) {
      (flat[path.join(".")] ??= []).push(...(node as string[]));
    }
    // Anything else (a batch's per-conversation results) is not a field error.
  };
  walk(details, []);
  return flat;
}

function describe(fieldErrors: Record<string, string[]>): string {
  const entries = Object.entries(fieldErrors);
  const shown = entries.slice(0, FIELDS_SHOWN).map(([path, reasons]) => `${path}: ${reasons.join(" ")}`);
  if (shown.length === 0) return "";
  const more = entries.length - shown.length;
  return " " + shown.join("; ") + (more ? `; and ${more} more fields` : "");
}
