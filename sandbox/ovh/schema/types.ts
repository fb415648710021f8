// The shape of sandbox/ovh/schema/<api>.json: the facts the simulator takes from OVH's
// published API schema (docs/contracts.md §A, §F). Written by extract.ts, read by check.ts.

export interface SchemaParameter {
  /** null for a body parameter that is the whole object (PUT). */
  name: string | null;
  paramType: 'path' | 'query' | 'body' | string;
  /** `string`, `long`, `boolean`, `ipBlock`, `ip`, `uuid`, or a model such as `ip.TaskStatusEnum`. */
  dataType: string;
  required: boolean;
}

export interface SchemaOperation {
  method: string;
  /** Template as in the console: `/ip/{ip}/task/{taskId}`. */
  path: string;
  /** PRODUCTION, BETA, DEPRECATED… */
  status: string;
  description: string;
  parameters: SchemaParameter[];
  responseType: string;
}

export interface OvhApiSchema {
  provenance: { served: string; repo: string; path: string; commit: string; date: string };
  operations: SchemaOperation[];
  /** Enum model name → its values. */
  enums: Record<string, string[]>;
}
