import type { Entity, HistoryEvent } from '@flux/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { DataTable } from '../components/data-table';
import { ErrorNotice } from '../components/notice';
import { TimeText } from '../components/time-text';
import { describeError, flux } from '../flux';
import { prettyJson } from '../format';
import { useCoalesced, useFeed } from '../hooks';
import { hrefOf } from '../router';

/** Events of the history shown (the newest first). */
const HISTORY_LIMIT = 50;

type Loaded = { entity: Entity | undefined; history: HistoryEvent[] };

/** One entity: its properties, version and last update, and its recent events; re-read when it changes. */
export function EntityView({ id }: { id: string }) {
  const [loaded, setLoaded] = useState<Loaded | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const latest = useRef(0);

  const load = async (): Promise<void> => {
    const request = ++latest.current;
    try {
      const [entity, history] = await Promise.all([flux.get(id), flux.history(id, { limit: HISTORY_LIMIT })]);
      if (request !== latest.current) return;
      setLoaded({ entity, history });
      setError(undefined);
    } catch (failure) {
      if (request === latest.current) setError(`Could not read ${id}: ${describeError(failure)}`);
    }
  };

  useEffect(() => {
    setLoaded(undefined);
    void load();
  }, [id]);
  const reload = useCoalesced(() => void load(), 250);
  useFeed((event) => {
    if (event.type === 'resync' || (event.type !== 'metrics_update' && event.entity_id === id)) reload();
  });

  const entity = loaded?.entity;
  const properties = Object.entries(entity?.properties ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return (
    <section aria-labelledby="view-title">
      <p class="breadcrumb">
        <a href={hrefOf({ view: 'entities', prefix: '', namespace: '', filter: '' })}>Entities</a>
      </p>
      <h1 id="view-title" tabIndex={-1} class="entity-id">
        {id}
      </h1>
      {error === undefined ? null : <ErrorNotice>{error}</ErrorNotice>}
      {loaded === undefined ? (
        <p role="status">Loading…</p>
      ) : entity === undefined ? (
        <p class="empty" role="status">
          There is no entity with this id now (never created, or deleted). Its history since yesterday is below.
        </p>
      ) : (
        <>
          <dl class="facts">
            <div>
              <dt>Version</dt>
              <dd data-testid="entity-version">{entity.version}</dd>
            </div>
            <div>
              <dt>Last updated</dt>
              <dd>
                <TimeText time={entity.lastUpdated} />
              </dd>
            </div>
            <div>
              <dt>Properties</dt>
              <dd>{properties.length}</dd>
            </div>
          </dl>
          <p>
            <a class="button-link" href={hrefOf({ view: 'publish', entityId: id })}>
              Publish an event to this entity
            </a>
          </p>
          <h2>Properties</h2>
          <DataTable label="Properties" columns={['Name', 'Value']}>
            {properties.map(([name, value]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td>
                  <pre class="json">{prettyJson(value)}</pre>
                </td>
              </tr>
            ))}
          </DataTable>
        </>
      )}
      {loaded === undefined ? null : <History events={loaded.history} />}
    </section>
  );
}

function History({ events }: { events: HistoryEvent[] }) {
  return (
    <>
      <h2>Recent history</h2>
      {events.length === 0 ? (
        <p class="empty">No events stored for this id in the last 24 hours.</p>
      ) : (
        <DataTable
          label="Recent history"
          caption={`The newest ${events.length} events, newest first`}
          columns={['Time', 'Stream', 'Source', 'Properties', 'Event id']}
        >
          {events.map((event) => (
            <tr key={event.eventId}>
              <td>
                <TimeText time={event.timestamp} />
              </td>
              <td>{event.stream}</td>
              <td>{event.source}</td>
              <td>
                <pre class="json">{prettyJson(event.payload?.properties ?? {})}</pre>
              </td>
              <td class="mono">{event.eventId}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </>
  );
}
