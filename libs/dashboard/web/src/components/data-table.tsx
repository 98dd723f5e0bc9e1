import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';

export type Column = string | { label: string; numeric: true };

interface DataTableProps {
  columns: readonly Column[];
  /** Shown above the table; it names the table unless `label` is given. */
  caption?: ComponentChildren;
  label?: string;
  class?: string;
  /** The body's rows. */
  children: ComponentChildren;
}

/**
 * A table in a region that scrolls sideways on a narrow screen; the region is focusable, so the
 * keyboard can scroll it too, and named, so a screen reader says what it holds.
 */
export function DataTable({ columns, caption, label, class: className, children }: DataTableProps) {
  const id = useId();
  const name = label === undefined ? { 'aria-labelledby': `${id}-caption` } : { 'aria-label': label };
  return (
    <div class="table-scroll" role="region" tabIndex={0} {...name}>
      <table class={className}>
        {caption === undefined ? null : <caption id={`${id}-caption`}>{caption}</caption>}
        <thead>
          <tr>
            {columns.map((column) =>
              typeof column === 'string' ? (
                <th scope="col" key={column}>
                  {column}
                </th>
              ) : (
                <th scope="col" class="numeric" key={column.label}>
                  {column.label}
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
