/**
 * Where a prefix watch stands in the log: per partition, the newest position token it handed
 * to its consumer. Tokens are base64url of `<partition>.<offset>` (see the server's
 * position.ts); the client reads them only to compare offsets within a partition.
 */
export class PositionCursor {
  private readonly byPartition = new Map<number, { offset: number; token: string }>();

  /** Remembers a token if it is past what its partition had. */
  note(token: unknown): void {
    if (typeof token !== 'string') return;
    const position = decodePosition(token);
    if (position === undefined) return;
    const known = this.byPartition.get(position.partition);
    if (known === undefined || position.offset > known.offset) this.byPartition.set(position.partition, { offset: position.offset, token });
  }

  /** Starts again from these tokens. */
  reset(tokens: readonly unknown[] = []): void {
    this.byPartition.clear();
    for (const token of tokens) this.note(token);
  }

  /** One token per partition: what a subscribe's `since` takes. */
  tokens(): string[] {
    return [...this.byPartition.values()].map(({ token }) => token);
  }
}

/** The partition and offset a position token names, or undefined for a token that is not one. */
export function decodePosition(token: string): { partition: number; offset: number } | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(token)) return undefined;
  let text: string;
  try {
    const base64 = token.replace(/-/g, '+').replace(/_/g, '/');
    text = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  } catch {
    return undefined;
  }
  const match = /^(\d{1,10})\.(\d{1,16})$/.exec(text);
  return match === null ? undefined : { partition: Number(match[1]), offset: Number(match[2]) };
}
