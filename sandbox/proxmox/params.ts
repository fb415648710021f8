// Request parameters on the wire, as a Proxmox node reads them: every parameter is a string
// (form-encoded bodies, booleans as 1/0; JSON bodies are accepted too). Checking them against
// the published schema is ./schema/check.ts.

export type Params = Record<string, string>;

/** Parses a request body by its content type; JSON scalars become the strings a form would carry. */
export function parseBody(contentType: string | undefined, raw: string): Params | undefined {
  if (raw.trim() === '') return {};
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return undefined;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const out: Params = {};
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      out[k] = typeof v === 'boolean' ? (v ? '1' : '0') : typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
    return out;
  }
  // Proxmox treats anything else as a form (curl -d sends application/x-www-form-urlencoded).
  return Object.fromEntries(new URLSearchParams(raw));
}

const BOOL_TRUE = /^(1|true|yes|on)$/i;

export function isTrue(value: string | undefined): boolean {
  return value !== undefined && BOOL_TRUE.test(value);
}

/** Splits a Proxmox property string "a=1,b=2" (or "value,b=2" with a default key). */
export function parsePropertyString(text: string, defaultKey?: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part === '') return undefined;
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (!defaultKey || out[defaultKey] !== undefined) return undefined;
      out[defaultKey] = part;
    } else {
      out[part.slice(0, eq)] = part.slice(eq + 1);
    }
  }
  return out;
}

