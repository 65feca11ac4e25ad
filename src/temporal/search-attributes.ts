import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes: IDs and enums only, never names or e-mail addresses (they are not encrypted). */
export const HandoverKindKey = defineSearchAttributeKey('HandoverKind', SearchAttributeType.KEYWORD);
export const AgentIdKey = defineSearchAttributeKey('AgentId', SearchAttributeType.KEYWORD);
export const OfficeIdKey = defineSearchAttributeKey('OfficeId', SearchAttributeType.KEYWORD);
export const HandoverStatusKey = defineSearchAttributeKey('HandoverStatus', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_NAMES = ['HandoverKind', 'AgentId', 'OfficeId', 'HandoverStatus'] as const;
