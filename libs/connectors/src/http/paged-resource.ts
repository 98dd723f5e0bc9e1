import type { CursorBook } from './cursor-book.js';
import type { JsonGetResult, Validators } from './json-http.js';

/** What the cursors remember of one page: its validators, its next page, and the keys it listed. */
export interface PageMemo extends Validators {
  /** The URL the memo was recorded for. */
  readonly url?: string;
  readonly next?: string;
  /** Whatever the caller needs from an unchanged page (e.g. the repositories it listed). */
  readonly keys?: readonly string[];
}

export type PageContent = { readonly changed: true; readonly body: unknown } | { readonly changed: false; readonly keys: readonly string[] };

export interface PagedResourceOptions {
  /** Cursor key prefix of this resource; page n is remembered under `<prefix>#<n>`. */
  readonly memoKey: string;
  readonly firstUrl: string;
  readonly maxPages: number;
  readonly book: CursorBook;
  /** One conditional GET (the caller adds authentication, rate-limit handling...). */
  readonly get: (url: string, validators: Validators | undefined) => Promise<JsonGetResult>;
  /** The next page of a changed page (usually from its Link header). */
  readonly nextOf: (result: JsonGetResult & { notModified: false }, url: string) => string | undefined;
  /**
   * Handles one page: a changed body, or the keys remembered for an unchanged (304) page.
   * Returns the keys to remember for it. Called before the page's memo is recorded, so a
   * failure (rate limit, abort) leaves the page to be fetched again.
   */
  readonly onPage: (content: PageContent) => readonly string[] | undefined;
}

export interface WalkOutcome {
  readonly pages: number;
  /** False when the page cap stopped the walk before the last page. */
  readonly complete: boolean;
}

/**
 * Walks a paginated resource with conditional requests: every page is fetched with the
 * validators it had last time; a 304 reuses the remembered next link and keys. Stops after
 * `maxPages` pages.
 */
export async function walkPages(options: PagedResourceOptions): Promise<WalkOutcome> {
  let url: string | undefined = options.firstUrl;
  let page = 0;
  while (url !== undefined && page < options.maxPages) {
    const key = `${options.memoKey}#${page}`;
    const memo = options.book.getJson<PageMemo>(key);
    // A remembered page is only reused for the same URL (the query may have changed).
    const usable = memo !== undefined && memo.url === url ? memo : undefined;
    const result = await options.get(url, usable === undefined ? undefined : { etag: usable.etag, lastModified: usable.lastModified });
    let recorded: PageMemo;
    if (result.notModified) {
      const keys = options.onPage({ changed: false, keys: usable?.keys ?? [] });
      recorded = { ...usable, url, ...(keys === undefined ? {} : { keys }) };
    } else {
      const keys = options.onPage({ changed: true, body: result.body });
      const next = options.nextOf(result, url);
      recorded = { url, ...result.validators, ...(next === undefined ? {} : { next }), ...(keys === undefined ? {} : { keys }) };
    }
    options.book.setJson(key, recorded);
    url = recorded.next;
    page++;
  }
  return { pages: page, complete: url === undefined };
}

/** The keys the previous poll remembered for every page of a resource. */
export function rememberedKeys(book: CursorBook, memoKey: string): string[] {
  const keys: string[] = [];
  for (let page = 0; ; page++) {
    const memo = book.getJson<PageMemo>(`${memoKey}#${page}`);
    if (memo === undefined) return keys;
    keys.push(...(memo.keys ?? []));
  }
}
