// Regenerates sandbox/ovh/schema/<api>.json from a copy of the API schema OVH's console serves
// (`https://eu.api.ovh.com/1.0/<api>.json`), keeping only the paths the simulator serves or
// autok8s calls: every operation on those paths (so a method the schema does not define on a
// path can be told from one it defines), each parameter's name, paramType, dataType and
// whether it is required, and the values of every enum a kept parameter uses.
//
// The source is either the raw JSON or UrielCh/api-ovh-node's generated module, which is the
// same JSON after `export const schema: Schema = ` ("imported from https://eu.api.ovh.com:443/1.0/<api>.json").
//
//   git -C api-ovh-node show 4bb5f1487f2fa700a1e3b24390c71df361aa9ed6:code/gen/models/ovh-api/vrack.ts > /tmp/vrack.ts
//   npx tsx sandbox/ovh/schema/extract.ts vrack /tmp/vrack.ts \
//     --repo UrielCh/api-ovh-node --path code/gen/models/ovh-api/vrack.ts \
//     --commit 4bb5f1487f2fa700a1e3b24390c71df361aa9ed6 --date 2024-06-07
//
// (likewise `ip` from ip.ts and `dedicated-server` from dedicated-server.ts). Tests read only the
// committed JSON; nothing here runs in the suite.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OvhApiSchema, SchemaOperation } from './types';

/** Paths kept per API: what OVH_ROUTES serves and activities/ovh calls. */
export const KEPT_PATHS: Record<string, string[]> = {
  ip: ['/ip/{ip}', '/ip/{ip}/move', '/ip/{ip}/park', '/ip/{ip}/task', '/ip/{ip}/task/{taskId}'],
  'dedicated-server': [
    '/dedicated/server',
    '/dedicated/server/{serviceName}',
    '/dedicated/server/{serviceName}/ipCanBeMovedTo',
    '/dedicated/server/{serviceName}/ipMove',
    '/dedicated/server/{serviceName}/reboot',
    '/dedicated/server/{serviceName}/specifications/network',
    '/dedicated/server/{serviceName}/task',
    '/dedicated/server/{serviceName}/task/{taskId}',
    '/dedicated/server/{serviceName}/virtualNetworkInterface',
    '/dedicated/server/{serviceName}/virtualNetworkInterface/{uuid}',
    '/dedicated/server/{serviceName}/virtualMac',
    '/dedicated/server/{serviceName}/virtualMac/{macAddress}',
    '/dedicated/server/{serviceName}/virtualMac/{macAddress}/virtualAddress',
    '/dedicated/server/{serviceName}/virtualMac/{macAddress}/virtualAddress/{ipAddress}',
    '/dedicated/server/virtualNetworkInterface/{uuid}',
  ],
  vrack: [
    '/vrack',
    '/vrack/{serviceName}',
    '/vrack/{serviceName}/dedicatedServer',
    '/vrack/{serviceName}/dedicatedServer/{dedicatedServer}',
    '/vrack/{serviceName}/dedicatedServerInterface',
    '/vrack/{serviceName}/dedicatedServerInterface/{dedicatedServerInterface}',
    '/vrack/{serviceName}/ip',
    '/vrack/{serviceName}/ip/{ip}',
    '/vrack/{serviceName}/task',
    '/vrack/{serviceName}/task/{taskId}',
  ],
};

interface RawParameter {
  name?: string;
  paramType: string;
  dataType: string;
  required?: boolean;
}
interface RawSchema {
  apis: { path: string; operations: { httpMethod: string; apiStatus?: { value: string }; description?: string; parameters: RawParameter[]; responseType: string }[] }[];
  models: Record<string, { enum?: string[] }>;
}

/** The schema JSON inside a raw copy or a generated `export const schema = {…}` module. */
export function parseSchemaSource(text: string): RawSchema {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) return JSON.parse(trimmed) as RawSchema;
  const at = text.indexOf('export const schema');
  if (at < 0) throw new Error('neither JSON nor a module with `export const schema`');
  return JSON.parse(text.slice(text.indexOf('{', at)).replace(/;\s*$/, '')) as RawSchema;
}

export function extractApi(raw: RawSchema, paths: readonly string[], provenance: OvhApiSchema['provenance']): OvhApiSchema {
  const operations: SchemaOperation[] = [];
  const enums: Record<string, string[]> = {};
  for (const path of paths) {
    const api = raw.apis.find((a) => a.path === path);
    if (!api) throw new Error(`${path} is not in the source schema`);
    for (const op of api.operations) {
      const parameters = op.parameters.map((p) => ({ name: p.name ?? null, paramType: p.paramType, dataType: p.dataType, required: p.required === true }));
      for (const p of parameters) {
        const values = raw.models[p.dataType]?.enum;
        if (values) enums[p.dataType] = [...values];
      }
      operations.push({ method: op.httpMethod, path, status: op.apiStatus?.value ?? 'UNKNOWN', description: op.description ?? '', parameters, responseType: op.responseType });
    }
  }
  return { provenance, operations, enums };
}

function main(argv: string[]): void {
  const [api, file, ...rest] = argv;
  const flag = (name: string) => {
    const i = rest.indexOf(`--${name}`);
    if (i < 0 || !rest[i + 1]) throw new Error(`--${name} is required`);
    return rest[i + 1];
  };
  const paths = KEPT_PATHS[api];
  if (!paths || !file) throw new Error(`usage: extract.ts <${Object.keys(KEPT_PATHS).join('|')}> <source file> --repo R --path P --commit C --date D`);
  const provenance = { served: `https://eu.api.ovh.com/1.0/${api.replace('-', '/')}.json`, repo: flag('repo'), path: flag('path'), commit: flag('commit'), date: flag('date') };
  const out = extractApi(parseSchemaSource(readFileSync(file, 'utf8')), paths, provenance);
  writeFileSync(join(__dirname, `${api}.json`), JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(`${api}: ${out.operations.length} operations, ${Object.keys(out.enums).length} enums\n`);
}

if (require.main === module) main(process.argv.slice(2));
