export const TEMPORAL_CLI_MODULE: string;
export const LOCAL_CLI: string;
export function resolveTemporalCli(options?: { build?: boolean; log?: (line: string) => void }): string | undefined;
