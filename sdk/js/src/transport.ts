/** One POST of a batch body with global fetch: gzip where the runtime can, a timeout, no key in any error. */

import { VERSION } from "./version.js";

export const BATCH_PATH = "/api/v1/conversations/track/batch";

export interface HttpResult {
  status: number;
  retryAfter: string | null;
  body: string;
}

/** A request that got no HTTP response: refused, reset, DNS, timed out. Retried. */
export class NetworkError extends Error {
  override name = "NetworkError";
}

/**
 * A TLS handshake that no retry can fix: the server does not speak TLS there, or its certificate is not trusted.
 * Not retried. The message names the server and what is wrong, never the key.
 */
export class TlsError extends Error {
  override name = "TlsError";
}

/** Node's codes for a server certificate it refuses: OpenSSL's verification errors, and its own name check. */
const UNTRUSTED_CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_REVOKED",
  "CERT_SIGNATURE_FAILURE",
  "INVALID_CA",
  "INVALID_PURPOSE",
  "PATH_LENGTH_EXCEEDED",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/**
 * What is wrong, if a failed fetch is a TLS failure that lasts; null for anything a retry may get past (the
 * connection closed or reset mid-handshake, a timeout). Node's fetch says "fetch failed" with the socket's error
 * as the cause; a browser's says nothing more, so there every failure stays a retried network error.
 */
function tlsProblem(error: unknown): string | null {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const code = typeof cause?.code === "string" ? cause.code : "";
  const message = typeof cause?.message === "string" ? cause.message.trim() : "";
  if (UNTRUSTED_CERTIFICATE_CODES.has(code)) return `certificate not trusted (${message || code})`;
  // The first bytes back were not a TLS record: most often a plain-HTTP server's "400 Bad Request". Node 17+
  // names OpenSSL's reason; older ones said EPROTO with the reason in the message.
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || (code === "EPROTO" && /wrong version number/i.test(message))) {
    return "the server does not speak TLS on this port (is baseUrl http://?)";
  }
  return null;
}

/** The batch endpoint's URL for `baseUrl`; throws on anything but an http(s) URL without credentials. */
export function batchUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`baseUrl must be an http(s) URL, got ${JSON.stringify(baseUrl)}`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) {
    throw new Error(`baseUrl must be an http(s) URL, got ${JSON.stringify(baseUrl)}`);
  }
  if (url.username || url.password) {
    // fetch refuses such a URL, and an error quoting it would leak the password.
    throw new Error("baseUrl must not contain a user name or password; the API key authenticates");
  }
  return url.origin + url.pathname.replace(/\/+$/, "") + BATCH_PATH;
}

const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";

async function gzipped(body: Uint8Array): Promise<Uint8Array | null> {
  if (typeof CompressionStream === "undefined") return null;
  try {
    const stream = new Blob([body as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch {
    return null; // sent as it is: compression only saves bytes
  }
}

/** The cause of a failed fetch in a few words ("ECONNREFUSED"); never a header, so never the key. */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${message} (${code})` : message;
}

export class Transport {
  readonly url: string;
  /** Scheme, host and port: whom a TLS handshake is with. */
  readonly origin: string;
  readonly #headers: Record<string, string>;

  constructor(
    baseUrl: string,
    apiKey: string,
    readonly timeoutMs: number,
    readonly gzip: boolean,
  ) {
    this.url = batchUrl(baseUrl);
    this.origin = new URL(this.url).origin;
    this.#headers = {
      Authorization: `Bearer ${apiKey}`,
      "Content-Type": "application/json",
      Accept: "application/json",
    };
    // Browsers set their own User-Agent (and some refuse ours); elsewhere it names the SDK in server logs.
    if (isNode) this.#headers["User-Agent"] = `convosensei-sdk-js/${VERSION}`;
  }

  /**
   * POST one JSON body; resolves with any HTTP response, throws NetworkError when there is none (including
   * after timeoutMs, or when `abort` fires), and TlsError when the TLS handshake cannot succeed.
   */
  async postBatch(json: string, abort?: AbortSignal): Promise<HttpResult> {
    let body: Uint8Array = new TextEncoder().encode(json);
    const headers = { ...this.#headers };
    if (this.gzip) {
      const compressed = await gzipped(body);
      if (compressed) {
        body = compressed;
        headers["Content-Encoding"] = "gzip";
      }
    }
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    // The request itself keeps a process alive while it runs; its timer need not.
    (timer as { unref?: () => void }).unref?.();
    const onAbort = (): void => controller.abort();
    abort?.addEventListener("abort", onAbort);
    try {
      // A byte array body: fetch sends it with a Content-Length, which the server needs (it cannot read a
      // chunked body under every WSGI server).
      const response = await fetch(this.url, {
        method: "POST",
        headers,
        body: body as BodyInit,
        signal: controller.signal,
        // Never followed, as in the Python SDK: a redirect would carry the key to wherever it points, and
        // a POST that is redirected is a wrong baseUrl (http:// for https://), which a retry cannot fix.
        redirect: "manual",
      });
      const text = await response.text();
      // A browser hides a redirect's status (an "opaqueredirect" response has 0); it is still a 3xx.
      const status = response.type === "opaqueredirect" ? 302 : response.status;
      return { status, retryAfter: response.headers.get("retry-after"), body: text };
    } catch (error) {
      if (timedOut) throw new NetworkError(`no response within ${this.timeoutMs} ms`);
      if (controller.signal.aborted) throw new NetworkError("request aborted at shutdown");
      const problem = tlsProblem(error);
      if (problem) throw new TlsError(`TLS handshake with ${this.origin} failed: ${problem}`);
      throw new NetworkError(describeFetchError(error));
    } finally {
      clearTimeout(timer);
      abort?.removeEventListener("abort", onAbort);
    }
  }
}
