import type { ComponentChildren } from 'preact';

/** An error, announced at once by screen readers. */
export function ErrorNotice({ children }: { children: ComponentChildren }) {
  return (
    <p class="notice notice-error" role="alert">
      {children}
    </p>
  );
}

/** A result, announced politely. Rendered empty so that the region exists before it is filled. */
export function StatusNotice({ children }: { children?: ComponentChildren }) {
  return (
    <p class={children === undefined || children === '' ? 'notice-empty' : 'notice notice-ok'} role="status">
      {children}
    </p>
  );
}
