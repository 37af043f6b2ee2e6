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
  readonly #headers: Record<string, string>;

  constructor(
    baseUrl: string,
    apiKey: string,
    readonly timeoutMs: number,
    readonly gzip: boolean,
  ) {
    this.url = batchUrl(baseUrl);
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
   * after timeoutMs, or when `abort` fires).
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
      throw new NetworkError(describeFetchError(error));
    } finally {
      clearTimeout(timer);
      abort?.removeEventListener("abort", onAbort);
    }
  }
}
