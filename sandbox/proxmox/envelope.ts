// The Proxmox VE response envelope (docs/contracts.md §B.2): success is 200 with `{"data": ...}`
// and the exact content type `application/json;charset=UTF-8` (the npm proxmox-api client
// refuses anything else); an error carries its message as the HTTP reason phrase, with
// `{"data": null}` and, for parameter errors, `"errors": {param: message}`. Every answer
// >= 400 closes the connection (pve-http-server AnyEvent.pm response(): `keep_alive = 0 if
// $code >= 400`, header `Connection: close`).
import type { ServerResponse } from 'node:http';
import { PVE_MESSAGES } from './messages';

export const PVE_CONTENT_TYPE = 'application/json;charset=UTF-8';

/** An error answer; thrown by handlers, turned into a response by the server. */
export class PveHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
  ) {
    super(message);
  }
}

/** 400 Parameter verification failed. with the per-parameter messages. */
export function paramError(errors: Record<string, string>): PveHttpError {
  return new PveHttpError(400, PVE_MESSAGES.parameterVerificationFailed, errors);
}

/** 500: how Proxmox reports most runtime failures (`die "...\n"` in a handler). */
export function runtimeError(message: string): PveHttpError {
  return new PveHttpError(500, message);
}

export function writeData(res: ServerResponse, data: unknown): void {
  const body = JSON.stringify({ data: data === undefined ? null : data });
  res.writeHead(200, 'OK', { 'Content-Type': PVE_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'max-age=0' });
  res.end(body);
}

/** A reason phrase must be one line of visible characters. */
function reasonPhrase(message: string): string {
  return message.replace(/[\r\n]+/g, ' ').replace(/[^\t\x20-\x7e]/g, '?').trim() || 'Error';
}

export function writeError(res: ServerResponse, err: PveHttpError): void {
  const payload: Record<string, unknown> = { data: null };
  if (err.errors) payload.errors = err.errors;
  payload.message = err.message + PVE_MESSAGES.bodyMessageSuffix;
  const body = JSON.stringify(payload);
  res.writeHead(err.status, reasonPhrase(err.message), { 'Content-Type': PVE_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body);
}

/**
 * An error raised before any API handler runs (authentication): pve-http-server answers it
 * with the reason phrase only — no content type, no body — and closes the connection.
 */
export function writeBareError(res: ServerResponse, err: PveHttpError): void {
  // No Content-Length and no chunking: the body (none) ends with the connection, as there.
  res.useChunkedEncodingByDefault = false;
  res.writeHead(err.status, reasonPhrase(err.message), { Connection: 'close' });
  res.end();
}
