/** Customers with owner, subscription and trash filters; one customer with its owner history and records. */
import { useState } from 'preact/hooks';
import { all, api } from '../api';
import { type Key, t, time } from '../i18n';
import { href } from '../router';
import { agentName, agents, me, officeId, offices } from '../session';
import { useSignal } from '../state';
import type { Customer, CustomerRecord, HistoryEntry } from '../types';
import { Loaded, LoadMore, Refusal, useLoad, usePaged } from '../ui';
import { CustomerTable } from './agents';

export function CustomersPage() {
  const who = useSignal(me);
  const office = useSignal(officeId);
  const byId = useSignal(agents);
  const own = who?.role === 'agent' ? who.agent?.id : undefined;
  const [ownerId, setOwnerId] = useState('');
  const [subscribed, setSubscribed] = useState('');
  const [trashed, setTrashed] = useState('false');
  const params = {
    ownerId: own ?? ownerId,
    officeId: own ? undefined : office || undefined,
    subscribed,
    trashed,
  };
  const list = usePaged<Customer>('/v1/customers', params, [JSON.stringify(params)]);
  const officeAgents = [...byId.values()].filter((a) => !office || a.officeId === office);
  return (
    <>
      <h1>{t('customersTitle')}</h1>
      <div class="filters" role="search">
        {!own && (
          <div class="field">
            <label for="c-owner">{t('owner')}</label>
            <select id="c-owner" value={ownerId} onChange={(e) => setOwnerId(e.currentTarget.value)}>
              <option value="">{t('allAgents')}</option>
              {officeAgents.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name}
                </option>
              ))}
            </select>
          </div>
        )}
        <div class="field">
          <label for="c-subscribed">{t('subscribed')}</label>
          <select id="c-subscribed" value={subscribed} onChange={(e) => setSubscribed(e.currentTarget.value)}>
            <option value="">{t('any')}</option>
            <option value="true">{t('subscribedOnly')}</option>
            <option value="false">{t('unsubscribedOnly')}</option>
          </select>
        </div>
        <div class="field">
          <label for="c-trashed">{t('trash')}</label>
          <select id="c-trashed" value={trashed} onChange={(e) => setTrashed(e.currentTarget.value)}>
            <option value="false">{t('notTrashed')}</option>
            <option value="true">{t('trashedOnly')}</option>
            <option value="any">{t('any')}</option>
          </select>
        </div>
      </div>
      <Refusal error={list.error} />
      <CustomerTable customers={list.items} />
      <LoadMore list={list} />
    </>
  );
}

export function CustomerPage({ id }: { id: string }) {
  const path = `/v1/customers/${encodeURIComponent(id)}`;
  const state = useLoad(
    async () => {
      const [customer, history, records] = await Promise.all([
        api<Customer>('GET', path),
        all<HistoryEntry>(`${path}/history`),
        all<CustomerRecord>(`${path}/records`),
      ]);
      return { customer, history, records };
    },
    [id],
  );
  return (
    <Loaded state={state}>
      {({ customer: c, history, records }) => (
        <>
          <h1>{c.name}</h1>
          <dl class="facts">
            <dt>{t('owner')}</dt>
            <dd>{c.ownerId ? agentName(c.ownerId) : t('noOwner')}</dd>
            <dt>{t('kind')}</dt>
            <dd>{t(`ckind.${c.kind}`)}</dd>
            <dt>{t('email')}</dt>
            <dd>{c.email ?? '—'}</dd>
            <dt>{t('phone')}</dt>
            <dd>{c.phone ?? '—'}</dd>
            <dt>{t('subscribed')}</dt>
            <dd>{c.subscribed ? t('yes') : t('no')}</dd>
            <dt>{t('trash')}</dt>
            <dd>{c.trashedAt ? `${t('inTrash')} (${time(c.trashedAt)})` : t('no')}</dd>
          </dl>
          <h2>{t('ownerHistory')}</h2>
          {history.length === 0 ? (
            <p>{t('nothingHere')}</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('at')}</th>
                  <th scope="col">{t('field')}</th>
                  <th scope="col">{t('from')}</th>
                  <th scope="col">{t('to')}</th>
                  <th scope="col">{t('actor')}</th>
                  <th scope="col">{t('handover')}</th>
                </tr>
              </thead>
              <tbody>
                {history.map((h) => (
                  <tr key={`${h.at}:${h.field}:${h.to}`}>
                    <td>{time(h.at)}</td>
                    <td>{t(`hfield.${h.field}` as Key)}</td>
                    <td>{historyValue(h.field, h.from)}</td>
                    <td>{historyValue(h.field, h.to)}</td>
                    <td>{h.actor === 'org-admin' ? t('orgAdmin') : agentName(h.actor)}</td>
                    <td>{h.handoverId ? <a href={href('handovers', h.handoverId)}>{t('handover')}</a> : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>{t('records')}</h2>
          {records.length === 0 ? (
            <p>{t('nothingHere')}</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('type')}</th>
                  <th scope="col">{t('title')}</th>
                  <th scope="col">{t('due')}</th>
                  <th scope="col">{t('assignee')}</th>
                  <th scope="col">{t('status')}</th>
                </tr>
              </thead>
              <tbody>
                {records.map((r) => (
                  <tr key={r.id}>
                    <td>{r.type}</td>
                    <td>{r.title}</td>
                    <td>{time(r.dueAt)}</td>
                    <td>{agentName(r.assigneeId)}</td>
                    <td>{r.status}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </Loaded>
  );
}


/** An owner is shown by name, an office by name, the trash flag as yes or no. */
function historyValue(field: string, value: string | null): string {
  if (value === null) return '—';
  if (field === 'owner_id') return agentName(value);
  if (field === 'office_id') return offices.get().find((o) => o.id === value)?.name ?? value;
  return value === 'true' ? t('inTrash') : t('notTrashed');
}
