/** Pieces every page uses: loading a resource, showing a refusal, picking agents. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, type Page, query } from './api';
import { type Key, t } from './i18n';
import { activeAgentsOf, agentName } from './session';
import type { Agent, BlockingSource, Successor } from './types';

/** Loads `load()` now and whenever `deps` change; `reload` reads again (e.g. after a change, or on a timer). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  // Only the latest read may show: an earlier one (an old filter, a refresh) can answer after it.
  const latest = useRef(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the load depends on
  const reload = useCallback(() => {
    const read = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    return load().then(
      (data) => read === latest.current && setState({ data, loading: false }),
      (error: unknown) => read === latest.current && setState({ error, loading: false }),
    ) as Promise<unknown> as Promise<void>;
  }, deps);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { ...state, reload };
}

export const problemText = (error: unknown) =>
  error instanceof ApiError ? error.problem.detail || error.problem.title : String(error);

export function Refusal({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="refusal" role="alert">
      {t('refused', { detail: problemText(error) })}
    </p>
  );
}

export function Loaded<T>({
  state,
  children,
}: {
  state: { data?: T; error?: unknown; loading: boolean };
  children: (data: T) => ComponentChildren;
}) {
  if (state.error) return <Refusal error={state.error} />;
  if (state.data === undefined) return <p aria-busy="true">{t('loading')}</p>;
  return <>{children(state.data)}</>;
}

export const StatusBadge = ({ kind, value }: { kind: 'status' | 'hstatus' | 'alert'; value: string }) => (
  <span class={`badge ${kind}-${value}`}>{t(`${kind}.${value}` as Key)}</span>
);

export function AgentSelect({
  id,
  label,
  agents,
  value,
  onChange,
  empty,
}: {
  id: string;
  label: string;
  agents: Agent[];
  value: string;
  onChange: (id: string) => void;
  empty?: string;
}) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {empty !== undefined && <option value="">{empty}</option>}
        {agents.map((a) => (
          <option key={a.id} value={a.id}>
            {a.name}
          </option>
        ))}
      </select>
    </div>
  );
}

/** Several agents, as checkboxes in a group. */
export function AgentChecklist({
  legend,
  agents,
  chosen,
  onChange,
}: {
  legend: string;
  agents: Agent[];
  chosen: string[];
  onChange: (ids: string[]) => void;
}) {
  return (
    <fieldset class="checklist">
      <legend>{legend}</legend>
      {agents.map((a) => (
        <label key={a.id}>
          <input
            type="checkbox"
            checked={chosen.includes(a.id)}
            onChange={(e) =>
              onChange(e.currentTarget.checked ? [...chosen, a.id] : chosen.filter((id) => id !== a.id))
            }
          />{' '}
          {a.name}
        </label>
      ))}
    </fieldset>
  );
}

export type SuccessorChoice = { mode: 'agent'; agentId: string } | { mode: 'pool'; pool: string[]; strategy: 'least-loaded' | 'round-robin' } | { mode: 'unassign' } | { mode: 'none' };

export function successorOf(choice: SuccessorChoice): Successor | undefined {
  if (choice.mode === 'agent') return choice.agentId ? { agentId: choice.agentId } : undefined;
  if (choice.mode === 'pool') return choice.pool.length ? { pool: choice.pool, strategy: choice.strategy } : undefined;
  if (choice.mode === 'unassign') return { unassign: true };
  return undefined;
}

/** API.md's `to`: one agent, a pool with a strategy, nobody, or (where allowed) the service's default. */
export function SuccessorPicker({
  idPrefix,
  candidates,
  value,
  onChange,
  allowUnassign,
  defaultLabel,
}: {
  idPrefix: string;
  candidates: Agent[];
  value: SuccessorChoice;
  onChange: (choice: SuccessorChoice) => void;
  allowUnassign: boolean;
  /** Offered when `to` may be left out, e.g. a transfer that moves the customers. */
  defaultLabel?: string;
}) {
  const modes: Array<[SuccessorChoice['mode'], string]> = [
    ...(defaultLabel ? [['none', defaultLabel] as [SuccessorChoice['mode'], string]] : []),
    ['agent', t('toAgent')],
    ['pool', t('toPool')],
    ...(allowUnassign ? [['unassign', t('toUnassign')] as [SuccessorChoice['mode'], string]] : []),
  ];
  const pick = (mode: SuccessorChoice['mode']) => {
    if (mode === 'agent') onChange({ mode, agentId: candidates[0]?.id ?? '' });
    else if (mode === 'pool') onChange({ mode, pool: [], strategy: 'least-loaded' });
    else onChange({ mode });
  };
  return (
    <fieldset>
      <legend>{t('successor')}</legend>
      {modes.map(([mode, label]) => (
        <label key={mode} class="radio">
          <input type="radio" name={`${idPrefix}-to`} checked={value.mode === mode} onChange={() => pick(mode)} />{' '}
          {label}
        </label>
      ))}
      {value.mode === 'agent' && (
        <AgentSelect
          id={`${idPrefix}-to-agent`}
          label={t('successorAgent')}
          agents={candidates}
          value={value.agentId}
          onChange={(agentId) => onChange({ ...value, agentId })}
        />
      )}
      {value.mode === 'pool' && (
        <>
          <AgentChecklist
            legend={t('poolMembers')}
            agents={candidates}
            chosen={value.pool}
            onChange={(pool) => onChange({ ...value, pool })}
          />
          <div class="field">
            <label for={`${idPrefix}-strategy`}>{t('strategy')}</label>
            <select
              id={`${idPrefix}-strategy`}
              value={value.strategy}
              onChange={(e) => onChange({ ...value, strategy: e.currentTarget.value as 'least-loaded' })}
            >
              <option value="least-loaded">{t('strategy.least-loaded')}</option>
              <option value="round-robin">{t('strategy.round-robin')}</option>
            </select>
          </div>
        </>
      )}
    </fieldset>
  );
}

/**
 * The lead sources a handover waits for, each with a way to route it to someone else right here
 * (PUT /v1/lead-sources/{key}); `onRouted` runs after each (a new preview, or a recheck).
 */
export function LeadSourceFixes({
  sources,
  agentId,
  officeId,
  onRouted,
}: {
  sources: BlockingSource[];
  agentId: string;
  officeId: string;
  onRouted: () => void;
}) {
  const candidates = activeAgentsOf(officeId, agentId);
  const [to, setTo] = useState<Record<string, string>>({});
  const [done, setDone] = useState<string[]>([]);
  const [error, setError] = useState<unknown>();
  if (sources.length === 0) return null;
  const route = async (source: BlockingSource) => {
    const target = to[source.leadSourceKey] ?? candidates[0]?.id;
    if (!target) return;
    setError(undefined);
    try {
      await api('PUT', `/v1/lead-sources/${encodeURIComponent(source.leadSourceKey)}`, {
        name: source.name,
        officeId,
        defaultAssigneeId: target,
      });
      setDone((d) => [...d, t('routed', { name: source.name, agent: agentName(target) })]);
      onRouted();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section class="blocked" aria-labelledby="blocked-title">
      <h3 id="blocked-title">{t('blockedBy')}</h3>
      <p>{t('blockedExplain', { agent: agentName(agentId) })}</p>
      <ul>
        {sources.map((source) => {
          const id = `route-${source.leadSourceKey}`;
          return (
            <li key={source.leadSourceKey}>
              <strong>{source.name}</strong> <code>{source.leadSourceKey}</code>
              <div class="inline">
                <AgentSelect
                  id={id}
                  label={t('routeTo', { name: source.name })}
                  agents={candidates}
                  value={to[source.leadSourceKey] ?? candidates[0]?.id ?? ''}
                  onChange={(value) => setTo({ ...to, [source.leadSourceKey]: value })}
                />
                <button type="button" onClick={() => route(source)}>
                  {t('route')}
                </button>
              </div>
            </li>
          );
        })}
      </ul>
      <div role="status">
        {done.map((line) => (
          <p key={line}>{line}</p>
        ))}
      </div>
      <Refusal error={error} />
    </section>
  );
}

/** A list read page by page (API.md's `nextCursor`), first page now and again when `deps` change. */
export function usePaged<T>(path: string, params: Record<string, string | undefined>, deps: unknown[]) {
  const [state, setState] = useState<{ items: T[]; next: string | null; error?: unknown; loading: boolean }>({
    items: [],
    next: null,
    loading: true,
  });
  const latest = useRef(0);
  const read = (cursor: string | null, before: T[]) => {
    const current = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    return api<Page<T>>('GET', `${path}${query({ ...params, cursor: cursor ?? undefined })}`).then(
      (page) =>
        current === latest.current &&
        setState({ items: [...before, ...page.items], next: page.nextCursor, loading: false }),
      (error: unknown) => current === latest.current && setState({ items: before, next: null, error, loading: false }),
    );
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the list depends on
  useEffect(() => {
    void read(null, []);
  }, deps);
  return { ...state, loadMore: () => read(state.next, state.items), reload: () => read(null, []) };
}

export function LoadMore({ list }: { list: { next: string | null; loading: boolean; loadMore: () => void } }) {
  if (!list.next) return null;
  return (
    <button type="button" disabled={list.loading} onClick={list.loadMore}>
      {t('loadMore')}
    </button>
  );
}
