// Parameter verification as a Proxmox VE node does it (pve-common src/PVE/JSONSchema.pm
// `validate` → check_object / check_prop / check_type / check_format /
// parse_property_string), against the published API schema in ./pve-api.json (see its
// "provenance" and ./extract.mjs). Every problem is collected into `errors: {param: msg}`
// with JSONSchema.pm's own wordings; the server answers them as `400 Parameter verification
// failed.` (sandbox/proxmox/envelope.ts).
//
// What is checked: unknown parameters, missing required ones, types (integer, number,
// boolean as 1/0, string), enum, pattern, minimum/maximum, length limits, named formats
// in ./formats.ts, and property strings (net0, scsi0, ide2, ipconfig0, agent, boot, ...):
// their keys, default key and aliases, and each sub-value by the same rules. Not checked:
// named formats missing from ./formats.ts (accepted; listed by uncheckedFormats()), the
// `-opt` format suffix, oneOf/instance-types schemas (none of autok8s's calls uses them),
// and format validators that run after parsing (e.g. the drive "media=cdrom" vs file rules).
import apiSchema from './pve-api.json';
import { checkNamedFormat, NAMED_PROPERTY_FORMATS } from './formats';

export interface ParamSchema {
  type?: string;
  format?: string | Record<string, ParamSchema>;
  enum?: string[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  optional?: number;
  default_key?: number;
  alias?: string;
  keyAlias?: string;
  requires?: string;
  /** Keys of a named property-string format, read from the viewer's typetext. */
  formatKeys?: string[];
  formatDefaultKey?: string;
}

export type PermissionCheck = (string | string[] | PermissionCheck)[];

export interface OperationSchema {
  name: string;
  additionalProperties: number;
  parameters: Record<string, ParamSchema>;
  permissions?: { check?: PermissionCheck; user?: string; description?: string };
}

interface ApiSchemaFile {
  provenance: { what: string; source: string; extractedBy: string };
  operations: Record<string, OperationSchema>;
}

const API = apiSchema as unknown as ApiSchemaFile;

export const SCHEMA_PROVENANCE = API.provenance;

/** The schema of "METHOD /path/{template}", if the extract has it. */
export function operationSchema(operation: string): OperationSchema | undefined {
  return API.operations[operation];
}

/**
 * How many of each indexed key exist (`net[n]` is net0..net31): qemu-server
 * src/PVE/QemuServer.pm ($MAX_NETS 32, $MAX_SERIAL_PORTS 4, $MAX_PARALLEL_PORTS 3; ipconfigN
 * follows $MAX_NETS), QemuServer/Drive.pm (ide 4, sata 6, scsi 31, virtio 16, unused 256),
 * Memory.pm (numa 8), PCI.pm (hostpci 16), USB.pm (usb 14). virtiofs: UNVERIFIED (10).
 */
const INDEX_COUNT: Record<string, number> = { net: 32, ipconfig: 32, serial: 4, parallel: 3, ide: 4, sata: 6, scsi: 31, virtio: 16, unused: 256, numa: 8, hostpci: 16, usb: 14, virtiofs: 10 };

function lookup(parameters: Record<string, ParamSchema>, key: string): ParamSchema | undefined {
  if (Object.prototype.hasOwnProperty.call(parameters, key)) return parameters[key];
  const m = /^([a-z]+)(\d+)$/.exec(key);
  if (!m || String(Number(m[2])) !== m[2]) return undefined;
  const family = parameters[`${m[1]}[n]`];
  return family && Number(m[2]) < (INDEX_COUNT[m[1]] ?? 0) ? family : undefined;
}

const isInteger = (v: string) => /^[+-]?\d+$/.test(v);
const isNumber = (v: string) => /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/.test(v);

/** A Perl regex as the schema prints it (`(?^:...)`, `(?^i:...)`) as a JS one anchored like `m/^$pattern$/`. */
const compiled = new Map<string, RegExp | undefined>();
function perlPattern(pattern: string): RegExp | undefined {
  if (!compiled.has(pattern)) compiled.set(pattern, compilePerlPattern(pattern));
  return compiled.get(pattern);
}

function compilePerlPattern(pattern: string): RegExp | undefined {
  let flags = '';
  const source = pattern.replace(/\(\?\^([a-z]*):/g, (_m, f: string) => {
    if (f.includes('i')) flags = 'i';
    return '(?:';
  });
  try {
    return new RegExp(`^(?:${source})$`, flags);
  } catch {
    return undefined;
  }
}

type Errors = Record<string, string>;

/** JSONSchema.pm check_prop for one scalar value (every value arrives as a string). */
function checkProp(value: string | undefined, schema: ParamSchema, path: string, errors: Errors): void {
  if (schema.alias) return; // remapped to its target before this is called
  if (value === undefined) {
    if (!schema.optional) errors[path] = 'property is missing and it is not optional';
    return;
  }
  const type = schema.type;
  if ((type === 'integer' && !isInteger(value)) || (type === 'number' && !isNumber(value)) || (type === 'boolean' && value !== '1' && value !== '0')) {
    errors[path] = `type check ('${type}') failed - got '${value}'`;
    return;
  }
  if (schema.format !== undefined) {
    const problem = checkFormat(schema, value, path);
    if (problem !== undefined) {
      errors[path] = `invalid format - ${problem}`;
      return;
    }
  }
  if (schema.pattern !== undefined) {
    const re = perlPattern(schema.pattern);
    if (re && !re.test(value)) {
      errors[path] = 'value does not match the regex pattern';
      return;
    }
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    errors[path] = `value may only be ${schema.maxLength} characters long`;
    return;
  }
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    errors[path] = `value must be at least ${schema.minLength} characters long`;
    return;
  }
  if (isNumber(value)) {
    if (schema.maximum !== undefined && Number(value) > schema.maximum) {
      errors[path] = `value must have a maximum value of ${schema.maximum}`;
      return;
    }
    if (schema.minimum !== undefined && Number(value) < schema.minimum) {
      errors[path] = `value must have a minimum value of ${schema.minimum}`;
      return;
    }
  }
  if (schema.enum && !schema.enum.includes(value)) {
    errors[path] = `value '${value}' does not have a value in the enumeration '${schema.enum.join(', ')}'`;
  }
}

/** check_format: a property-string format (spelled out, or named with known keys) or a named value format. */
function checkFormat(schema: ParamSchema, value: string, path: string): string | undefined {
  const format = schema.format!;
  if (typeof format === 'object') return parsePropertyString(format, value, path);
  const named = NAMED_PROPERTY_FORMATS[format];
  if (named) return parsePropertyString(named, value, path);
  if (schema.formatKeys) {
    const keysOnly = Object.fromEntries(schema.formatKeys.map((k) => [k, { type: 'string', optional: 1, ...(k === schema.formatDefaultKey ? { default_key: 1 } : {}) }]));
    return parsePropertyString(keysOnly, value, path);
  }
  return checkNamedFormat(format, value);
}

const parseBoolean = (v: string) => (/^(1|on|yes|true)$/i.test(v) ? '1' : /^(0|off|no|false)$/i.test(v) ? '0' : v);

/** JSONSchema.pm parse_property_string; returns the die text (ending in "\n") or undefined. */
function parsePropertyString(format: Record<string, ParamSchema>, data: string, path: string): string | undefined {
  const res: Record<string, string> = {};
  let defaultKey: string | undefined;
  for (const part of data.split(',')) {
    if (/^\s*$/.test(part)) continue;
    const kv = /^([^=]+)=(.+)$/s.exec(part);
    if (kv) {
      let [, k, v] = kv;
      if (res[k] !== undefined) return `duplicate key in comma-separated list property: ${k}\n`;
      let schema = format[k];
      if (schema?.alias) {
        if (schema.keyAlias) {
          if (res[schema.keyAlias] !== undefined) return `key alias '${schema.keyAlias}' is already defined\n`;
          res[schema.keyAlias] = k;
        }
        k = schema.alias;
        schema = format[k];
        if (res[k] !== undefined) return `key '${k}' is already defined (via alias)\n`;
      }
      if (!schema) return `invalid key in comma-separated list property: ${k}\n`;
      res[k] = schema.type === 'boolean' ? parseBoolean(v) : v;
    } else if (!part.includes('=')) {
      if (defaultKey) return `duplicate key in comma-separated list property: ${defaultKey}\n`;
      const key = Object.keys(format).find((name) => format[name].default_key);
      if (!key) return 'value without key, but schema does not define a default key\n';
      if (res[key]) return `duplicate key in comma-separated list property: ${key}\n`;
      defaultKey = key;
      res[key] = format[key].type === 'boolean' ? parseBoolean(part) : part;
    } else {
      return 'missing key in comma-separated list property\n';
    }
  }
  const errors: Errors = {};
  checkObject(format, res, 0, errors, path);
  const lines = Object.entries(errors).map(([k, v]) => `${k}: ${v.replace(/\n$/, '')}\n`);
  return lines.length > 0 ? `format error\n${lines.join('')}` : undefined;
}

/** JSONSchema.pm check_object: every schema property, then every given one. */
function checkObject(schema: Record<string, ParamSchema>, value: Record<string, string | undefined>, additionalProperties: number, errors: Errors, prefix = ''): void {
  const at = (k: string) => (prefix ? `${prefix}.${k}` : k);
  for (const [k, s] of Object.entries(schema)) {
    if (k.endsWith('[n]')) continue; // families are checked through the given keys
    checkProp(value[k], s, at(k), errors);
  }
  for (const [k, v] of Object.entries(value)) {
    if (Object.prototype.hasOwnProperty.call(schema, k)) {
      const requires = schema[k].requires;
      if (requires && value[requires] === undefined) errors[at(requires)] = `missing property required by '${at(k)}'`;
      continue;
    }
    const family = lookup(schema, k);
    if (family) {
      checkProp(v, family, at(k), errors);
      continue;
    }
    if (!additionalProperties) errors[at(k)] = 'property is not defined in schema and the schema does not allow additional properties';
  }
}

/** Checks the parameters of one request (path parameters included); returns `errors`, empty when accepted. */
export function checkParameters(op: OperationSchema, params: Record<string, string>): Errors {
  const errors: Errors = {};
  checkObject(op.parameters, params, op.additionalProperties, errors);
  return errors;
}
