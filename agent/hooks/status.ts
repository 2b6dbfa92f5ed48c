// The status table: what happened to each instrumented module the app loaded. Read by the debug
// log and (later) `xray-agent doctor`.

export type ModuleStatus = 'patched' | 'out of range' | 'failed' | 'disabled';

export interface StatusRow {
  name: string;
  module: string;
  version: string;
  status: ModuleStatus;
  detail?: string;
}

const rows = new Map<string, StatusRow>();

export function record(row: StatusRow): void {
  rows.set(`${row.module}@${row.version}:${row.status}`, row);
}

export function statusTable(): StatusRow[] {
  return [...rows.values()];
}
