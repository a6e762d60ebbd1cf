/**
 * Bearer-token authentication for the Flight server. With a token
 * configured, every call but Handshake must carry `authorization: Bearer
 * <token>`; Handshake trades a Basic header (any user, the token as password)
 * or a payload equal to the token for that bearer header, which is what
 * pyarrow's `authenticate_basic_token` and C++ clients expect back.
 *
 * Comparisons are constant-time so the token cannot be guessed byte by byte
 * from response timings.
 */

import { timingSafeEqual } from "node:crypto";
import type { Metadata } from "@grpc/grpc-js";

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function header(metadata: Metadata, name: string): string | undefined {
  const value = metadata.get(name)[0];
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.toString("utf8");
}

/** True when the call carries the configured bearer token (always true without one). */
export function authorized(token: string | null, metadata: Metadata): boolean {
  if (token === null) return true;
  const value = header(metadata, "authorization");
  if (value === undefined) return false;
  const match = /^Bearer\s+(.+)$/i.exec(value.trim());
  return match?.[1] !== undefined && same(match[1], token);
}

/** Handshake credentials: a Basic header whose password is the token, a bearer header, or the token as payload. */
export function handshakeAccepted(token: string, metadata: Metadata, payload: Uint8Array): boolean {
  if (authorized(token, metadata)) return true;
  const value = header(metadata, "authorization");
  const basic = value === undefined ? null : /^Basic\s+(.+)$/i.exec(value.trim());
  if (basic?.[1] !== undefined) {
    const decoded = Buffer.from(basic[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon >= 0 && same(decoded.slice(colon + 1), token)) return true;
  }
  return payload.length > 0 && same(Buffer.from(payload).toString("utf8"), token);
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || h.startsWith("127.");
}
