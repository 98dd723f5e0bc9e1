import type { Entity } from '@flux/client';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { DataTable } from '../components/data-table';
import { ErrorNotice } from '../components/notice';
import { TimeText } from '../components/time-text';
import { describeError, flux } from '../flux';
import { formatInteger, propertiesSummary } from '../format';
import { useCoalesced, useFeed } from '../hooks';
import { entityHref, navigate } from '../router';

/** Entities read per page of the list, and at most held in the table (live additions included). */
const PAGE_SIZE = 100;
const MAX_ROWS = 2_000;
/** Entities re-read per refresh round (for their version), and how long a changed row stays marked. */
const REFRESH_BATCH = 50;
const FRESH_MS = 2_000;

type Sort = 'id' | 'updated';

interface Filters {
  prefix: string;
  namespace: string;
  /** A server-side filter expression (docs/filters.md); '' for none. */
  filter: string;
}

const matches = (id: string, { prefix, namespace }: Filters): boolean =>
  (prefix === '' || id.startsWith(prefix)) && (namespace === '' || (id.includes('/') && id.slice(0, id.indexOf('/')) === namespace));

/**
 * The entity table: the first pages of `GET /api/state/entities` for the filters, kept current
 * from the live feed. A `state_update` patches its row at once and the entity is re-read
 * shortly after (for its version); entities created since appear, deleted ones disappear.
 */
export function EntitiesView({ prefix, namespace, filter }: Filters) {
  const filters = useMemo(() => ({ prefix, namespace, filter }), [prefix, namespace, filter]);
  const rows = useRef(new Map<string, Entity>());
  const fresh = useRef(new Map<string, number>());
  const pages = useRef<AsyncIterator<Entity> | undefined>(undefined);
  const dirty = useRef(new Set<string>());
  const [, setRevision] = useState(0);
  const rerender = (): void => setRevision((revision) => revision + 1);
  const [loading, setLoading] = useState(true);
  const [exhausted, setExhausted] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [search, setSearch] = useState('');
  const [sort, setSort] = useState<Sort>('id');
  const [overflow, setOverflow] = useState(false);
  const generation = useRef(0);

  const loadMore = async (): Promise<void> => {
    const iterator = pages.current;
    if (iterator === undefined) return;
    const mine = generation.current;
    setLoading(true);
    try {
      for (let count = 0; count < PAGE_SIZE; count += 1) {
        const next = await iterator.next();
        if (mine !== generation.current) return;
        if (next.done === true) {
          setExhausted(true);
          break;
        }
        if (rows.current.size < MAX_ROWS) rows.current.set(next.value.id, next.value);
        else {
          setOverflow(true);
          break;
        }
      }
      setError(undefined);
    } catch (failure) {
      if (mine === generation.current) setError(`Could not list the entities: ${describeError(failure)}`);
    } finally {
      if (mine === generation.current) {
        setLoading(false);
        rerender();
      }
    }
  };

  const reload = (): void => {
    generation.current += 1;
    void pages.current?.return?.();
    rows.current = new Map();
    dirty.current.clear();
    setExhausted(false);
    setOverflow(false);
    pages.current = flux
      .list({
        ...(filters.prefix === '' ? {} : { prefix: filters.prefix }),
        ...(filters.namespace === '' ? {} : { namespace: filters.namespace }),
        ...(filters.filter === '' ? {} : { filter: filters.filter }),
        pageSize: PAGE_SIZE,
      })
      [Symbol.asyncIterator]();
    void loadMore();
  };

  useEffect(reload, [filters]);

  const refresh = useCoalesced(() => {
    const ids = [...dirty.current].slice(0, REFRESH_BATCH);
    for (const id of ids) dirty.current.delete(id);
    const mine = generation.current;
    void Promise.all(
      ids.map(async (id) => {
        try {
          return [id, await flux.get(id)] as const;
        } catch {
          return [id, null] as const; // keep the row as patched; the next change reads it again
        }
      }),
    ).then((results) => {
      if (mine !== generation.current) return;
      for (const [id, entity] of results) {
        if (entity === undefined) rows.current.delete(id);
        else if (entity !== null && (rows.current.has(id) || rows.current.size < MAX_ROWS)) rows.current.set(id, entity);
      }
      rerender();
      if (dirty.current.size > 0) refresh();
    });
  }, 300);

  useFeed((event) => {
    if (event.type === 'resync') return reload();
    if (event.type === 'metrics_update' || !matches(event.entity_id, filters)) return;
    const id = event.entity_id;
    if (event.type === 'entity_deleted') {
      if (rows.current.delete(id)) rerender();
      return;
    }
    const row = rows.current.get(id);
    if (row !== undefined) {
      const properties = { ...row.properties };
      if (event.value === null) delete properties[event.property];
      else properties[event.property] = event.value;
      rows.current.set(id, { ...row, properties, lastUpdated: event.timestamp });
      rerender();
    } else if (filters.filter !== '') {
      // Only the server evaluates the expression: rows listed under it stay current, others wait for a reload.
      return;
    } else if (rows.current.size >= MAX_ROWS) {
      setOverflow(true);
      return;
    }
    fresh.current.set(id, Date.now());
    dirty.current.add(id);
    refresh();
  });

  // Rows lose their "changed" mark a moment after their last change.
  useEffect(() => {
    const timer = setInterval(() => {
      const now = Date.now();
      let expired = false;
      for (const [id, at] of fresh.current) {
        if (now - at > FRESH_MS) {
          fresh.current.delete(id);
          expired = true;
        }
      }
      if (expired) rerender();
    }, 500);
    return () => clearInterval(timer);
  }, []);

  const needle = search.trim().toLowerCase();
  const shown = [...rows.current.values()].filter(
    (entity) => needle === '' || entity.id.toLowerCase().includes(needle) || JSON.stringify(entity.properties).toLowerCase().includes(needle),
  );
  shown.sort((a, b) => (sort === 'id' ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : b.lastUpdated.localeCompare(a.lastUpdated)));

  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        Entities
      </h1>
      <FilterForm filters={filters} />
      <div class="toolbar">
        <div class="field">
          <label for="entity-search">Search the loaded entities</label>
          <input
            id="entity-search"
            type="search"
            value={search}
            placeholder="id or property value"
            onInput={(event) => setSearch(event.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="entity-sort">Order</label>
          <select id="entity-sort" value={sort} onChange={(event) => setSort(event.currentTarget.value as Sort)}>
            <option value="id">By id</option>
            <option value="updated">Most recently updated first</option>
          </select>
        </div>
      </div>
      {error === undefined ? null : <ErrorNotice>{error}</ErrorNotice>}
      <p class="count" role="status">
        {loading && rows.current.size === 0
          ? 'Loading…'
          : `${formatInteger(shown.length)} shown of ${formatInteger(rows.current.size)} loaded${exhausted ? '' : ' (more to load)'}${
              overflow ? `; the table holds at most ${formatInteger(MAX_ROWS)}, narrow the filters to see others` : ''
            }`}
      </p>
      <DataTable
        class="entities"
        caption={`Entities${describeFilters(filters)}, updated live`}
        columns={['Entity', 'Properties', { label: 'Version', numeric: true }, 'Last updated']}
      >
        {shown.map((entity) => (
          <tr key={entity.id} class={fresh.current.has(entity.id) ? 'row-fresh' : undefined}>
            <th scope="row">
              <a href={entityHref(entity.id)}>{entity.id}</a>
            </th>
            <td class="properties">{propertiesSummary(entity.properties)}</td>
            <td class="numeric">{entity.version}</td>
            <td>
              <TimeText time={entity.lastUpdated} />
            </td>
          </tr>
        ))}
      </DataTable>
      {!loading && shown.length === 0 ? <p class="empty">No entities{describeFilters(filters)} yet.</p> : null}
      {exhausted || overflow ? null : (
        <button type="button" onClick={() => void loadMore()} disabled={loading}>
          {loading ? 'Loading…' : `Load ${PAGE_SIZE} more`}
        </button>
      )}
    </section>
  );
}

const describeFilters = ({ prefix, namespace, filter }: Filters): string =>
  [
    namespace === '' ? '' : ` in namespace “${namespace}”`,
    prefix === '' ? '' : ` with ids starting “${prefix}”`,
    filter === '' ? '' : ` matching “${filter}”`,
  ].join('');

/** Prefix and namespace go into the URL, so a filtered table can be bookmarked and shared. */
function FilterForm({ filters }: { filters: Filters }) {
  const [prefix, setPrefix] = useState(filters.prefix);
  const [namespace, setNamespace] = useState(filters.namespace);
  const [filter, setFilter] = useState(filters.filter);
  useEffect(() => {
    setPrefix(filters.prefix);
    setNamespace(filters.namespace);
    setFilter(filters.filter);
  }, [filters]);
  return (
    <form
      class="filters"
      aria-label="Filter entities"
      onSubmit={(event) => {
        event.preventDefault();
        navigate({ view: 'entities', prefix: prefix.trim(), namespace: namespace.trim(), filter: filter.trim() });
      }}
    >
      <div class="field">
        <label for="filter-namespace">Namespace</label>
        <input id="filter-namespace" value={namespace} placeholder="e.g. sensors" onInput={(event) => setNamespace(event.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="filter-prefix">Id prefix</label>
        <input id="filter-prefix" value={prefix} placeholder="e.g. sensors/room-" onInput={(event) => setPrefix(event.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="filter-expression">Filter</label>
        <input
          id="filter-expression"
          class="mono"
          value={filter}
          placeholder='e.g. status = "open" and battery < 20'
          aria-describedby="filter-expression-hint"
          onInput={(event) => setFilter(event.currentTarget.value)}
        />
        <p class="hint" id="filter-expression-hint">
          Evaluated by the server: =, !=, &lt;, &gt;, exists, in, startswith, contains, and, or, not.
        </p>
      </div>
      <div class="actions">
        <button type="submit">Apply filters</button>
        {filters.prefix !== '' || filters.namespace !== '' || filters.filter !== '' ? (
          <button type="button" class="secondary" onClick={() => navigate({ view: 'entities', prefix: '', namespace: '', filter: '' })}>
            Clear
          </button>
        ) : null}
      </div>
    </form>
  );
}
