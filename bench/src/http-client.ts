import { Pool } from 'undici';

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

/** A keep-alive connection pool to one server, for the harness's own requests (not the load). */
export class HttpClient {
  private readonly pool: Pool;

  constructor(baseUrl: string, connections = 16) {
    this.pool = new Pool(baseUrl, { connections, headersTimeout: 120_000, bodyTimeout: 120_000 });
  }

  async get(path: string): Promise<HttpResponse> {
    const response = await this.pool.request({ method: 'GET', path });
    return { status: response.statusCode, body: await response.body.text() };
  }

  /** A GET of a list page, with the cursor of the next page (the Flux-Next-Cursor header) when there is one. */
  async getPage(path: string): Promise<HttpResponse & { readonly nextCursor?: string }> {
    const response = await this.pool.request({ method: 'GET', path });
    const cursor = response.headers['flux-next-cursor'];
    const body = await response.body.text();
    return { status: response.statusCode, body, ...(typeof cursor === 'string' ? { nextCursor: cursor } : {}) };
  }

  async post(path: string, body: string): Promise<HttpResponse> {
    const response = await this.pool.request({ method: 'POST', path, body, headers: { 'content-type': 'application/json' } });
    return { status: response.statusCode, body: await response.body.text() };
  }

  async getJson<T>(path: string): Promise<T> {
    const response = await this.get(path);
    if (response.status !== 200) throw new Error(`GET ${path}: HTTP ${response.status} ${response.body.slice(0, 200)}`);
    return JSON.parse(response.body) as T;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export const listPath = (prefix: string, limit?: number): string =>
  `/api/state/entities?prefix=${encodeURIComponent(prefix)}${limit === undefined ? '' : `&limit=${limit}`}`;
