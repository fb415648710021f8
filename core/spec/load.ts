// Reading a cluster spec from YAML text or a file, with errors that point at the line.
// Used by the CLI (before anything starts) and by the `loadSpec` activity.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { LineCounter, parseDocument, isNode, isCollection, isPair, type Document } from 'yaml';
import { LIMITS } from './limits';
import { resolveSpecPaths } from './paths';
import { clusterSpecSchema, type ClusterSpec } from './schema';
import { issueMessage } from './validate';
import { formatPath, SpecError, type SpecProblem } from './spec-error';

export { formatPath, formatProblems, SpecError, type SpecProblem } from './spec-error';

/** The deepest nesting of maps and lists in the document (aliases are not followed). */
function nestingDepth(doc: Document): number {
  let deepest = 0;
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (!isCollection(node)) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > LIMITS.yamlDepth) return deepest;
    for (const item of node.items) {
      if (isPair(item)) stack.push({ node: item.value, depth: depth + 1 });
      else stack.push({ node: item, depth: depth + 1 });
    }
  }
  return deepest;
}

const TOO_DEEP = `is nested more than ${LIMITS.yamlDepth} levels deep; a cluster spec is 5 levels deep at most, refusing a document built to exhaust the parser`;

/** Parses and validates spec text. Throws SpecError naming every bad field. */
export function parseSpec(text: string, source = 'cluster.yaml'): ClusterSpec {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > LIMITS.specBytes) {
    throw new SpecError(source, [{ path: '', message: `is ${bytes} bytes; a cluster spec is at most ${LIMITS.specBytes} bytes (${LIMITS.specBytes / 1024} KiB)` }]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new SpecError(
      source,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        // The parser reports its own stack overflow as a syntax error; say what it really is.
        const message = /Maximum call stack size exceeded/.test(e.message) ? TOO_DEEP : `YAML syntax: ${e.message.split('\n')[0]}`;
        return { path: '', message, line: pos?.line, column: pos?.col };
      }),
    );
  }
  if (nestingDepth(doc) > LIMITS.yamlDepth) throw new SpecError(source, [{ path: '', message: TOO_DEEP }]);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: LIMITS.yamlAliases });
  } catch (err) {
    // yaml throws a ReferenceError when aliases would expand beyond maxAliasCount (an alias bomb).
    const message = /alias/i.test((err as Error).message)
      ? `its aliases (*name) expand too much (beyond ${LIMITS.yamlAliases} aliased nodes), as an alias bomb built to exhaust memory does; write the values out`
      : `cannot be read: ${(err as Error).message}`;
    throw new SpecError(source, [{ path: '', message }]);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new SpecError(source, [{ path: '', message: 'must be a YAML mapping with apiVersion, kind, metadata, ovh, network, talos and servers' }]);
  }
  const result = clusterSpecSchema.safeParse(data);
  if (result.success) return result.data;

  const problems = result.error.issues.map((issue): SpecProblem => {
    const path = issue.path as (string | number)[];
    const message = issueMessage(issue, data);
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

/**
 * Reads at most LIMITS.specBytes + 1 bytes: a huge file, a device such as /dev/zero or a
 * pipe that never ends is refused without being read whole.
 */
function readCapped(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SpecError(file, [{ path: '', message: code === 'ENOENT' ? 'file not found; pass the cluster spec with -f <file>' : `cannot read: ${code}` }]);
  }
  try {
    if (fstatSync(fd).isDirectory()) throw new SpecError(file, [{ path: '', message: 'is a directory; pass the cluster spec file with -f <file>' }]);
    const buffer = Buffer.alloc(LIMITS.specBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > LIMITS.specBytes) {
      throw new SpecError(file, [{ path: '', message: `is larger than ${LIMITS.specBytes} bytes (${LIMITS.specBytes / 1024} KiB), the most a cluster spec may be; refusing to read it` }]);
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Reads, validates and resolves relative paths against the file's directory. */
export function loadSpecFile(file: string): ClusterSpec {
  return resolveSpecPaths(parseSpec(readCapped(file), file), dirname(file));
}
