import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import type { ApiCaller, ApiLevel } from '../../auth/api-access.js';
import type { Clock } from '../../clock/clock.js';
import type { DocumentStore } from '../../documents/ports.js';
import type { ConnectionInfo } from '../../documents/session-info.js';
import type { DocumentRegistry } from '../../documents/registry.js';
import type { ErrorCode } from '../../errors/registry.js';
import type { DocumentEvents } from '../../history/events.js';
import type { History } from '../../history/history.js';
import type { Logger } from '../../logging/logger.js';

/** The node's open connections (the WebSocket transport, wired by the composition root). */
export interface ConnectionDirectory {
  list(): readonly ConnectionInfo[];
  /** Close one with 4403; false when no open connection has this id. */
  close(id: number): boolean;
}

/** What the routes work with (the composition root builds it). */
export interface ApiDeps {
  readonly registry: DocumentRegistry;
  /** Read through its port only (list, describe); writes go through the registry and handles. */
  readonly store: DocumentStore;
  /** Version history; absent when the store keeps no versions. */
  readonly history?: History;
  readonly events?: DocumentEvents;
  /** The open WebSockets of this node; absent when embedded without a transport. */
  readonly connections?: ConnectionDirectory;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface RouteInput {
  /** Path parameters, validated: `name` (string) and `id` (a version or connection id) where the path has them. */
  readonly name: string;
  readonly id: number;
  /** The query, parsed by the route's schema. */
  readonly query: Record<string, unknown>;
  /** The body: bytes for binary routes, the parsed JSON for JSON routes, else undefined. */
  readonly body: unknown;
  readonly caller: ApiCaller;
  readonly request: IncomingMessage;
}

export type RouteResult =
  | { readonly status: number; readonly json: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status: number; readonly bytes: Uint8Array; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status: 304; readonly headers: Readonly<Record<string, string>> };

export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Below `/api/v1`, with `{name}` (a document name) and `{id}` (a version or connection id) placeholders. */
  readonly path: string;
  readonly level: ApiLevel;
  readonly summary: string;
  readonly query: z.ZodObject;
  readonly body?: { readonly kind: 'binary' } | { readonly kind: 'json'; readonly schema: z.ZodType };
  /** Success responses: a JSON schema, or `binary` (application/octet-stream). */
  readonly responses: Readonly<Record<number, z.ZodType | 'binary' | 'empty'>>;
  /** The error codes this route may answer with besides the ones every route has. */
  readonly errors: readonly ErrorCode[];
  handle(deps: ApiDeps, input: RouteInput): Promise<RouteResult>;
}
