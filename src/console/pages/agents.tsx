/** The office's agents, and one agent's page with its handover actions and customers. */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { t } from '../i18n';
import { href } from '../router';
import { agents, offices, officeId } from '../session';
import { useSignal } from '../state';
import type { Agent, Customer, HandoverKind } from '../types';
import { Loaded, LoadMore, Refusal, StatusBadge, useLoad, usePaged } from '../ui';
import { HandoverForm } from './handover-form';

export function AgentsPage() {
  const office = useSignal(officeId);
  const byId = useSignal(agents);
  const list = [...byId.values()].filter((a) => !office || a.officeId === office);
  const officeName = offices.get().find((o) => o.id === office)?.name ?? t('allOffices');
  return (
    <>
      <h1>{t('agentsTitle', { office: officeName })}</h1>
      <table>
        <thead>
          <tr>
            <th scope="col">{t('name')}</th>
            <th scope="col">{t('role')}</th>
            <th scope="col">{t('status')}</th>
            <th scope="col">{t('customers')}</th>
            <th scope="col">{t('callbacks')}</th>
          </tr>
        </thead>
        <tbody>
          {list.map((a) => (
            <tr key={a.id}>
              <td>
                <a href={href('agents', a.id)}>{a.name}</a>
              </td>
              <td>{t(`role.${a.role}`)}</td>
              <td>
                <StatusBadge kind="status" value={a.status} />
              </td>
              <td class="number">{a.customerCount}</td>
              <td class="number">{a.callbackCount}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.length === 0 && <p>{t('nothingHere')}</p>}
    </>
  );
}

const KINDS: HandoverKind[] = ['transfer', 'offboard', 'reassign-customers', 'reassign-callbacks'];

export function AgentPage({ id }: { id: string }) {
  const state = useLoad(() => api<Agent>('GET', `/v1/agents/${encodeURIComponent(id)}`), [id]);
  const [kind, setKind] = useState<HandoverKind | undefined>();
  const [ticked, setTicked] = useState<string[]>([]);
  return (
    <Loaded state={state}>
      {(agent) => (
        <>
          <h1>{agent.name}</h1>
          <dl class="facts">
            <dt>{t('email')}</dt>
            <dd>{agent.email}</dd>
            <dt>{t('role')}</dt>
            <dd>{t(`role.${agent.role}`)}</dd>
            <dt>{t('status')}</dt>
            <dd>
              <StatusBadge kind="status" value={agent.status} />
            </dd>
            <dt>{t('customers')}</dt>
            <dd>{agent.customerCount}</dd>
            <dt>{t('callbacks')}</dt>
            <dd>{agent.callbackCount}</dd>
          </dl>
          <section aria-labelledby="actions-title">
            <h2 id="actions-title">{t('agentActions')}</h2>
            <div class="actions">
              {KINDS.map((k) => (
                <button type="button" key={k} aria-pressed={kind === k} onClick={() => setKind(kind === k ? undefined : k)}>
                  {t(`kind.${k}`)}
                </button>
              ))}
            </div>
            {kind && <HandoverForm key={`${kind}:${ticked.join(',')}`} agent={agent} kind={kind} customerIds={ticked} />}
          </section>
          <AgentCustomers
            agent={agent}
            ticked={ticked}
            onTick={setTicked}
            onReassign={() => setKind('reassign-customers')}
          />
        </>
      )}
    </Loaded>
  );
}

function AgentCustomers({
  agent,
  ticked,
  onTick,
  onReassign,
}: {
  agent: Agent;
  ticked: string[];
  onTick: (ids: string[]) => void;
  onReassign: () => void;
}) {
  const list = usePaged<Customer>('/v1/customers', { ownerId: agent.id, trashed: 'any' }, [agent.id]);
  return (
    <section aria-labelledby="agent-customers">
      <h2 id="agent-customers">{t('agentCustomers', { name: agent.name })}</h2>
      <p class="inline">
        <span role="status">{t('tickedCount', { n: ticked.length })}</span>
        <button type="button" disabled={ticked.length === 0} onClick={onReassign}>
          {t('reassignTicked')}
        </button>
      </p>
      <Refusal error={list.error} />
      <CustomerTable customers={list.items} ticked={ticked} onTick={onTick} />
      <LoadMore list={list} />
    </section>
  );
}

export function CustomerTable({
  customers,
  ticked,
  onTick,
}: {
  customers: Customer[];
  ticked?: string[];
  onTick?: (ids: string[]) => void;
}) {
  const byId = useSignal(agents);
  if (customers.length === 0) return <p>{t('nothingHere')}</p>;
  const allTicked = ticked !== undefined && customers.every((c) => ticked.includes(c.id));
  return (
    <table>
      <thead>
        <tr>
          {onTick && ticked && (
            <th scope="col">
              <input
                type="checkbox"
                aria-label={t('selectAllShown')}
                checked={allTicked}
                onChange={(e) => onTick(e.currentTarget.checked ? customers.map((c) => c.id) : [])}
              />
            </th>
          )}
          <th scope="col">{t('name')}</th>
          <th scope="col">{t('owner')}</th>
          <th scope="col">{t('kind')}</th>
          <th scope="col">{t('subscribed')}</th>
          <th scope="col">{t('trash')}</th>
        </tr>
      </thead>
      <tbody>
        {customers.map((c) => (
          <tr key={c.id} class={c.trashedAt ? 'trashed' : undefined}>
            {onTick && ticked && (
              <td>
                <input
                  type="checkbox"
                  aria-label={t('selectCustomer', { name: c.name })}
                  checked={ticked.includes(c.id)}
                  onChange={(e) =>
                    onTick(e.currentTarget.checked ? [...ticked, c.id] : ticked.filter((id) => id !== c.id))
                  }
                />
              </td>
            )}
            <td>
              <a href={href('customers', c.id)}>{c.name}</a>
            </td>
            <td>{c.ownerId ? (byId.get(c.ownerId)?.name ?? c.ownerId) : t('noOwner')}</td>
            <td>{t(`ckind.${c.kind}`)}</td>
            <td>{c.subscribed ? t('yes') : t('no')}</td>
            <td>{c.trashedAt ? t('inTrash') : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
