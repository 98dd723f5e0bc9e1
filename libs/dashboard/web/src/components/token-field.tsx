import { useId, useState } from 'preact/hooks';
import { isTokenKept, readToken, writeToken, type TokenKind } from '../token-store';

interface TokenFieldProps {
  kind: TokenKind;
  label: string;
  hint: string;
  required?: boolean;
  /** Called with the token whenever it changes. */
  onChange?: (token: string) => void;
}

/** A password field for a token, kept in memory, or in this tab's sessionStorage on request. */
export function TokenField({ kind, label, hint, required = false, onChange }: TokenFieldProps) {
  const id = useId();
  const [token, setToken] = useState(() => readToken(kind));
  const [keep, setKeep] = useState(() => isTokenKept(kind));
  const update = (next: string, nextKeep: boolean): void => {
    setToken(next);
    setKeep(nextKeep);
    writeToken(kind, next, nextKeep);
    onChange?.(next);
  };
  return (
    <div class="field token-field">
      <label for={`${id}-token`}>{label}</label>
      <input
        id={`${id}-token`}
        type="password"
        autocomplete="off"
        spellcheck={false}
        required={required}
        value={token}
        aria-describedby={`${id}-hint`}
        onInput={(event) => update(event.currentTarget.value, keep)}
      />
      <p class="hint" id={`${id}-hint`}>
        {hint}
      </p>
      <label class="checkbox">
        <input type="checkbox" checked={keep} onChange={(event) => update(token, event.currentTarget.checked)} />
        Keep it in this browser tab until it is closed
      </label>
    </div>
  );
}

interface NamespaceTokenFormProps {
  /** What the token unlocks, e.g. "Connector credentials belong to a namespace: …". */
  hint: string;
  /** The submit button's text. */
  submitLabel: string;
  /** The token as typed so far. */
  token: string;
  /** The token whose data is shown. */
  shownToken: string;
  onTokenChange: (token: string) => void;
  /** Submitted with a new token: show that namespace's data. */
  onShow: (token: string) => void;
  /** Submitted with the token already shown: read it again. */
  onReload: () => void;
}

/** Public mode: the namespace token a view's data belongs to, and a button to show it. */
export function NamespaceTokenForm({ hint, submitLabel, token, shownToken, onTokenChange, onShow, onReload }: NamespaceTokenFormProps) {
  return (
    <form
      class="inline-form"
      aria-label="Namespace token"
      onSubmit={(event) => {
        event.preventDefault();
        if (token === shownToken) onReload();
        else onShow(token);
      }}
    >
      <TokenField kind="namespace" label="Namespace token" hint={hint} required onChange={onTokenChange} />
      <button type="submit">{submitLabel}</button>
    </form>
  );
}
