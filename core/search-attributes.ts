// Typed search attributes, so the Web UI can filter runs by cluster, operation and server.
// Registered on the dev server at start (see client/dev/dev-server.ts) and on a production
// namespace with `temporal operator search-attribute create` (README).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const CLUSTER = defineSearchAttributeKey('AutoK8sCluster', SearchAttributeType.KEYWORD);
export const OPERATION = defineSearchAttributeKey('AutoK8sOperation', SearchAttributeType.KEYWORD);
export const SERVER = defineSearchAttributeKey('AutoK8sServer', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [CLUSTER, OPERATION, SERVER] as const;

export type Operation = 'bootstrap' | 'provision-server' | 'failover' | 'replace' | 'health' | 'lb-link' | 'spec' | 'lock' | 'watch';
