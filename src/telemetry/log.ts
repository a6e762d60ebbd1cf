/**
 * Structured logs: every log line is a typed event with fields, written as
 * one JSON object per line to stderr (CONVENTIONS.md §11). The level comes
 * from SIGMA_LOG (debug|info|warn|error, default info). Only src/cli writes
 * human-facing text with console.*; everything else logs here.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function configuredLevel(): LogLevel {
  const value = process.env.SIGMA_LOG;
  return value === "debug" || value === "info" || value === "warn" || value === "error" ? value : "info";
}

let threshold = ORDER[configuredLevel()];

export function setLogLevel(level: LogLevel): void {
  threshold = ORDER[level];
}

/**
 * An error as one line: its message, then each `cause`'s that it does not
 * already contain ("connection failed: unable to verify the first
 * certificate"). Clients such as kafkajs wrap the error that says what went
 * wrong in a generic one, so the message alone often hides it.
 */
export function errorMessage(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    if (!parts.some((part) => part.includes(message))) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ");
}

function emit(level: LogLevel, event: string, fields: Record<string, unknown>): void {
  if (ORDER[level] < threshold) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }, (_key, value: unknown) =>
    typeof value === "bigint" ? value.toString() : value instanceof Error ? errorMessage(value) : value,
  );
  process.stderr.write(line + "\n");
}

export const log = {
  debug: (event: string, fields: Record<string, unknown> = {}): void => emit("debug", event, fields),
  info: (event: string, fields: Record<string, unknown> = {}): void => emit("info", event, fields),
  warn: (event: string, fields: Record<string, unknown> = {}): void => emit("warn", event, fields),
  error: (event: string, fields: Record<string, unknown> = {}): void => emit("error", event, fields),
};

/**
 * Runtime warnings (`process.emitWarning`) become log events, not the
 * runtime's own unstructured stderr lines among the JSON ones. kafkajs arms a
 * timer with a negative delay whenever its request queue is not throttled
 * (`throttledUntil - Date.now()` with `throttledUntil` at -1); the runtime
 * clamps it to 1 ms and warns on every Kafka run, so that warning is logged
 * at debug.
 */
export function routeProcessWarnings(): void {
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    const fields = { name: warning.name, message: warning.message };
    if (warning.name === "TimeoutNegativeWarning") log.debug("process.warning", fields);
    else log.warn("process.warning", fields);
  });
}
