/**
 * A handover of one agent, as a form: every change asks POST /v1/handovers/preview what would
 * move, and Start sends the same body with an Idempotency-Key of that body, so a double click
 * starts one handover.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, newKey } from '../api';
import { t } from '../i18n';
import { href, navigate } from '../router';
import { activeAgentsOf, agentName, offices, reloadAgents } from '../session';
import type { Agent, Handover, HandoverKind, Preview } from '../types';
import { LeadSourceFixes, Refusal, type SuccessorChoice, SuccessorPicker, successorOf } from '../ui';

const isoOrUndefined = (local: string) => (local ? new Date(local).toISOString() : undefined);

export function HandoverForm({
  agent,
  kind,
  customerIds,
}: {
  agent: Agent;
  kind: HandoverKind;
  /** Ticked in the agent's customer list: a reassign of only those. */
  customerIds: string[];
}) {
  const candidates = activeAgentsOf(agent.officeId, agent.id);
  const [to, setTo] = useState<SuccessorChoice>(
    kind === 'transfer' ? { mode: 'none' } : { mode: 'agent', agentId: candidates[0]?.id ?? '' },
  );
  const [reason, setReason] = useState('');
  const [toOfficeId, setToOfficeId] = useState(offices.get().find((o) => o.id !== agent.officeId)?.id ?? '');
  const [customers, setCustomers] = useState<'move' | 'stay'>('move');
  const [scope, setScope] = useState<'all' | 'ticked'>(customerIds.length ? 'ticked' : 'all');
  const [windowFrom, setWindowFrom] = useState('');
  const [windowTo, setWindowTo] = useState('');
  const [until, setUntil] = useState('');

  const successor = successorOf(to);
  const body = useMemo((): Record<string, unknown> | undefined => {
    const optionalTo = successor ? { to: successor } : {};
    switch (kind) {
      case 'offboard':
        return successor && { kind, agentId: agent.id, to: successor, ...(reason ? { reason } : {}) };
      case 'transfer':
        if (!toOfficeId || (customers === 'stay' && !successor)) return undefined;
        return { kind, agentId: agent.id, toOfficeId, customers, ...optionalTo };
      case 'reassign-customers':
        return (
          successor && {
            kind,
            from: scope === 'ticked' ? { customerIds } : { agentId: agent.id },
            to: successor,
          }
        );
      case 'reassign-callbacks': {
        const from = isoOrUndefined(windowFrom);
        const end = isoOrUndefined(windowTo);
        const cover = isoOrUndefined(until);
        return (
          successor && {
            kind,
            fromAgentId: agent.id,
            to: successor,
            ...(from && end ? { window: { from, to: end } } : {}),
            ...(cover ? { until: cover } : {}),
          }
        );
      }
    }
  }, [kind, agent.id, JSON.stringify(successor), reason, toOfficeId, customers, scope, customerIds, windowFrom, windowTo, until]);
  const json = JSON.stringify(body);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new key for each new body, the same for a repeat
  const key = useMemo(() => newKey(), [json]);

  const [preview, setPreview] = useState<{ data?: Preview; error?: unknown; busy: boolean }>({ busy: false });
  const [asked, setAsked] = useState(0);
  useEffect(() => {
    if (!body) return setPreview({ busy: false });
    setPreview((p) => ({ ...p, busy: true }));
    let current = true;
    const timer = setTimeout(() => {
      api<Preview>('POST', '/v1/handovers/preview', body).then(
        (data) => current && setPreview({ data, busy: false }),
        (error: unknown) => current && setPreview({ error, busy: false }),
      );
    }, 250);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [json, asked]);

  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<unknown>();
  const start = async () => {
    if (!body || starting) return;
    setStarting(true);
    setStartError(undefined);
    try {
      const handover = await api<Handover>('POST', '/v1/handovers', body, { 'idempotency-key': key });
      await reloadAgents();
      navigate(href('handovers', handover.id));
    } catch (error) {
      setStartError(error);
      setStarting(false);
    }
  };

  const id = `form-${kind}`;
  return (
    <form
      class="handover-form"
      aria-labelledby={`${id}-title`}
      onSubmit={(e) => {
        e.preventDefault();
        void start();
      }}
    >
      <h3 id={`${id}-title`}>
        {t(`kind.${kind}`)}: {agent.name}
      </h3>
      {kind === 'transfer' && (
        <>
          <div class="field">
            <label for={`${id}-office`}>{t('toOffice')}</label>
            <input
              id={`${id}-office`}
              list={`${id}-offices`}
              value={toOfficeId}
              aria-describedby={`${id}-office-help`}
              onInput={(e) => setToOfficeId(e.currentTarget.value.trim())}
            />
            <datalist id={`${id}-offices`}>
              {offices
                .get()
                .filter((o) => o.id !== agent.officeId)
                .map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.name}
                  </option>
                ))}
            </datalist>
            <small id={`${id}-office-help`}>
              {t('officeIdHelp')} {offices.get().find((o) => o.id === toOfficeId)?.name}
            </small>
          </div>
          <fieldset>
            <legend>{t('customersMoveStay')}</legend>
            {(['move', 'stay'] as const).map((value) => (
              <label key={value} class="radio">
                <input
                  type="radio"
                  name={`${id}-customers`}
                  checked={customers === value}
                  onChange={() => {
                    setCustomers(value);
                    if (value === 'stay' && to.mode === 'none') setTo({ mode: 'agent', agentId: candidates[0]?.id ?? '' });
                  }}
                />{' '}
                {t(value)}
              </label>
            ))}
          </fieldset>
        </>
      )}
      {kind === 'reassign-customers' && customerIds.length > 0 && (
        <fieldset>
          <legend>{t('scope')}</legend>
          <label class="radio">
            <input type="radio" name={`${id}-scope`} checked={scope === 'all'} onChange={() => setScope('all')} />{' '}
            {t('scopeAll')}
          </label>
          <label class="radio">
            <input type="radio" name={`${id}-scope`} checked={scope === 'ticked'} onChange={() => setScope('ticked')} />{' '}
            {t('scopeTicked', { n: customerIds.length })}
          </label>
        </fieldset>
      )}
      {kind === 'reassign-callbacks' && (
        <>
          <fieldset>
            <legend>{t('window')}</legend>
            <div class="inline">
              <div class="field">
                <label for={`${id}-from`}>{t('windowFrom')}</label>
                <input id={`${id}-from`} type="datetime-local" value={windowFrom} onInput={(e) => setWindowFrom(e.currentTarget.value)} />
              </div>
              <div class="field">
                <label for={`${id}-to`}>{t('windowTo')}</label>
                <input id={`${id}-to`} type="datetime-local" value={windowTo} onInput={(e) => setWindowTo(e.currentTarget.value)} />
              </div>
            </div>
          </fieldset>
          <div class="field">
            <label for={`${id}-until`}>{t('until')}</label>
            <input id={`${id}-until`} type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
          </div>
        </>
      )}
      <SuccessorPicker
        idPrefix={id}
        candidates={candidates}
        value={to}
        onChange={setTo}
        allowUnassign={kind !== 'reassign-callbacks'}
        {...(kind === 'transfer' && customers === 'move' ? { defaultLabel: t('toOldOfficePool') } : {})}
      />
      {kind === 'offboard' && (
        <div class="field">
          <label for={`${id}-reason`}>{t('reason')}</label>
          <input id={`${id}-reason`} value={reason} maxLength={500} onInput={(e) => setReason(e.currentTarget.value)} />
        </div>
      )}

      <section class="preview" aria-labelledby={`${id}-preview`} aria-live="polite">
        <h4 id={`${id}-preview`}>{t('preview')}</h4>
        {!body && <p>{t('pickSuccessor')}</p>}
        {body && preview.busy && <p aria-busy="true">{t('previewing')}</p>}
        {body && !preview.busy && <Refusal error={preview.error} />}
        {body && !preview.busy && preview.data && <PreviewCounts preview={preview.data} />}
      </section>
      {preview.data && (
        <LeadSourceFixes
          sources={preview.data.blockedBy}
          agentId={agent.id}
          officeId={agent.officeId}
          onRouted={() => setAsked((n) => n + 1)}
        />
      )}
      <Refusal error={startError} />
      <button type="submit" class="primary" disabled={!body || starting || Boolean(preview.error)}>
        {starting ? t('starting') : t('start')}
      </button>
    </form>
  );
}

function PreviewCounts({ preview }: { preview: Preview }) {
  const { counts } = preview;
  const successors = Object.entries(preview.bySuccessor);
  return (
    <>
      <ul class="counts">
        <li>{t('previewCustomers', { n: counts.customers, unsubscribed: counts.unsubscribed, trashed: counts.trashed })}</li>
        <li>{t('previewRecords', { n: counts.records })}</li>
        <li>{t('previewCallbacks', { n: counts.callbacks })}</li>
      </ul>
      {successors.length > 0 && (
        <table>
          <caption>{t('perSuccessor')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('successor')}</th>
              <th scope="col">{t('customers')}</th>
            </tr>
          </thead>
          <tbody>
            {successors.map(([id, n]) => (
              <tr key={id}>
                <td>{id === 'null' || id === '' ? t('noOwner') : agentName(id)}</td>
                <td class="number">{n}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
