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
