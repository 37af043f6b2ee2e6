/**
 * Strict readers for CONVOSENSEI_* environment variables, where the runtime has `process.env` (Node, Bun,
 * Deno's Node compatibility); elsewhere every variable reads as unset.
 *
 * A malformed value is a configuration mistake, so it throws when the client is created rather than being
 * read as a default: `CONVOSENSEI_GZIP=yes please` is an error, not false. The names, units (seconds) and
 * accepted spellings are the Python SDK's, so one environment configures both.
 */

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off", ""]);

function raw(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.[name];
}

/** The variable's value, or undefined when it is unset or empty. */
export function envString(name: string): string | undefined {
  const value = raw(name);
  return value ? value : undefined;
}

/** The variable as a boolean, undefined when unset; throws on anything but a clear yes/no. */
export function envBool(name: string): boolean | undefined {
  const value = raw(name);
  if (value === undefined) return undefined;
  const lowered = value.trim().toLowerCase();
  if (TRUE.has(lowered)) return true;
  if (FALSE.has(lowered)) return false;
  throw new Error(`${name} must be one of true/false/1/0/yes/no/on/off, got ${JSON.stringify(value)}`);
}

/** The variable as an integer, undefined when unset; throws when it is not one. */
export function envInt(name: string): number | undefined {
  const value = envString(name);
  if (value === undefined) return undefined;
  if (!/^\s*[+-]?\d+(_\d+)*\s*$/.test(value)) {
    throw new Error(`${name} must be an integer, got ${JSON.stringify(value)}`);
  }
  return Number(value.replaceAll("_", ""));
}

/** The variable as a number of seconds turned into milliseconds, undefined when unset; throws when not a number. */
export function envSecondsAsMs(name: string): number | undefined {
  const value = envString(name);
  if (value === undefined) return undefined;
  const seconds = value.trim() === "" ? Number.NaN : Number(value);
  if (!Number.isFinite(seconds)) throw new Error(`${name} must be a number, got ${JSON.stringify(value)}`);
  return seconds * 1000;
}
