/** Mail texts in the recipient's locale; the HTML part is made from the text (html.ts). */
import type { Locale, NotificationKind } from '../db/schema';

export interface MailParams {
  actor: string;
  agent: string;
  count?: number;
  times?: string[];
  leadSources?: string[];
  escalation?: boolean;
  link: string;
  outcome?: string;
  /** The end of a cover: `returned` to the agent, `released` to the cover. */
  handback?: 'returned' | 'released';
}

type Render = (p: MailParams) => { subject: string; text: string };

const en: Record<NotificationKind, Render> = {
  'customers-assigned': (p) => ({
    subject: `${p.actor} assigned ${p.count} customers to you`,
    text: `${p.actor} assigned ${p.count} customers to you, handed over from ${p.agent}.\n\n${p.link}\n`,
  }),
  'callbacks-assigned': (p) =>
    p.handback === 'returned'
      ? {
          subject: `${p.count} callbacks are back with you`,
          text: `Welcome back: the ${p.count} callbacks covered while you were away are yours again.\n\n${p.link}\n`,
        }
      : p.handback === 'released'
        ? {
            subject: `${p.count} callbacks went back to ${p.agent}`,
            text: `${p.agent} is back: the ${p.count} callbacks you covered went back.\n\n${p.link}\n`,
          }
        : {
            subject: `${p.actor} assigned ${p.count} callbacks to you`,
            text: `You now make these callbacks promised by ${p.agent}:\n${(p.times ?? []).map((t) => `- ${t}`).join('\n')}\n\n${p.link}\n`,
          },
  'handover-blocked': (p) => ({
    subject: `${p.escalation ? 'Still blocked' : 'Blocked'}: the handover of ${p.agent} waits for lead sources`,
    text:
      `The handover of ${p.agent} cannot go on while ${p.agent} is the default assignee of these lead sources:\n` +
      `${(p.leadSources ?? []).map((s) => `- ${s}`).join('\n')}\n\n` +
      `Route each one to someone else on the handover's page below (or PUT /v1/lead-sources/{key}); the handover then continues by itself.\n\n${p.link}\n`,
  }),
  'handover-finished': (p) => ({
    subject: `The handover of ${p.agent} is finished`,
    text: `The handover of ${p.agent} started by ${p.actor} is finished: ${p.outcome}.\n\n${p.link}\n`,
  }),
  'handover-reverted': (p) => ({
    subject: `Reverted: the handover of ${p.agent}`,
    text: `The handover of ${p.agent} was stopped and its moves were reverted: what was assigned to you from it is no longer yours.\n\n${p.link}\n`,
  }),
};

const ja: Record<NotificationKind, Render> = {
  'customers-assigned': (p) => ({
    subject: `${p.actor}さんが${p.count}名の顧客の担当をあなたに変更しました`,
    text: `${p.actor}さんが${p.count}名の顧客の担当をあなたに変更しました（${p.agent}さんからの引き継ぎ）。\n\n${p.link}\n`,
  }),
  'callbacks-assigned': (p) =>
    p.handback === 'returned'
      ? {
          subject: `${p.count}件の折り返し電話があなたに戻りました`,
          text: `おかえりなさい。不在中に代行されていた${p.count}件の折り返し電話があなたの担当に戻りました。\n\n${p.link}\n`,
        }
      : p.handback === 'released'
        ? {
            subject: `${p.count}件の折り返し電話が${p.agent}さんに戻りました`,
            text: `${p.agent}さんが戻ったため、代行していた${p.count}件の折り返し電話は${p.agent}さんの担当に戻りました。\n\n${p.link}\n`,
          }
        : {
            subject: `${p.actor}さんが${p.count}件の折り返し電話をあなたに割り当てました`,
            text: `${p.agent}さんが約束した次の折り返し電話をお願いします：\n${(p.times ?? []).map((t) => `・${t}`).join('\n')}\n\n${p.link}\n`,
          },
  'handover-blocked': (p) => ({
    subject: `${p.escalation ? '【再通知】' : ''}${p.agent}さんの引き継ぎがリードソースの設定待ちで止まっています`,
    text:
      `${p.agent}さんが次のリードソースの既定の担当者になっているため、引き継ぎを進められません：\n` +
      `${(p.leadSources ?? []).map((s) => `・${s}`).join('\n')}\n\n既定の担当者を変更すると、引き継ぎは自動的に再開します。\n\n${p.link}\n`,
  }),
  'handover-finished': (p) => ({
    subject: `${p.agent}さんの引き継ぎが完了しました`,
    text: `${p.actor}さんが開始した${p.agent}さんの引き継ぎが完了しました：${p.outcome}。\n\n${p.link}\n`,
  }),
  'handover-reverted': (p) => ({
    subject: `${p.agent}さんの引き継ぎは取り消されました`,
    text: `${p.agent}さんの引き継ぎは中止され、変更は元に戻されました。この引き継ぎであなたに割り当てられたものは、あなたの担当ではなくなりました。\n\n${p.link}\n`,
  }),
};

export function renderMail(kind: NotificationKind, locale: Locale, params: MailParams) {
  return (locale === 'ja' ? ja : en)[kind](params);
}

export const MANDATORY_KINDS: ReadonlySet<NotificationKind> = new Set(['customers-assigned', 'handover-reverted']);
export const NOTIFICATION_KINDS: readonly NotificationKind[] = [
  'customers-assigned',
  'callbacks-assigned',
  'handover-blocked',
  'handover-finished',
  'handover-reverted',
];
