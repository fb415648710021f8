// Checks a request against OVH's published API schema (the extracts next to this file) before
// the simulator routes it, and refuses what the schema refuses: a path or method the schema
// does not define, an undescribed body or query parameter, a missing required one, and a
// value of the wrong type or format (long, boolean, ipBlock, ip, uuid, enum values).
// Wordings are in ../errors.ts (docs/contracts.md §A.2 says which are verified).
import { isIP } from 'node:net';
import { badRequest, notFound, SCHEMA_ERRORS, UNVERIFIED } from '../errors';
import dedicatedServer from './dedicated-server.json';
import ip from './ip.json';
import vrack from './vrack.json';
import type { OvhApiSchema, SchemaOperation, SchemaParameter } from './types';

export const OVH_SCHEMAS: readonly OvhApiSchema[] = [ip, vrack, dedicatedServer] as OvhApiSchema[];

const ENUMS: Record<string, string[]> = Object.assign({}, ...OVH_SCHEMAS.map((s) => s.enums));

interface CompiledPath {
  template: string;
  keys: string[];
  pattern: RegExp;
  /** Literal segments: `/dedicated/server/virtualNetworkInterface/{uuid}` beats `/dedicated/server/{serviceName}/task`. */
  literals: number;
  operations: SchemaOperation[];
}

const PATHS: CompiledPath[] = (() => {
  const byTemplate = new Map<string, SchemaOperation[]>();
  for (const op of OVH_SCHEMAS.flatMap((s) => s.operations)) byTemplate.set(op.path, [...(byTemplate.get(op.path) ?? []), op]);
  return [...byTemplate].map(([template, operations]) => {
    const keys: string[] = [];
    const source = template.replace(/\{(\w+)\}/g, (_, key: string) => {
      keys.push(key);
      return '([^/]+)';
    });
    const literals = template.split('/').filter((s) => s !== '' && !s.startsWith('{')).length;
    return { template, keys, pattern: new RegExp(`^${source}$`), literals, operations };
  });
})();

export interface SchemaRequest {
  method: string;
  /** Still URL-encoded, without base path and query. */
  rawApiPath: string;
  query: URLSearchParams;
  /** The parsed JSON body; {} when there is none. */
  body: Record<string, unknown>;
}

export interface SchemaVerdict {
  /** `METHOD /path/{template}` (what the tally counts), or `METHOD <unknown path>`. */
  operation: string;
  /** The OVH error answer, when the schema refuses the request. */
  refusal?: Error;
}

/** The schema operation a request addresses, or the refusal (404) when there is none. */
function findOperation(method: string, rawApiPath: string): { op: SchemaOperation; params: Record<string, string> } | { refusal: Error; operation: string } {
  const matches = PATHS.map((p) => ({ p, m: p.pattern.exec(rawApiPath) }))
    .filter((x): x is { p: CompiledPath; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => b.p.literals - a.p.literals);
  if (matches.length === 0) return { refusal: notFound(SCHEMA_ERRORS.invalidUrl), operation: `${method} <unknown path>` };
  const { p, m } = matches[0];
  const op = p.operations.find((o) => o.method === method);
  if (!op) return { refusal: notFound(UNVERIFIED.methodNotDefined), operation: `${method} ${p.template}` };
  let params: Record<string, string>;
  try {
    params = Object.fromEntries(p.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])]));
  } catch {
    return { refusal: notFound(SCHEMA_ERRORS.invalidUrl), operation: `${method} ${p.template}` };
  }
  return { op, params };
}

/** Checks one request; never throws (a refusal is returned so the caller can tally it). */
export function checkAgainstSchema(req: SchemaRequest): SchemaVerdict {
  const found = findOperation(req.method, req.rawApiPath);
  if ('refusal' in found) return found;
  const { op, params } = found;
  const operation = `${op.method} ${op.path}`;
  const refuse = (refusal: Error) => ({ operation, refusal });
  const declared = (kind: string) => op.parameters.filter((p) => p.paramType === kind && p.name !== null);

  const unknownBody = Object.keys(req.body).filter((k) => !declared('body').some((p) => p.name === k));
  if (unknownBody.length > 0 && !op.parameters.some((p) => p.paramType === 'body' && p.name === null)) {
    return refuse(badRequest(SCHEMA_ERRORS.notDescribed(unknownBody, operation)));
  }
  const unknownQuery = [...new Set(req.query.keys())].filter((k) => !declared('query').some((p) => p.name === k));
  if (unknownQuery.length > 0) return refuse(badRequest(UNVERIFIED.queryNotDescribed(unknownQuery, operation)));

  const missing = op.parameters.filter((p) => p.required && p.name !== null && p.paramType !== 'path' && !present(p, req));
  if (missing.length > 0) return refuse(badRequest(UNVERIFIED.missingParameter(missing.map((p) => p.name).join(', '))));

  for (const p of op.parameters) {
    if (p.name === null) continue;
    const value = p.paramType === 'path' ? params[p.name] : p.paramType === 'query' ? req.query.get(p.name) : req.body[p.name];
    if (value === undefined || value === null) continue;
    const problem = p.paramType === 'body' ? jsonValueProblem(p.dataType, value) : textValueProblem(p.dataType, String(value));
    if (problem) return refuse(badRequest(formatMessage(p, problem)));
  }
  return { operation };
}

function present(p: SchemaParameter, req: SchemaRequest): boolean {
  if (p.paramType === 'query') return req.query.has(p.name!);
  return req.body[p.name!] !== undefined && req.body[p.name!] !== null;
}

function formatMessage(p: SchemaParameter, problem: string): string {
  if (p.paramType === 'body') return SCHEMA_ERRORS.bodyBadFormat(p.name!, problem);
  return UNVERIFIED.paramBadFormat(p.paramType, p.name!, problem);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Why a path or query value (always text on the wire) is not of the type, or undefined. */
export function textValueProblem(dataType: string, text: string): string | undefined {
  switch (dataType) {
    case 'long':
      return /^-?\d+$/.test(text) ? undefined : `expected a long (integer), got "${text}"`;
    case 'boolean':
      return text === 'true' || text === 'false' ? undefined : `expected true or false, got "${text}"`;
    default:
      return valueProblem(dataType, text);
  }
}

/** Why a JSON body value is not of the type, or undefined. */
export function jsonValueProblem(dataType: string, value: unknown): string | undefined {
  switch (dataType) {
    case 'long':
      return Number.isSafeInteger(value) ? undefined : `expected a long (integer), got ${JSON.stringify(value)}`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `expected a boolean, got ${JSON.stringify(value)}`;
    default:
      if (typeof value !== 'string') return ENUMS[dataType] || isStringType(dataType) ? `expected a string, got ${JSON.stringify(value)}` : undefined;
      return valueProblem(dataType, value);
  }
}

const isStringType = (dataType: string) => ['string', 'ip', 'ipBlock', 'uuid', 'ipv4', 'ipv4Block'].includes(dataType);

/** String-valued types: formats and enums. Models the extracts do not describe pass. */
function valueProblem(dataType: string, text: string): string | undefined {
  switch (dataType) {
    case 'string':
      return undefined;
    case 'ip':
      return isIP(text) ? undefined : `expected an IP address, got "${text}"`;
    case 'ipBlock':
      return isIpBlock(text) ? undefined : `expected an IP block (address or CIDR), got "${text}"`;
    case 'ipv4':
      return isIP(text) === 4 ? undefined : `expected an IPv4 address, got "${text}"`;
    case 'ipv4Block':
      return isIP(text.split('/')[0]) === 4 && isIpBlock(text) ? undefined : `expected an IPv4 block (address or CIDR), got "${text}"`;
    case 'uuid':
      return UUID.test(text) ? undefined : `expected a UUID, got "${text}"`;
    default: {
      const values = ENUMS[dataType];
      if (!values) return undefined;
      return values.includes(text) ? undefined : `"${text}" is not one of ${dataType} (${values.join(', ')})`;
    }
  }
}

function isIpBlock(text: string): boolean {
  const [address, prefix, ...rest] = text.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}
