/** The office admin's console: sign in with a token, then agents, handovers, customers and the callback board. */
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type Lang, lang, setLang, t } from './i18n';
import { AgentPage, AgentsPage } from './pages/agents';
import { CallbacksPage } from './pages/callbacks';
import { CustomerPage, CustomersPage } from './pages/customers';
import { HandoverPage, HandoversPage } from './pages/handovers';
import { SignIn } from './pages/sign-in';
import { BASE, match, navigate, path } from './router';
import { chooseOffice, me, officeId, offices, resume, signOut } from './session';
import { useSignal } from './state';

function Page({ current }: { current: string }) {
  const who = me.get();
  let params: Record<string, string> | undefined;
  if ((params = match('/agents/:id', current))) return <AgentPage id={params.id!} />;
  if ((params = match('/handovers/:id', current))) return <HandoverPage id={params.id!} />;
  if ((params = match('/customers/:id', current))) return <CustomerPage id={params.id!} />;
  if (match('/agents', current) && who?.role !== 'agent') return <AgentsPage />;
  if (match('/handovers', current) && who?.role !== 'agent') return <HandoversPage />;
  if (match('/customers', current)) return <CustomersPage />;
  if (match('/callbacks', current)) return <CallbacksPage />;
  return <Home />;
}

/** `/console` itself: the first page a role has. */
function Home() {
  useEffect(() => navigate(me.get()?.role === 'agent' ? `${BASE}/customers` : `${BASE}/agents`), []);
  return null;
}

function Header() {
  const who = useSignal(me);
  const office = useSignal(officeId);
  const current = useSignal(lang);
  const links: Array<[string, string]> =
    who?.role === 'agent'
      ? [
          ['customers', t('navCustomers')],
          ['callbacks', t('navCallbacks')],
        ]
      : [
          ['agents', t('navAgents')],
          ['handovers', t('navHandovers')],
          ['customers', t('navCustomers')],
          ['callbacks', t('navCallbacks')],
        ];
  const here = path.get();
  return (
    <header>
      <a class="skip" href="#main">
        {t('skip')}
      </a>
      <span class="brand">{t('appName')}</span>
      {who && (
        <nav aria-label={t('appName')}>
          {links.map(([to, label]) => (
            <a key={to} href={`${BASE}/${to}`} aria-current={here.startsWith(`${BASE}/${to}`) ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
      )}
      <span class="spacer" />
      {who?.role === 'org-admin' && (
        <span class="field inline">
          <label for="office-select">{t('office')}</label>
          <select id="office-select" value={office} onChange={(e) => chooseOffice(e.currentTarget.value)}>
            <option value="">{t('allOffices')}</option>
            {offices.get().map((o) => (
              <option key={o.id} value={o.id}>
                {o.name}
              </option>
            ))}
          </select>
        </span>
      )}
      {who && (
        <span class="muted">
          {t('signedInAs', { who: who.agent ? `${who.agent.name} (${who.office?.name ?? ''})` : t('orgAdmin') })}
        </span>
      )}
      <span class="field inline">
        <label for="lang-select">{t('language')}</label>
        <select id="lang-select" value={current} onChange={(e) => setLang(e.currentTarget.value as Lang)}>
          <option value="en" lang="en">
            English
          </option>
          <option value="ja" lang="ja">
            日本語
          </option>
        </select>
      </span>
      {who && (
        <button type="button" onClick={signOut}>
          {t('signOut')}
        </button>
      )}
    </header>
  );
}

function App() {
  const who = useSignal(me);
  const current = useSignal(path);
  useSignal(lang);
  useSignal(offices);
  const [ready, setReady] = useState(false);
  useEffect(() => {
    void resume().finally(() => setReady(true));
  }, []);
  useEffect(() => {
    document.title = t('appName');
  });
  return (
    <>
      <Header />
      <main id="main" tabIndex={-1}>
        {!ready ? <p aria-busy="true">{t('loading')}</p> : who ? <Page key={current} current={current} /> : <SignIn />}
      </main>
    </>
  );
}

document.documentElement.lang = lang.get();
render(<App />, document.getElementById('app')!);
