import type { ConnectorDetail } from '@flux/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { DataTable } from '../components/data-table';
import { ErrorNotice } from '../components/notice';
import { TimeText } from '../components/time-text';
import { NamespaceTokenForm } from '../components/token-field';
import { describeError, fluxWith, publicMode } from '../flux';
import { readToken } from '../token-store';

/** Status is polled: connectors change it on their own schedule, not through the event feed. */
const REFRESH_MS = 10_000;

const STATUS_TEXT: Record<string, string> = { configured: 'Configured', not_configured: 'Not configured', error: 'Error' };

/** Connectors and their status; in public mode, those of the namespace whose token is given. */
export function ConnectorsView() {
  // The token typed in, and the one the list was asked for (not every keystroke is a request).
  const [token, setToken] = useState(() => readToken('namespace'));
  const [shownToken, setShownToken] = useState(token);
  const [connectors, setConnectors] = useState<ConnectorDetail[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const latest = useRef(0);

  const load = async (): Promise<void> => {
    if (publicMode && shownToken === '') return;
    const request = ++latest.current;
    setLoading(true);
    try {
      const client = fluxWith({ token: shownToken });
      const summaries = await client.connectors.list();
      const details = await Promise.all(summaries.map((summary) => client.connectors.get(summary.name)));
      if (request !== latest.current) return;
      setConnectors(details);
      setError(undefined);
    } catch (failure) {
      if (request === latest.current) setError(`Could not read the connectors: ${describeError(failure)}`);
    } finally {
      if (request === latest.current) setLoading(false);
    }
  };

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [shownToken]);

  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        Connectors
      </h1>
      <p class="lead">Connectors pull data from other services and publish it as events. Their status is read every 10 seconds.</p>
      {publicMode ? (
        <NamespaceTokenForm
          hint="Connector credentials belong to a namespace: its token shows that namespace's connectors."
          submitLabel="Show connectors"
          token={token}
          shownToken={shownToken}
          onTokenChange={setToken}
          onShow={setShownToken}
          onReload={() => void load()}
        />
      ) : null}
      {error === undefined ? null : <ErrorNotice>{error}</ErrorNotice>}
      {connectors === undefined ? (
        <p role="status">{publicMode && shownToken === '' ? 'Enter a namespace token to see its connectors.' : loading ? 'Loading…' : ''}</p>
      ) : connectors.length === 0 ? (
        <p class="empty">This server runs no connectors.</p>
      ) : (
        <DataTable
          caption="Connectors"
          columns={['Connector', 'Status', 'Enabled', { label: 'Poll interval', numeric: true }, 'Last poll', 'Last error']}
        >
          {connectors.map((connector) => (
            <tr key={connector.name}>
              <th scope="row">{connector.name}</th>
              <td>
                <span class={`badge badge-${connector.status}`}>{STATUS_TEXT[connector.status] ?? connector.status}</span>
              </td>
              <td>{connector.enabled ? 'yes' : 'no'}</td>
              <td class="numeric">{connector.poll_interval_seconds} s</td>
              <td>
                <TimeText time={connector.last_poll} />
              </td>
              <td class="wrap">{connector.last_error ?? '—'}</td>
            </tr>
          ))}
        </DataTable>
      )}
      <button type="button" class="secondary" onClick={() => void load()} disabled={loading || (publicMode && shownToken === '')}>
        Refresh now
      </button>
    </section>
  );
}
