/** One handover, live (it polls while it runs), and the list of handovers with filters. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { type Key, t, time } from '../i18n';
import { href } from '../router';
import { agentName, agents, me, officeId, reloadAgents } from '../session';
import { useSignal } from '../state';
import { type Handover, type HandoverStatus, SETTLED } from '../types';
import { LeadSourceFixes, Loaded, LoadMore, Refusal, StatusBadge, useLoad, usePaged } from '../ui';

const POLL_MS = 1000;

export function HandoverPage({ id }: { id: string }) {
  const state = useLoad(() => api<Handover>('GET', `/v1/handovers/${encodeURIComponent(id)}`), [id]);
  const settled = state.data !== undefined && SETTLED.includes(state.data.status);
  useEffect(() => {
    if (settled) {
      void reloadAgents(); // statuses and counts changed
      return;
    }
    const timer = setInterval(() => void state.reload(), POLL_MS);
    return () => clearInterval(timer);
  }, [settled, state.reload]);
  return <Loaded state={state}>{(handover) => <HandoverView handover={handover} reload={state.reload} />}</Loaded>;
}

function todo(h: Handover): Key | undefined {
  if (h.status === 'blocked') return 'todo.blocked';
  if (h.status === 'failed') return 'todo.failed';
  if (h.phase === 'waiting') return 'todo.waiting';
  if (h.status === 'running') return 'todo.running';
  return undefined;
}

function HandoverView({ handover: h, reload }: { handover: Handover; reload: () => Promise<void> }) {
  const [confirming, setConfirming] = useState(false);
  const [said, setSaid] = useState<string>();
  const [error, setError] = useState<unknown>();
  const open = !SETTLED.includes(h.status);
  const agent = h.agentId ? agents.get().get(h.agentId) : undefined;
  const act = async (what: 'cancel' | 'recheck', done: string) => {
    setError(undefined);
    try {
      await api('POST', `/v1/handovers/${encodeURIComponent(h.id)}/${what}`);
      setSaid(done);
      setConfirming(false);
      await reload();
    } catch (e) {
      setError(e);
    }
  };
  const next = todo(h);
  const { planned, moved, reverted } = h.progress;
  return (
    <>
      <h1>{t('handoverTitle', { kind: t(`kind.${h.kind}`), agent: agentName(h.agentId) })}</h1>
      <dl class="facts" aria-live="polite">
        <dt>{t('status')}</dt>
        <dd data-testid="handover-status" data-status={h.status}>
          <StatusBadge kind="hstatus" value={h.status} />
        </dd>
        <dt>{t('phase')}</dt>
        <dd data-testid="handover-phase">{t(`phase.${h.phase}` as Key)}</dd>
        <dt>{t('progress')}</dt>
        <dd>
          <progress max={Math.max(planned, 1)} value={moved} aria-label={t('progress')} />{' '}
          {t('progressText', { moved, planned })}
          {reverted > 0 && <> · {t('revertedText', { n: reverted })}</>}
        </dd>
        <dt>{t('started')}</dt>
        <dd>{time(h.createdAt)}</dd>
        {h.finishedAt && (
          <>
            <dt>{t('finished')}</dt>
            <dd>{time(h.finishedAt)}</dd>
          </>
        )}
      </dl>
      {next && <p class="todo">{t(next)}</p>}
      {h.error && (
        <p class="refusal">
          {t('error')}: {h.error}
        </p>
      )}
      {h.status === 'blocked' && h.agentId && agent && (
        <LeadSourceFixes
          sources={h.blockedBy}
          agentId={h.agentId}
          officeId={agent.officeId}
          onRouted={() => void act('recheck', t('rechecked'))}
        />
      )}
      {open && me.get()?.role !== 'agent' && (
        <div class="actions">
          {h.status === 'blocked' && (
            <button type="button" onClick={() => act('recheck', t('rechecked'))}>
              {t('recheck')}
            </button>
          )}
          {h.phase !== 'compensating' &&
            (confirming ? (
              <span role="group" aria-label={t('cancelConfirm')} class="confirm">
                {t('cancelConfirm')}{' '}
                <button type="button" class="danger" onClick={() => act('cancel', t('cancelRequested'))}>
                  {t('cancelYes')}
                </button>{' '}
                <button type="button" onClick={() => setConfirming(false)}>
                  {t('cancelNo')}
                </button>
              </span>
            ) : (
              <button type="button" class="danger" onClick={() => setConfirming(true)}>
                {t('cancel')}
              </button>
            ))}
        </div>
      )}
      <p role="status">{open ? said : ''}</p>
      <Refusal error={error} />
      {h.summary && (
        <section aria-labelledby="summary-title">
          <h2 id="summary-title">{t('summary')}</h2>
          <ul class="counts">
            <li>
              {t('customers')}: {h.summary.customers}
            </li>
            <li>
              {t('records')}: {h.summary.records}
            </li>
            <li>
              {t('callbacks')}: {h.summary.callbacks}
            </li>
          </ul>
          {Object.keys(h.summary.bySuccessor).length > 0 && (
            <table>
              <caption>{t('perSuccessor')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('successor')}</th>
                  <th scope="col">{t('customers')}</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(h.summary.bySuccessor).map(([id, n]) => (
                  <tr key={id}>
                    <td>{agentName(id)}</td>
                    <td class="number">{n}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {h.summary.conflicts.length > 0 && (
            <>
              <h3>{t('conflicts')}</h3>
              <ul>
                {h.summary.conflicts.map((c) => (
                  <li key={`${c.entity}:${c.id}`}>
                    {c.entity} <code>{c.id}</code>: {c.detail}
                  </li>
                ))}
                {h.summary.conflictsOmitted ? <li>{t('conflictsOmitted', { n: h.summary.conflictsOmitted })}</li> : null}
              </ul>
            </>
          )}
        </section>
      )}
      {h.links.temporalUi && (
        <p>
          <a href={h.links.temporalUi} target="_blank" rel="noreferrer">
            {t('inTemporal')}
          </a>
        </p>
      )}
    </>
  );
}

const KINDS = ['offboard', 'transfer', 'reassign-customers', 'reassign-callbacks'] as const;
const STATUSES: HandoverStatus[] = ['running', 'blocked', 'completed', 'cancelled', 'compensated', 'failed'];

export function HandoversPage() {
  const office = useSignal(officeId);
  const byId = useSignal(agents);
  const [agentId, setAgentId] = useState('');
  const [kind, setKind] = useState('');
  const [status, setStatus] = useState('');
  const list = usePaged<Handover>('/v1/handovers', { agentId, kind, status }, [agentId, kind, status]);
  const officeAgents = [...byId.values()].filter((a) => !office || a.officeId === office);
  return (
    <>
      <h1>{t('handoversTitle')}</h1>
      <div class="filters" role="search">
        <div class="field">
          <label for="h-agent">{t('agent')}</label>
          <select id="h-agent" value={agentId} onChange={(e) => setAgentId(e.currentTarget.value)}>
            <option value="">{t('allAgents')}</option>
            {officeAgents.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="h-kind">{t('kind')}</label>
          <select id="h-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            <option value="">{t('allKinds')}</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`kind.${k}`)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="h-status">{t('status')}</label>
          <select id="h-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">{t('allStatuses')}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`hstatus.${s}`)}
              </option>
            ))}
          </select>
        </div>
      </div>
      <Refusal error={list.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">{t('handover')}</th>
            <th scope="col">{t('agent')}</th>
            <th scope="col">{t('status')}</th>
            <th scope="col">{t('phase')}</th>
            <th scope="col">{t('progress')}</th>
            <th scope="col">{t('started')}</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((h) => (
            <tr key={h.id}>
              <td>
                <a href={href('handovers', h.id)}>{t(`kind.${h.kind}`)}</a>
              </td>
              <td>{agentName(h.agentId)}</td>
              <td>
                <StatusBadge kind="hstatus" value={h.status} />
              </td>
              <td>{t(`phase.${h.phase}` as Key)}</td>
              <td>{t('progressText', { moved: h.progress.moved, planned: h.progress.planned })}</td>
              <td>{time(h.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!list.loading && list.items.length === 0 && <p>{t('nothingHere')}</p>}
      <LoadMore list={list} />
    </>
  );
}
