/**
 * The board's versions through Skein's HTTP API (docs/http-api.md, "Versions"): list, save
 * (a named version), fetch one as a Yjs update, restore. The page's token, if any, goes as
 * `Authorization: Bearer`; the server decides what it allows (read: list and fetch; write:
 * save and restore).
 */

export interface Version {
  readonly id: number;
  readonly kind: string;
  readonly label: string;
  readonly createdAt: string;
  readonly user: string;
}

/** Top-level types of a board, named for restore (an empty map would otherwise be guessed). */
const TYPES = 'shapes:map,meta:map';

export class HistoryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(code ?? `HTTP ${status}`);
  }
}

export class HistoryApi {
  readonly #base: string;
  readonly #token: string;

  /** `server`: the WebSocket URL the provider uses (ws → http, wss → https, same host). */
  constructor(server: string, docName: string, token: string) {
    const http = new URL(server.replace(/^ws/, 'http'));
    this.#base = `${http.origin}/api/v1/docs/${encodeURIComponent(docName)}/versions`;
    this.#token = token;
  }

  /** Oldest first; none for a board never written (404 `SKEIN_ERR_DOC_NOT_FOUND`). */
  async list(): Promise<Version[]> {
    let res: Response;
    try {
      res = await this.#fetch('', 'GET');
    } catch (e) {
      if (e instanceof HistoryError && e.code === 'SKEIN_ERR_DOC_NOT_FOUND') return [];
      throw e;
    }
    const body = (await res.json()) as { versions?: unknown };
    return Array.isArray(body.versions) ? body.versions.filter(isVersion) : [];
  }

  async save(label: string): Promise<Version> {
    const res = await this.#fetch('', 'POST', JSON.stringify(label === '' ? {} : { label: label.slice(0, 200) }));
    const body: unknown = await res.json();
    if (!isVersion(body)) throw new HistoryError(res.status, undefined);
    return body;
  }

  /** The board's state at version `id`, one Yjs update. */
  async update(id: number): Promise<Uint8Array> {
    const res = await this.#fetch(`/${id}/update`, 'GET');
    return new Uint8Array(await res.arrayBuffer());
  }

  /** Restore: a forward update on the server; connected replicas (this one too) converge. */
  async restore(id: number): Promise<void> {
    await this.#fetch(`/${id}/restore?type=${encodeURIComponent(TYPES)}`, 'POST');
  }

  async #fetch(path: string, method: 'GET' | 'POST', body?: string): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.#token !== '') headers.Authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${this.#base}${path}`, { method, headers, ...(body === undefined ? {} : { body }), cache: 'no-store' });
    if (!res.ok) throw new HistoryError(res.status, await errorCode(res));
    return res;
  }
}

async function errorCode(res: Response): Promise<string | undefined> {
  try {
    const body = (await res.json()) as { code?: unknown; error?: { code?: unknown } };
    const code = body.code ?? body.error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

function isVersion(v: unknown): v is Version {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.id === 'number' && typeof r.kind === 'string' && typeof r.label === 'string' && typeof r.createdAt === 'string' && typeof r.user === 'string';
}
