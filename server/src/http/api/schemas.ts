import { z } from 'zod';
import { TYPE_KINDS, type TypeKind } from '../../crdt/doc-json.js';

/**
 * The request and response schemas of `/api/v1`: requests are validated with them and the
 * OpenAPI document (`openapi.ts`) is generated from the very same objects, so the two cannot
 * drift.
 */

const encoder = new TextEncoder();
// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A document name: 1–255 bytes of well-formed UTF-8, no control characters (the WebSocket rule). */
export const DocName = z
  .string()
  .min(1)
  .refine((name) => name.isWellFormed() && !CONTROL.test(name) && encoder.encode(name).byteLength <= 255, {
    message: 'a document name is 1 to 255 bytes of UTF-8 without control characters',
  })
  .meta({ description: 'The document name, percent-encoded as one path segment (encodeURIComponent: "/" is %2F).' });

export const VersionId = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).meta({ description: 'A version id of the document.' });

/** `name:kind,…` → { name: kind }: the kind of top-level types whose kind cannot be inferred. */
export const TypeHints = z
  .string()
  .max(4096)
  .transform((text, ctx): Record<string, TypeKind> => {
    const hints: Record<string, TypeKind> = {};
    for (const entry of text.split(',').filter((e) => e !== '')) {
      const at = entry.lastIndexOf(':');
      const name = entry.slice(0, at);
      const kind = entry.slice(at + 1) as TypeKind;
      if (at <= 0 || !TYPE_KINDS.includes(kind)) {
        ctx.addIssue({ code: 'custom', message: `expected name:kind with kind one of ${TYPE_KINDS.join('|')}, got "${entry}"` });
        return z.NEVER;
      }
      hints[name] = kind;
    }
    return hints;
  })
  .meta({ description: 'Kinds of top-level types where they cannot be inferred: name:kind,… with kind map | array | text | xml.' });

export const ContentQuery = z.strictObject({ type: TypeHints.optional() });

export const ListQuery = z.strictObject({
  prefix: z.string().max(255).default('').meta({ description: 'Only names starting with this.' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100).meta({ description: 'Page size (1–1000).' }),
  cursor: z.string().max(400).optional().meta({ description: 'The nextCursor of the previous page.' }),
});

export const UpdateQuery = z.strictObject({
  sv: z.string().max(1_000_000).optional().meta({ description: 'A Yjs state vector, base64 or base64url: answer only what it lacks.' }),
});

export const NoQuery = z.strictObject({});

export const CreateVersionBody = z.strictObject({
  label: z.string().max(200).optional().meta({ description: 'A name for the version.' }),
});

// --- responses --------------------------------------------------------------------------

const Timestamp = z.iso.datetime().meta({ description: 'ISO 8601, UTC.' });
const Base64 = z.string().meta({ description: 'base64 (standard alphabet).' });

export const ErrorBody = z.strictObject({
  error: z.strictObject({ code: z.string().meta({ description: 'A stable SKEIN_ERR_* code (docs/errors.md).' }), message: z.string() }),
});

export const DocSummary = z.strictObject({
  name: z.string(),
  bytes: z.number().int().min(0).meta({ description: 'Bytes stored (snapshot plus the updates after it).' }),
  updatesSinceSnapshot: z.number().int().min(0),
  lastModified: Timestamp,
  loaded: z.boolean().meta({ description: 'In memory on this node now.' }),
});

export const DocList = z.strictObject({
  docs: z.array(DocSummary),
  nextCursor: z.string().nullable().meta({ description: 'Pass as ?cursor= for the next page; null on the last page.' }),
});

export const DocMetadata = z.strictObject({
  name: z.string(),
  bytes: z.number().int().min(0),
  updatesSinceSnapshot: z.number().int().min(0),
  strategy: z.string().meta({ description: 'Durability strategy: immediate or debounced:WAIT_MS:MAX_WAIT_MS.' }),
  stateVector: Base64,
  createdAt: Timestamp.nullable(),
  lastModified: Timestamp.nullable(),
  loaded: z.boolean(),
  connections: z.number().int().min(0).meta({ description: 'Sessions attached on this node.' }),
});

export const DocContent = z.strictObject({
  name: z.string(),
  content: z.record(z.string(), z.unknown()).meta({ description: 'Top-level types by name: maps as objects, arrays, text as strings, XML as its string form.' }),
});

export const UpdateAccepted = z.strictObject({
  name: z.string(),
  stateVector: Base64.meta({ description: 'The state vector after the update.' }),
  durable: z.literal(true),
});

export const Deleted = z.strictObject({ name: z.string(), deleted: z.literal(true) });

export const Version = z.strictObject({
  id: z.number().int().min(1),
  kind: z.enum(['named', 'auto', 'before-restore']),
  label: z.string(),
  createdAt: Timestamp,
  user: z.string(),
  bytes: z.number().int().min(0),
});

export const VersionList = z.strictObject({ name: z.string(), versions: z.array(Version) });

export const VersionContent = z.strictObject({ name: z.string(), version: Version, content: DocContent.shape.content });

export const Restored = z.strictObject({
  name: z.string(),
  restored: Version,
  before: Version.meta({ description: 'The automatic version taken first: restore it to undo.' }),
  changed: z.boolean().meta({ description: 'False when the document already equalled the version.' }),
});

// --- inspector (docs/inspector.md) ------------------------------------------------------

export const ConnectionId = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).meta({ description: 'A connection id (from GET /api/v1/connections).' });

export const ConnectionEntry = z.strictObject({
  id: z.number().int().min(1),
  doc: z.string(),
  user: z.string().meta({ description: 'The token\'s subject (anonymous with --auth none).' }),
  readOnly: z.boolean(),
  ip: z.string().meta({ description: 'The socket\'s peer address (a proxy\'s when behind one).' }),
  openedAt: Timestamp,
  bytesIn: z.number().int().min(0).meta({ description: 'Message bytes received from the client since it opened.' }),
  bytesOut: z.number().int().min(0).meta({ description: 'Message bytes sent to the client since it opened.' }),
  bufferedBytes: z.number().int().min(0).meta({ description: 'Bytes waiting in the socket\'s send buffer now.' }),
});

export const ConnectionList = z.strictObject({
  connections: z.array(ConnectionEntry).meta({ description: 'Open WebSockets of the answering node, oldest first.' }),
});

export const ConnectionClosed = z.strictObject({ id: z.number().int().min(1), closed: z.literal(true) });

export const AwarenessList = z.strictObject({
  name: z.string(),
  clients: z.array(z.strictObject({
    clientId: z.number().int().min(0),
    state: z.record(z.string(), z.unknown()).meta({ description: 'The client\'s awareness state (e.g. user name, colour, cursor), as it published it.' }),
  })).meta({ description: 'Presence on the answering node; empty when the document is not loaded there.' }),
});
