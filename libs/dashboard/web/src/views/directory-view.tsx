import type { Entity } from '@flux/client';
import { useEffect, useState } from 'preact/hooks';
import { DataTable } from '../components/data-table';
import { ErrorNotice } from '../components/notice';
import { TimeText } from '../components/time-text';
import { describeError, flux } from '../flux';
import { formatInteger } from '../format';
import { useCoalesced, useFeed } from '../hooks';
import { entityHref, hrefOf } from '../router';

/** The system entity Flux keeps current with the namespaces and their entity counts (contract 10). */
export const DIRECTORY_ID = 'flux-core/directory';

interface Directory {
  namespaces: Record<string, { entities: number }>;
  namespace_count: number;
  total_entities: number;
  updated_at: string;
}

const asDirectory = (entity: Entity): Directory => entity.properties as unknown as Directory;

export function DirectoryView() {
  const [entity, setEntity] = useState<Entity | undefined | null>(null);
  const [error, setError] = useState<string | undefined>(undefined);
  const load = async (): Promise<void> => {
    try {
      setEntity(await flux.get(DIRECTORY_ID));
      setError(undefined);
    } catch (failure) {
      setError(`Could not read ${DIRECTORY_ID}: ${describeError(failure)}`);
    }
  };
  useEffect(() => void load(), []);
  const reload = useCoalesced(() => void load(), 250);
  useFeed((event) => {
    if (event.type === 'resync' || (event.type !== 'metrics_update' && event.entity_id === DIRECTORY_ID)) reload();
  });

  const directory = entity ? asDirectory(entity) : undefined;
  const namespaces = Object.entries(directory?.namespaces ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        Directory
      </h1>
      <p class="lead">
        The namespaces and their entity counts, from the system entity <a href={entityHref(DIRECTORY_ID)}>{DIRECTORY_ID}</a>, which Flux keeps current
        within seconds.
      </p>
      {error === undefined ? null : <ErrorNotice>{error}</ErrorNotice>}
      {entity === null ? (
        <p role="status">Loading…</p>
      ) : directory === undefined ? (
        <p class="empty">Flux has not written the directory yet; it appears within seconds of the first event.</p>
      ) : (
        <>
          <dl class="facts">
            <div>
              <dt>Namespaces</dt>
              <dd>{formatInteger(directory.namespace_count)}</dd>
            </div>
            <div>
              <dt>Entities</dt>
              <dd>{formatInteger(directory.total_entities)}</dd>
            </div>
            <div>
              <dt>Updated</dt>
              <dd>
                <TimeText time={directory.updated_at} />
              </dd>
            </div>
          </dl>
          <DataTable caption="Namespaces" columns={['Namespace', { label: 'Entities', numeric: true }]}>
            {namespaces.map(([name, counts]) => (
              <tr key={name}>
                <th scope="row">
                  <a href={hrefOf({ view: 'entities', prefix: '', namespace: name, filter: '' })}>{name}</a>
                </th>
                <td class="numeric">{formatInteger(counts.entities)}</td>
              </tr>
            ))}
          </DataTable>
        </>
      )}
    </section>
  );
}
