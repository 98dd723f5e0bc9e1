/**
 * The WebSocket implementation: the one given, else the global one (browsers, Node 22+), else
 * the `ws` package. `ws` is imported only when needed and through a computed specifier, so a
 * browser bundle never includes it.
 */

/** What the client uses of a WebSocket (the WHATWG interface, which `ws` implements too). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/**
 * Any WebSocket class: the browser's, Node's global one, `ws`'s. Typed loosely because their
 * event types differ in detail; the client uses only what WebSocketLike names.
 */
export type WebSocketConstructor = new (url: string) => unknown;

export type WebSocketFactory = (url: string) => WebSocketLike;

const WS_PACKAGE = 'ws';

export async function loadWebSocket(given: WebSocketConstructor | undefined): Promise<WebSocketFactory> {
  const constructor = given ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? (await importWs());
  return (url) => new constructor(url) as WebSocketLike;
}

async function importWs(): Promise<WebSocketConstructor> {
  try {
    const module = (await import(/* @vite-ignore */ WS_PACKAGE)) as { WebSocket?: WebSocketConstructor; default?: WebSocketConstructor };
    const constructor = module.WebSocket ?? module.default;
    if (constructor !== undefined) return constructor;
  } catch {
    // Reported below with what to do about it.
  }
  throw new Error('no WebSocket available: this runtime has no global WebSocket and the `ws` package could not be loaded (npm install ws)');
}
