// Reading a cluster spec from YAML text or a file, with errors that point at the line.
// Used by the CLI (before anything starts) and by the `loadSpec` activity.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { resolveSpecPaths } from './paths';
import { clusterSpecSchema, type ClusterSpec } from './schema';
import { formatPath, SpecError, type SpecProblem } from './spec-error';

export { formatPath, formatProblems, SpecError, type SpecProblem } from './spec-error';

/** Parses and validates spec text. Throws SpecError naming every bad field. */
export function parseSpec(text: string, source = 'cluster.yaml'): ClusterSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new SpecError(
      source,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return { path: '', message: `YAML syntax: ${e.message.split('\n')[0]}`, line: pos?.line, column: pos?.col };
      }),
    );
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new SpecError(source, [{ path: '', message: 'must be a YAML mapping with apiVersion, kind, metadata, ovh, network, talos and servers' }]);
  }
  const result = clusterSpecSchema.safeParse(data);
  if (result.success) return result.data;

  const problems = result.error.issues.map((issue): SpecProblem => {
    const path = issue.path as (string | number)[];
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; check the spelling against \`autok8s schema\``;
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      message = `is required (${issue.expected})`;
    }
    // Point at the deepest node the YAML has for this path (the field itself, or its parent when missing).
    let line: number | undefined;
    let column: number | undefined;
    for (let depth = path.length; depth >= 0; depth--) {
      const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) {
        const pos = lineCounter.linePos(node.range[0]);
        line = pos.line;
        column = pos.col;
        break;
      }
    }
    return { path: formatPath(path), message, line, column };
  });
  throw new SpecError(source, problems);
}

/** Reads, validates and resolves relative paths against the file's directory. */
export function loadSpecFile(file: string): ClusterSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SpecError(file, [{ path: '', message: code === 'ENOENT' ? 'file not found; pass the cluster spec with -f <file>' : `cannot read: ${code}` }]);
  }
  return resolveSpecPaths(parseSpec(text, file), dirname(file));
}
