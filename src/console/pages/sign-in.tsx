import { useState } from 'preact/hooks';
import { t } from '../i18n';
import { signIn } from '../session';
import { problemText } from '../ui';

export function SignIn() {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="sign-in"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(undefined);
        await signIn(value.trim()).catch((err: unknown) => setError(t('badToken', { detail: problemText(err) })));
        setBusy(false);
      }}
    >
      <h1>{t('signIn')}</h1>
      <div class="field">
        <label for="token">{t('tokenLabel')}</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          required
          value={value}
          aria-describedby="token-help"
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <small id="token-help">{t('tokenHelp')}</small>
      </div>
      {error && (
        <p class="refusal" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="primary" disabled={busy}>
        {t('signIn')}
      </button>
    </form>
  );
}
