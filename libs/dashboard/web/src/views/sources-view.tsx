import type { Source, SourceSpec } from '@flux/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { DataTable } from '../components/data-table';
import { ErrorNotice, StatusNotice } from '../components/notice';
import { TimeText } from '../components/time-text';
import { NamespaceTokenForm } from '../components/token-field';
import { describeErrorWithCode, fluxWith, publicMode } from '../flux';
import { formatInteger } from '../format';
import { readToken } from '../token-store';

/** Sources poll on their own schedule, not through the event feed: their status is re-read. */
const REFRESH_MS = 5_000;

const STATUS_TEXT: Record<Source['status'], string> = { active: 'Active', paused: 'Paused', error: 'Error' };
const STATUS_BADGE: Record<Source['status'], string> = { active: 'configured', paused: 'not_configured', error: 'error' };

interface Draft {
  name: string;
  url: string;
  interval: string;
  entityKey: string;
  itemsPath: string;
  properties: string;
  auth: 'none' | 'bearer';
  token: string;
}

const EMPTY_DRAFT: Draft = { name: '', url: '', interval: '60', entityKey: '$.id', itemsPath: '', properties: '', auth: 'none', token: '' };

/** The spec the form describes; the server validates it (its errors are shown as they come). */
function specOf(draft: Draft): SourceSpec {
  const properties = draft.properties
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  return {
    name: draft.name.trim(),
    url: draft.url.trim(),
    poll_interval_seconds: Number(draft.interval),
    entity_key: draft.entityKey.trim(),
    ...(draft.itemsPath.trim() === '' ? {} : { items_path: draft.itemsPath.trim() }),
    ...(properties.length === 0 ? {} : { properties }),
    ...(draft.auth === 'bearer' ? { auth: 'bearer' as const, token: draft.token } : {}),
  };
}

/** HTTP sources: the list with each one's status, a form that adds one, pause, resume and delete. */
export function SourcesView() {
  // The namespace token (public mode): sources belong to a namespace.
  const [token, setToken] = useState(() => readToken('namespace'));
  const [shownToken, setShownToken] = useState(token);
  const [sources, setSources] = useState<Source[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const latest = useRef(0);
  const locked = publicMode && shownToken === '';

  const load = async (): Promise<void> => {
    if (locked) return;
    const request = ++latest.current;
    try {
      const listed = await fluxWith({ token: shownToken }).connectors.sources.list();
      if (request !== latest.current) return;
      setSources(listed);
    } catch (failure) {
      if (request === latest.current) setError(`Could not read the sources: ${describeErrorWithCode(failure)}`);
    }
  };

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [shownToken]);

  /** Runs a change, then shows its outcome and re-reads the list. */
  const act = async (what: string, change: () => Promise<unknown>, success: string): Promise<boolean> => {
    setBusy(true);
    setDone('');
    try {
      await change();
      setError(undefined);
      setDone(success);
      return true;
    } catch (failure) {
      setError(`Could not ${what}: ${describeErrorWithCode(failure)}`);
      return false;
    } finally {
      setBusy(false);
      void load();
    }
  };
  const sourcesApi = () => fluxWith({ token: shownToken }).connectors.sources;

  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        Sources
      </h1>
      <p class="lead">
        HTTP sources are URLs that Flux polls; every item of the response is published as an entity. Their status is read every 5 seconds.
      </p>
      {publicMode ? (
        <NamespaceTokenForm
          hint="Sources belong to a namespace: its token shows and changes them."
          submitLabel="Show sources"
          token={token}
          shownToken={shownToken}
          onTokenChange={setToken}
          onShow={setShownToken}
          onReload={() => void load()}
        />
      ) : null}
      {error === undefined ? null : <ErrorNotice>{error}</ErrorNotice>}
      <StatusNotice>{done}</StatusNotice>
      {sources === undefined ? (
        <p class="empty">{locked ? 'Enter a namespace token to see its sources.' : 'Loading…'}</p>
      ) : sources.length === 0 ? (
        <p class="empty">No sources yet.</p>
      ) : (
        <DataTable
          caption="Sources"
          columns={['Source', 'URL', 'Status', 'Last poll', 'Last error', { label: 'Items seen', numeric: true }, 'Paused', 'Actions']}
        >
          {sources.map((source) => (
            <tr key={source.id}>
              <th scope="row">{source.name}</th>
              <td class="wrap mono">{source.url}</td>
              <td>
                <span class={`badge badge-${STATUS_BADGE[source.status] ?? 'error'}`}>{STATUS_TEXT[source.status] ?? source.status}</span>
              </td>
              <td>
                <TimeText time={source.last_poll} />
              </td>
              <td class="wrap">{source.last_error ?? '—'}</td>
              <td class="numeric">{source.items_seen === null ? '—' : formatInteger(source.items_seen)}</td>
              <td>{source.paused ? 'yes' : 'no'}</td>
              <td>
                <div class="actions">
                  <button
                    type="button"
                    class="secondary"
                    disabled={busy}
                    aria-label={`${source.paused ? 'Resume' : 'Pause'} ${source.name}`}
                    onClick={() =>
                      void act(
                        source.paused ? 'resume the source' : 'pause the source',
                        () => (source.paused ? sourcesApi().resume(source.id) : sourcesApi().pause(source.id)),
                        `${source.paused ? 'Resumed' : 'Paused'} ${source.name}.`,
                      )
                    }
                  >
                    {source.paused ? 'Resume' : 'Pause'}
                  </button>
                  <button
                    type="button"
                    class="secondary"
                    disabled={busy}
                    aria-label={`Delete ${source.name}`}
                    onClick={() => {
                      if (window.confirm(`Delete the source “${source.name}”? Its entities stay.`)) {
                        void act('delete the source', () => sourcesApi().delete(source.id), `Deleted ${source.name}.`);
                      }
                    }}
                  >
                    Delete
                  </button>
                </div>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <button type="button" class="secondary" onClick={() => void load()} disabled={locked}>
        Refresh now
      </button>
      <h2>Add a source</h2>
      <SourceForm
        disabled={busy || locked}
        onSubmit={(spec) => act('add the source', () => sourcesApi().create(spec), `Added ${spec.name}; it is polled at once.`)}
      />
    </section>
  );
}

interface SourceFormProps {
  disabled: boolean;
  /** Resolves true when the source was added (the form is then emptied). */
  onSubmit: (spec: SourceSpec) => Promise<boolean>;
}

function SourceForm({ disabled, onSubmit }: SourceFormProps) {
  const [draft, setDraft] = useState<Draft>(EMPTY_DRAFT);
  const set =
    (key: keyof Draft) =>
    (event: { currentTarget: { value: string } }): void =>
      setDraft((current) => ({ ...current, [key]: event.currentTarget.value }));
  return (
    <form
      class="form"
      aria-label="Add a source"
      onSubmit={(event) => {
        event.preventDefault();
        void onSubmit(specOf(draft)).then((added) => {
          if (added) setDraft(EMPTY_DRAFT);
        });
      }}
    >
      <div class="field-row">
        <div class="field">
          <label for="source-name">Name</label>
          <input id="source-name" required value={draft.name} onInput={set('name')} />
        </div>
        <div class="field">
          <label for="source-interval">Poll interval (seconds)</label>
          <input id="source-interval" type="number" min={5} max={86_400} required value={draft.interval} onInput={set('interval')} />
        </div>
      </div>
      <div class="field">
        <label for="source-url">URL</label>
        <input id="source-url" type="url" required value={draft.url} placeholder="https://example.com/items.json" onInput={set('url')} />
      </div>
      <div class="field-row">
        <div class="field">
          <label for="source-entity-key">Entity key (JSONPath)</label>
          <input id="source-entity-key" required class="mono" value={draft.entityKey} onInput={set('entityKey')} />
          <p class="hint">Each item's id, e.g. $.id</p>
        </div>
        <div class="field">
          <label for="source-items-path">Items path (JSONPath)</label>
          <input id="source-items-path" class="mono" value={draft.itemsPath} placeholder="$.data.items" onInput={set('itemsPath')} />
          <p class="hint">Empty: the response is the list of items.</p>
        </div>
      </div>
      <div class="field">
        <label for="source-properties">Properties</label>
        <input id="source-properties" value={draft.properties} placeholder="name, status, temperature" onInput={set('properties')} />
        <p class="hint">Comma-separated field names to keep; empty keeps every field.</p>
      </div>
      <div class="field-row">
        <div class="field">
          <label for="source-auth">Authentication</label>
          <select id="source-auth" value={draft.auth} onChange={set('auth')}>
            <option value="none">None</option>
            <option value="bearer">Bearer token</option>
          </select>
        </div>
        {draft.auth === 'bearer' ? (
          <div class="field">
            <label for="source-token">Bearer token</label>
            <input id="source-token" type="password" autocomplete="off" required value={draft.token} onInput={set('token')} />
            <p class="hint">Stored encrypted by Flux and never shown again.</p>
          </div>
        ) : null}
      </div>
      <div class="actions">
        <button type="submit" disabled={disabled}>
          Add source
        </button>
      </div>
    </form>
  );
}
