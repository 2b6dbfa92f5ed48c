// Real database servers for the SQL end-to-end tests: MariaDB and PostgreSQL from Debian's
// packages, each started on 127.0.0.1 with a random free port and a throwaway data directory under
// os.tmpdir(), and stopped (data directory removed) at the end. One server per test file: start it
// in before(), stop it in after().
//
// Every server gets a database `app` and a user `app` whose password is DB_PASSWORD, so tests can
// assert that the password never appears in any datagram.
//
// When a server is not installed, the setup installs it (apt-get, as root) or fails at once with
// one line saying what to install: a missing server never skips tests silently.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const DB_NAME = 'app';
export const DB_USER = 'app';
export const DB_PASSWORD = 's3cret-pw';

export interface DatabaseServer {
  kind: 'mariadb' | 'postgres';
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** Stops the server and removes its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

// Servers still running when the test process exits (a test file that failed before after())
// must not outlive the run.
const live = new Set<() => void>();
process.on('exit', () => {
  for (const kill of live) kill();
});

/**
 * Installs MariaDB and PostgreSQL when missing (see ensureInstalled). `npm test` calls this before
 * any test runs (scripts/prepare-tests.js), so a fresh machine's apt-get never runs inside a
 * test file's time limit; the start functions below still check, for a test run on its own.
 */
export function ensureDatabaseServers(): void {
  if (findMariaDb() === undefined) ensureInstalled('mariadb-server', 'MariaDB (mariadbd)');
  if (findPostgres() === undefined) ensureInstalled('postgresql', 'PostgreSQL (initdb, postgres)');
}

// ---- MariaDB ---------------------------------------------------------------------------------

function findMariaDb(): { server: string; installDb: string } | undefined {
  const server = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld'].find((p) => fs.existsSync(p)) ?? which('mariadbd') ?? which('mysqld');
  const installDb = ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'].find((p) => fs.existsSync(p)) ?? which('mariadb-install-db');
  return server !== undefined && installDb !== undefined ? { server, installDb } : undefined;
}

export async function startMariaDb(): Promise<DatabaseServer> {
  const bins = findMariaDb() ?? (ensureInstalled('mariadb-server', 'MariaDB (mariadbd)'), findMariaDb());
  if (bins === undefined) throw new Error('MariaDB is still missing after installing mariadb-server: install it by hand (apt-get install mariadb-server)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-mariadb-'));
  const data = path.join(dir, 'data');
  try {
    execFileSync(
      bins.installDb,
      ['--no-defaults', `--datadir=${data}`, '--user=root', '--auth-root-authentication-method=socket', '--skip-test-db'],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 },
    );
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
  // Created by the server itself before it accepts connections, so the first TCP accept means
  // the database and the user exist.
  const init = path.join(dir, 'init.sql');
  fs.writeFileSync(
    init,
    [
      `CREATE DATABASE IF NOT EXISTS ${DB_NAME};`,
      ...['127.0.0.1', 'localhost'].flatMap((h) => [
        `CREATE USER IF NOT EXISTS '${DB_USER}'@'${h}' IDENTIFIED BY '${DB_PASSWORD}';`,
        `GRANT ALL ON ${DB_NAME}.* TO '${DB_USER}'@'${h}';`,
      ]),
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const pidFile = path.join(dir, 'mariadbd.pid');
  const child = spawn(
    bins.server,
    [
      '--no-defaults',
      `--datadir=${data}`,
      '--user=root',
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${path.join(dir, 'mysqld.sock')}`,
      `--pid-file=${pidFile}`,
      `--log-error=${path.join(dir, 'error.log')}`,
      `--init-file=${init}`,
      '--skip-name-resolve',
      '--skip-log-bin',
      '--innodb-buffer-pool-size=16M',
      '--max-connections=200',
    ],
    { stdio: 'ignore' },
  );
  return started('mariadb', child, port, dir, () => readLog(path.join(dir, 'error.log')));
}

// ---- PostgreSQL ------------------------------------------------------------------------------

function findPostgres(): { bin: string } | undefined {
  const root = '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  } catch {
    // not installed
  }
  for (const v of versions) {
    const bin = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(bin, 'initdb')) && fs.existsSync(path.join(bin, 'postgres'))) return { bin };
  }
  const initdb = which('initdb');
  return initdb !== undefined && which('postgres') !== undefined ? { bin: path.dirname(initdb) } : undefined;
}

export async function startPostgres(): Promise<DatabaseServer> {
  const found = findPostgres() ?? (ensureInstalled('postgresql', 'PostgreSQL (initdb, postgres)'), findPostgres());
  if (found === undefined) throw new Error('PostgreSQL is still missing after installing postgresql: install it by hand (apt-get install postgresql)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-postgres-'));
  const data = path.join(dir, 'data');
  // postgres refuses to run as root: as root, everything runs as the `postgres` user the Debian
  // package created, in a directory it owns.
  const asUser = process.getuid?.() === 0 ? postgresUser() : undefined;
  if (asUser !== undefined) fs.chownSync(dir, asUser.uid, asUser.gid);
  const run = (cmd: string, args: string[]): [string, string[]] => (asUser !== undefined ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  try {
    execFileSync(
      ...run(path.join(found.bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '-E', 'UTF8']),
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 },
    );
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
  const port = await freePort();
  const logFile = path.join(dir, 'postgres.log');
  const log = fs.openSync(logFile, 'a');
  if (asUser !== undefined) fs.fchownSync(log, asUser.uid, asUser.gid);
  const child = spawn(
    ...run(path.join(found.bin, 'postgres'), [
      '-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir,
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200',
    ]),
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  // postgres runs under runuser: signals go to the postmaster itself (its pid file), not runuser.
  const postmasterPid = (): number | undefined => {
    try {
      return Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]) || undefined;
    } catch {
      return undefined;
    }
  };
  const server = await started('postgres', child, port, dir, () => readLog(logFile), postmasterPid);
  try {
    // The unix socket in `dir` with trust auth for the postgres superuser: no password needed here.
    const psql = (sql: string): void => {
      execFileSync(...run(path.join(found.bin, 'psql'), ['-h', dir, '-p', String(port), '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qc', sql]), {
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 30_000,
      });
    };
    // The postmaster accepts TCP a moment before it accepts sessions ("starting up"): retry.
    for (let attempt = 0; ; attempt++) {
      try {
        psql('SELECT 1');
        break;
      } catch (err) {
        if (attempt >= 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    psql(`CREATE ROLE ${DB_USER} LOGIN PASSWORD '${DB_PASSWORD}'`);
    psql(`CREATE DATABASE ${DB_NAME} OWNER ${DB_USER}`);
  } catch (err) {
    await server.stop();
    throw new Error(`creating the app database failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
  return server;
}

function postgresUser(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('PostgreSQL cannot run as root and there is no `postgres` user: reinstall the postgresql package (apt-get install --reinstall postgresql)');
  }
}

// ---- shared ----------------------------------------------------------------------------------

/** Waits until the server accepts TCP connections on its port (or dies, or times out). */
async function started(
  kind: DatabaseServer['kind'],
  child: ChildProcess,
  port: number,
  dir: string,
  logTail: () => string,
  serverPid: () => number | undefined = () => child.pid,
): Promise<DatabaseServer> {
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', () => {
      exited = true;
      resolve();
    });
  });
  const killNow = (): void => {
    const pid = serverPid();
    try {
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  live.add(killNow);
  const stop = async (): Promise<void> => {
    if (!live.delete(killNow)) return;
    if (!exited) {
      const pid = serverPid();
      try {
        // SIGINT = postgres "fast shutdown"; SIGTERM for mariadbd.
        if (pid !== undefined) process.kill(pid, kind === 'postgres' ? 'SIGINT' : 'SIGTERM');
        else child.kill('SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        const p = serverPid();
        try {
          if (p !== undefined) process.kill(p, 'SIGKILL');
        } catch {
          // gone
        }
        child.kill('SIGKILL');
      }, 10_000);
      await exit;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await canConnect(port))) {
    if (exited || Date.now() > deadline) {
      const why = exited ? 'exited during start-up' : `did not accept connections within ${START_TIMEOUT_MS} ms`;
      const tail = logTail();
      await stop();
      throw new Error(`${kind} ${why}\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { kind, host: '127.0.0.1', port, database: DB_NAME, user: DB_USER, password: DB_PASSWORD, stop };
}

/**
 * Installs a Debian package when running as root (once per machine: a lock keeps two test files
 * from running apt-get at the same time), or fails with one line that says what to install.
 */
function ensureInstalled(pkg: string, what: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`${what} is not installed: run \`apt-get install ${pkg}\` (as root), then run the tests again`);
  }
  const lock = path.join(os.tmpdir(), 'xray-test-apt.lock');
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`timed out waiting for another test's apt-get (remove ${lock} if stale)`);
      execFileSync(process.execPath, ['-e', 'setTimeout(()=>{},500)']);
    }
  }
  try {
    process.stderr.write(`databases: ${what} is not installed; installing ${pkg} with apt-get\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const opts = { env, stdio: ['ignore', 'ignore', 'pipe'] as ['ignore', 'ignore', 'pipe'], timeout: 540_000 };
    execFileSync('apt-get', ['update'], opts);
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], opts);
  } catch (err) {
    throw new Error(`installing ${pkg} failed (${String((err as { stderr?: Buffer }).stderr ?? err).trim().split('\n').pop()}): install it by hand (apt-get install ${pkg})`);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function readLog(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no server log)';
  }
}

/** A port on 127.0.0.1 where nothing listens (for "connection refused" tests). */
export function closedPort(): Promise<number> {
  return freePort();
}
