// Facts shared by the two SQLite drivers: an embedded database has no host, port or user; the
// subsegment is named after the database file.

import type { SqlConnectionFacts } from '../../agent/spans/sql';

export function sqliteFacts(file: unknown, driverVersion: string): SqlConnectionFacts {
  return { databaseType: 'SQLite', file: typeof file === 'string' ? file : ':memory:', driverVersion };
}
