import { useState } from 'preact/hooks';
import { ErrorNotice, StatusNotice } from '../components/notice';
import { TokenField } from '../components/token-field';
import { describeError, fluxWith, publicMode } from '../flux';
import { entityHref } from '../router';
import { readToken } from '../token-store';

const EXAMPLE_PROPERTIES = '{\n  "status": "ok",\n  "checked_by": "dashboard"\n}';

function parseProperties(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`Properties are not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('Properties must be a JSON object, e.g. {"status": "ok"}.');
  return value as Record<string, unknown>;
}

/** Publishes one test event; in public mode with the token of the namespace the entity belongs to. */
export function PublishView({ entityId }: { entityId: string }) {
  const [id, setId] = useState(entityId);
  const [properties, setProperties] = useState(EXAMPLE_PROPERTIES);
  const [stream, setStream] = useState('dashboard.test');
  const [source, setSource] = useState('dashboard');
  const [token, setToken] = useState(() => readToken('namespace'));
  const [error, setError] = useState<string | undefined>(undefined);
  const [published, setPublished] = useState<{ id: string; eventId: string } | undefined>(undefined);
  const [sending, setSending] = useState(false);

  const publish = async (): Promise<void> => {
    setError(undefined);
    setPublished(undefined);
    setSending(true);
    try {
      const result = await fluxWith({ token }).publish({
        entityId: id.trim(),
        properties: parseProperties(properties),
        stream: stream.trim(),
        source: source.trim(),
      });
      setPublished({ id: id.trim(), eventId: result.eventId });
    } catch (failure) {
      setError(`Not published: ${describeError(failure)}`);
    } finally {
      setSending(false);
    }
  };

  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        Publish a test event
      </h1>
      <p class="lead">
        Each property replaces the entity's property of that name; <code>null</code> removes one.
        {publicMode ? ' In public mode the entity id starts with your namespace (namespace/…) and the namespace token is required.' : ''}
      </p>
      <form
        class="form"
        aria-label="Test event"
        onSubmit={(event) => {
          event.preventDefault();
          void publish();
        }}
      >
        <div class="field">
          <label for="publish-entity">Entity id</label>
          <input
            id="publish-entity"
            required
            maxLength={512}
            value={id}
            placeholder={publicMode ? 'my-namespace/device-1' : 'demo/device-1'}
            onInput={(event) => setId(event.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="publish-properties">Properties (JSON object)</label>
          <textarea
            id="publish-properties"
            rows={6}
            required
            spellcheck={false}
            value={properties}
            onInput={(event) => setProperties(event.currentTarget.value)}
          />
        </div>
        <div class="field-row">
          <div class="field">
            <label for="publish-stream">Stream</label>
            <input
              id="publish-stream"
              required
              pattern="[a-z0-9]+(\.[a-z0-9]+)*"
              value={stream}
              onInput={(event) => setStream(event.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="publish-source">Source</label>
            <input id="publish-source" required value={source} onInput={(event) => setSource(event.currentTarget.value)} />
          </div>
        </div>
        {publicMode ? (
          <TokenField
            kind="namespace"
            label="Namespace token"
            hint="The token returned when the namespace was registered."
            required
            onChange={setToken}
          />
        ) : null}
        <div class="actions">
          <button type="submit" disabled={sending}>
            {sending ? 'Publishing…' : 'Publish event'}
          </button>
        </div>
        {error === undefined ? null : <ErrorNotice>{error}</ErrorNotice>}
        <StatusNotice>
          {published === undefined ? undefined : (
            <>
              Published event <span class="mono">{published.eventId}</span> to <a href={entityHref(published.id)}>{published.id}</a>.
            </>
          )}
        </StatusNotice>
      </form>
    </section>
  );
}
