/**
 * The callback board: filters by period, alert, assignee and campaign; rows coloured (and labelled)
 * by alert; ticked rows handed to an agent or a pool; a CSV of what the filter shows. It reads
 * the list again every few seconds, so a callback turning `soon` or `overdue` shows by itself.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type Page, query, request } from '../api';
import { t, time } from '../i18n';
import { agentName, agents, me, officeId } from '../session';
import { useSignal } from '../state';
import type { Agent, Callback } from '../types';
import { AgentChecklist, AgentSelect, problemText, Refusal, StatusBadge, useLoad } from '../ui';

const REFRESH_MS = 5000;
const ALERTS = ['overdue', 'due', 'soon', 'none'] as const;
const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);

export function CallbacksPage() {
  const who = useSignal(me);
  const office = useSignal(officeId);
  const byId = useSignal(agents);
  const plainAgent = who?.role === 'agent';
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [alert, setAlert] = useState('');
  const [assigneeId, setAssigneeId] = useState('');
  // What is typed (kept across the board's refreshes) and what the filter uses (on change: blur or Enter).
  const [campaignDraft, setCampaignDraft] = useState('');
  const [campaign, setCampaign] = useState('');
  const filter = {
    from: iso(from),
    to: iso(to),
    alert,
    assigneeId: plainAgent ? who?.agent?.id : assigneeId,
    campaign: campaign.trim(),
  };
  const key = JSON.stringify(filter);
  const list = useLoad(async () => {
    const page = await api<Page<Callback>>('GET', `/v1/callbacks${query({ ...filter, limit: '1000' })}`);
    return { ...page, readAt: new Date().toISOString() };
  }, [key]);
  useEffect(() => {
    const timer = setInterval(() => void list.reload(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [list.reload]);

  const [ticked, setTicked] = useState<string[]>([]);
  const officeAgents = [...byId.values()].filter((a) => !office || a.officeId === office);
  const items = list.data?.items ?? [];

  const [csvError, setCsvError] = useState<unknown>();
  const downloadCsv = async () => {
    setCsvError(undefined);
    try {
      // The token goes in a header, so the file is fetched here and handed to the browser as a blob.
      const response = await request('GET', `/v1/callbacks${query({ ...filter, format: 'csv' })}`);
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement('a');
      link.href = url;
      link.download = 'callbacks.csv';
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      setCsvError(error);
    }
  };

  return (
    <>
      <h1>{t('callbacksTitle')}</h1>
      <div class="filters" role="search">
        <div class="field">
          <label for="cb-from">
            {t('period')}: {t('windowFrom')}
          </label>
          <input id="cb-from" type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="cb-to">
            {t('period')}: {t('windowTo')}
          </label>
          <input id="cb-to" type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="cb-alert">{t('alert')}</label>
          <select id="cb-alert" value={alert} onChange={(e) => setAlert(e.currentTarget.value)}>
            <option value="">{t('any')}</option>
            {ALERTS.map((a) => (
              <option key={a} value={a}>
                {t(`alert.${a}`)}
              </option>
            ))}
          </select>
        </div>
        {!plainAgent && (
          <AgentSelect
            id="cb-assignee"
            label={t('assignee')}
            agents={officeAgents}
            value={assigneeId}
            onChange={setAssigneeId}
            empty={t('allAgents')}
          />
        )}
        <div class="field">
          <label for="cb-campaign">{t('campaign')}</label>
          <input
            id="cb-campaign"
            value={campaignDraft}
            onInput={(e) => setCampaignDraft(e.currentTarget.value)}
            onChange={(e) => setCampaign(e.currentTarget.value)}
          />
        </div>
        <button type="button" onClick={downloadCsv}>
          {t('downloadCsv')}
        </button>
      </div>
      <Refusal error={csvError} />
      <Refusal error={list.error} />
      {list.data && <p class="muted">{t('refreshed', { time: time(list.data.readAt) })}</p>}
      {!plainAgent && (
        <HandTicked
          ticked={ticked}
          candidates={officeAgents.filter((a) => a.status === 'active')}
          onDone={() => {
            setTicked([]);
            void list.reload();
          }}
        />
      )}
      <table class="board">
        <thead>
          <tr>
            {!plainAgent && (
              <th scope="col">
                <span class="visually-hidden">{t('tickedCount', { n: ticked.length })}</span>
              </th>
            )}
            <th scope="col">{t('name')}</th>
            <th scope="col">{t('phone')}</th>
            <th scope="col">{t('startsAt')}</th>
            <th scope="col">{t('endsAt')}</th>
            <th scope="col">{t('assignee')}</th>
            <th scope="col">{t('campaign')}</th>
            <th scope="col">{t('alert')}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((c) => (
            <tr key={c.id} class={`alert-${c.alert ?? 'none'}`} data-callback={c.id} data-alert={c.alert ?? 'none'}>
              {!plainAgent && (
                <td>
                  <input
                    type="checkbox"
                    aria-label={t('selectCallback', { name: c.name, time: time(c.startsAt) })}
                    checked={ticked.includes(c.id)}
                    onChange={(e) =>
                      setTicked(e.currentTarget.checked ? [...ticked, c.id] : ticked.filter((id) => id !== c.id))
                    }
                  />
                </td>
              )}
              <td>{c.name}</td>
              <td>{c.phone}</td>
              <td>{time(c.startsAt)}</td>
              <td>{time(c.endsAt)}</td>
              <td>{agentName(c.assigneeId)}</td>
              <td>{c.campaign ?? ''}</td>
              <td>{c.alert ? <StatusBadge kind="alert" value={c.alert} /> : t('alert.none')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && items.length === 0 && <p>{t('nothingHere')}</p>}
    </>
  );
}

/** Hands the ticked callbacks to one agent, or round robin over a pool, one PATCH each. */
function HandTicked({
  ticked,
  candidates,
  onDone,
}: {
  ticked: string[];
  candidates: Agent[];
  onDone: () => void;
}) {
  const [mode, setMode] = useState<'agent' | 'pool'>('agent');
  const [agentId, setAgentId] = useState('');
  const [pool, setPool] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<{ handed: number; failures: string[] }>();
  const targets = mode === 'agent' ? [agentId || candidates[0]?.id].filter(Boolean) : pool;
  const hand = async () => {
    setBusy(true);
    setReport(undefined);
    const failures: string[] = [];
    let handed = 0;
    for (const [i, id] of ticked.entries()) {
      const assigneeId = targets[i % targets.length] as string;
      try {
        await api('PATCH', `/v1/callbacks/${encodeURIComponent(id)}`, { assigneeId });
        handed++;
      } catch (error) {
        failures.push(t('handFailed', { name: id, detail: problemText(error) }));
      }
    }
    setReport({ handed, failures });
    setBusy(false);
    onDone();
  };
  return (
    <fieldset class="hand">
      <legend>{t('handTo')}</legend>
      <label class="radio">
        <input type="radio" name="hand-mode" checked={mode === 'agent'} onChange={() => setMode('agent')} />{' '}
        {t('handToAgent')}
      </label>
      <label class="radio">
        <input type="radio" name="hand-mode" checked={mode === 'pool'} onChange={() => setMode('pool')} />{' '}
        {t('handToPool')}
      </label>
      {mode === 'agent' ? (
        <AgentSelect id="hand-agent" label={t('handToWhom')}
          agents={candidates}
          value={agentId || candidates[0]?.id || ''}
          onChange={setAgentId} />
      ) : (
        <AgentChecklist legend={t('poolMembers')} agents={candidates} chosen={pool} onChange={setPool} />
      )}
      <button type="button" class="primary" disabled={busy || ticked.length === 0 || targets.length === 0} onClick={hand}>
        {t('hand', { n: ticked.length })}
      </button>
      <div role="status">
        {report && <p>{t('handed', { n: report.handed })}</p>}
        {report?.failures.map((line) => (
          <p key={line} class="refusal">
            {line}
          </p>
        ))}
      </div>
    </fieldset>
  );
}

