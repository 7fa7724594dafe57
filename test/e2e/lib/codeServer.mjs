// Starts, stops and installs into a private code-server (VS Code 1.100.3 in the browser) for the e2e tests.
//
// Every run gets a fresh state folder (user data, extensions, XDG dirs, an empty `--config`), so
// nothing leaks between runs or into ~/.config. code-server is spawned `detached`, i.e. as the leader
// of its own process group, and stopped by signalling the whole group: the wrapper, its entry
// process, the extension host, file watcher, pty host, tsservers and our language server all go.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CODE_SERVER = path.join(E2E_DIR, 'node_modules', '.bin', 'code-server');

/** Asks the kernel for a free loopback port (bind to 0), then releases it for code-server to take. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Lays out a fresh state folder under `root` and returns its paths. */
export function makeState(root) {
  fs.rmSync(root, { recursive: true, force: true });
  const s = {
    root,
    userData: path.join(root, 'user-data'),
    extensions: path.join(root, 'extensions'),
    xdgConfig: path.join(root, 'xdg-config'),
    xdgData: path.join(root, 'xdg-data'),
    config: path.join(root, 'config.yaml'),
    log: path.join(root, 'code-server.log'),
  };
  for (const d of [s.userData, s.extensions, s.xdgConfig, s.xdgData]) fs.mkdirSync(d, { recursive: true });
  fs.mkdirSync(path.join(s.userData, 'User'), { recursive: true });
  fs.copyFileSync(path.join(E2E_DIR, 'settings.json'), path.join(s.userData, 'User', 'settings.json'));
  // An empty config file: without --config code-server writes ~/.config/code-server/config.yaml.
  fs.writeFileSync(s.config, '');
  return s;
}

function env(state) {
  return { ...process.env, XDG_CONFIG_HOME: state.xdgConfig, XDG_DATA_HOME: state.xdgData };
}

function commonArgs(state) {
  return ['--config', state.config, '--user-data-dir', state.userData, '--extensions-dir', state.extensions];
}

/**
 * Installs a .vsix into the state's extensions folder (code-server's CLI, no server running) and
 * returns the folder it unpacked to. Throws with code-server's output when the install fails.
 */
export function installVsix(state, vsix) {
  if (!fs.existsSync(CODE_SERVER)) throw new Error(`${CODE_SERVER} is missing: run test/e2e/setup.sh first`);
  const r = spawnSync(CODE_SERVER, [...commonArgs(state), '--force', '--install-extension', vsix], {
    env: env(state), encoding: 'utf8', timeout: 120_000,
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.status !== 0 || /failed|error/i.test(out) && !/successfully installed/i.test(out)) {
    throw new Error(`code-server --install-extension ${vsix} failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}):\n${out}`);
  }
  const dirs = fs.readdirSync(state.extensions).filter((d) => fs.statSync(path.join(state.extensions, d)).isDirectory());
  if (dirs.length !== 1) throw new Error(`expected one installed extension in ${state.extensions}, found: ${dirs.join(', ') || 'none'}\n${out}`);
  return { dir: path.join(state.extensions, dirs[0]), output: out };
}

/**
 * Starts code-server on a free loopback port and waits until /healthz answers.
 * Returns a handle whose stop() ends the whole process group (idempotent, also synchronous-safe).
 */
export async function startCodeServer(state, { timeoutMs = 60_000 } = {}) {
  if (!fs.existsSync(CODE_SERVER)) throw new Error(`${CODE_SERVER} is missing: run test/e2e/setup.sh first`);
  const port = await freePort();
  const logFd = fs.openSync(state.log, 'a');
  const child = spawn(CODE_SERVER, [
    ...commonArgs(state),
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', '--disable-proxy',
  ], { env: env(state), detached: true, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  const handle = {
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    exited: false,
    stop: () => stopGroup(handle),
  };
  child.on('exit', () => { handle.exited = true; });
  liveGroups.add(handle);

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (handle.exited) {
      throw new Error(`code-server exited during start-up; its log (${state.log}):\n${tail(state.log)}`);
    }
    try {
      const res = await fetch(`${handle.url}/healthz`);
      if (res.ok) return handle;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await stopGroup(handle);
      throw new Error(`code-server did not answer /healthz on port ${port} within ${timeoutMs} ms; log:\n${tail(state.log)}`);
    }
    await sleep(200);
  }
}

const liveGroups = new Set();

function groupAlive(pid) {
  try { process.kill(-pid, 0); return true; } catch { return false; }
}

/** SIGTERM to the group, wait up to 5 s, then SIGKILL whatever is left. */
async function stopGroup(handle) {
  if (!liveGroups.has(handle)) return;
  try { process.kill(-handle.pid, 'SIGTERM'); } catch { /* already gone */ }
  for (let i = 0; i < 50 && groupAlive(handle.pid); i++) await sleep(100);
  if (groupAlive(handle.pid)) {
    try { process.kill(-handle.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  liveGroups.delete(handle);
}

/** Last resort on process exit (synchronous): kill every group still running. */
export function killAllSync() {
  for (const h of liveGroups) {
    try { process.kill(-h.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  liveGroups.clear();
}

export function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
