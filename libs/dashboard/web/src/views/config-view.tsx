import type { RuntimeConfig } from '@flux/client';
import { useEffect, useState } from 'preact/hooks';
import { ErrorNotice, StatusNotice } from '../components/notice';
import { TokenField } from '../components/token-field';
import { describeError, flux, fluxWith, publicMode } from '../flux';
import { readToken } from '../token-store';

type NumberKey = 'rate_limit_per_namespace_per_minute' | 'body_size_limit_single_bytes' | 'body_size_limit_batch_bytes';

const NUMBER_FIELDS: ReadonlyArray<{ key: NumberKey; label: string; hint: string }> = [
  { key: 'rate_limit_per_namespace_per_minute', label: 'Events per namespace per minute', hint: 'The rate limit of each namespace (public mode).' },
  { key: 'body_size_limit_single_bytes', label: 'Largest single event body (bytes)', hint: 'POST /api/events; at least 1024.' },
  { key: 'body_size_limit_batch_bytes', label: 'Largest batch body (bytes)', hint: 'POST /api/events/batch; at least 65536.' },
];

type Draft = { rate_limit_enabled: boolean } & Record<NumberKey, string>;

const draftOf = (config: RuntimeConfig): Draft => ({
  rate_limit_enabled: config.rate_limit_enabled,
  rate_limit_per_namespace_per_minute: String(config.rate_limit_per_namespace_per_minute),
  body_size_limit_single_bytes: String(config.body_size_limit_single_bytes),
  body_size_limit_batch_bytes: String(config.body_size_limit_batch_bytes),
});

/** The runtime config (contract 8), and a form that changes it with the admin token. */
export function ConfigView() {
  const [config, setConfig] = useState<RuntimeConfig | undefined>(undefined);
  const [draft, setDraft] = useState<Draft | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [saved, setSaved] = useState('');
  const [saving, setSaving] = useState(false);
  const [adminToken, setAdminToken] = useState(() => readToken('admin'));

  useEffect(() => {
    flux.admin.getConfig().then(
      (current) => {
        setConfig(current);
        setDraft(draftOf(current));
      },
      (failure: unknown) => setError(`Could not read the configuration: ${describeError(failure)}`),
    );
  }, []);

  const save = async (): Promise<void> => {
    if (config === undefined || draft === undefined) return;
    const update: Partial<RuntimeConfig> = {};
    if (draft.rate_limit_enabled !== config.rate_limit_enabled) update.rate_limit_enabled = draft.rate_limit_enabled;
    for (const { key } of NUMBER_FIELDS) {
      const value = Number(draft[key]);
      if (value !== config[key]) update[key] = value;
    }
    setSaved('');
    setError(undefined);
    if (Object.keys(update).length === 0) {
      setSaved('Nothing to save: the form shows the current configuration.');
      return;
    }
    setSaving(true);
    try {
      const next = await fluxWith({ adminToken }).admin.setConfig(update);
      setConfig(next);
      setDraft(draftOf(next));
      setSaved(`Saved at ${new Date().toLocaleTimeString()}. Every instance of the deployment uses it now.`);
    } catch (failure) {
      setError(`Not saved: ${describeError(failure)}`);
    } finally {
      setSaving(false);
    }
  };

  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        Runtime configuration
      </h1>
      <p class="lead">Limits that apply at once to every instance and survive restarts. Changing them needs the admin token (FLUX_ADMIN_TOKEN).</p>
      {error === undefined ? null : <ErrorNotice>{error}</ErrorNotice>}
      {draft === undefined ? (
        error === undefined ? (
          <p role="status">Loading…</p>
        ) : null
      ) : (
        <form
          class="form"
          aria-label="Runtime configuration"
          onSubmit={(event) => {
            event.preventDefault();
            void save();
          }}
        >
          <label class="checkbox">
            <input
              type="checkbox"
              checked={draft.rate_limit_enabled}
              onChange={(event) => setDraft({ ...draft, rate_limit_enabled: event.currentTarget.checked })}
            />
            Rate limiting enabled
          </label>
          {NUMBER_FIELDS.map(({ key, label, hint }) => (
            <div class="field" key={key}>
              <label for={`config-${key}`}>{label}</label>
              <input
                id={`config-${key}`}
                type="number"
                inputMode="numeric"
                min={1}
                step={1}
                required
                value={draft[key]}
                aria-describedby={`config-${key}-hint`}
                onInput={(event) => setDraft({ ...draft, [key]: event.currentTarget.value })}
              />
              <p class="hint" id={`config-${key}-hint`}>
                {hint}
              </p>
            </div>
          ))}
          <TokenField
            kind="admin"
            label="Admin token"
            hint={
              publicMode
                ? 'Required: a public instance refuses configuration changes without it.'
                : 'Leave empty when the server has no FLUX_ADMIN_TOKEN.'
            }
            required={publicMode}
            onChange={setAdminToken}
          />
          <div class="actions">
            <button type="submit" disabled={saving}>
              {saving ? 'Saving…' : 'Save configuration'}
            </button>
            <button type="button" class="secondary" disabled={saving || config === undefined} onClick={() => config && setDraft(draftOf(config))}>
              Reset form
            </button>
          </div>
          <StatusNotice>{saved}</StatusNotice>
        </form>
      )}
    </section>
  );
}
