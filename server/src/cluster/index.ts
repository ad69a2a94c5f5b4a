/**
 * Public surface of the cluster module: the composition root builds a `Cluster` and hands
 * it to the document registry as its `Replicator` (documents/ports.ts). See docs/cluster.md.
 */
export { Cluster, type AckPolicy, type ClusterHealth, type ClusterOptions } from './cluster.js';
export type { RedisTarget } from './redis-link.js';
export { parseClusterNodes } from './target.js';
