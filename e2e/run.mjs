// Browser test of the admin pages, the story end to end.
//
// Runs the already-built `target/debug/akiles-hr-sync` twice (the Akiles emulator with
// this service registered as an OAuth application, and `serve`) on free ports with a
// temporary config and database, creates an admin, a tenant and an API key with the
// CLI, then drives Debian's Chromium with playwright-core. A screenshot of each step is
// saved under `target/e2e-screenshots/`. Exits non-zero on any failure and always stops
// the processes it started.

import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const binary = join(root, 'target', 'debug', 'akiles-hr-sync');
const shots = join(root, 'target', 'e2e-screenshots');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const DEADLINE_MS = 30_000;

const ADMIN = 'e2e-admin';
const PASSWORD = randomBytes(12).toString('hex');
const TENANT = 'acme';
const CLIENT_ID = 'app_e2ehrsync0001';
const CLIENT_SECRET = randomBytes(16).toString('hex');
const ORG_NAME = 'Acme Office (emulator)';

const children = [];
let step = 0;

function log(message) {
  console.log(`[e2e] ${message}`);
}

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

function start(name, args, env = {}) {
  const child = spawn(binary, args, {
    env: { ...process.env, RUST_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = [];
  child.stdout.on('data', (d) => output.push(d.toString()));
  child.stderr.on('data', (d) => output.push(d.toString()));
  child.on('exit', (code, signal) => {
    if (!child.stopping) log(`${name} exited early (code ${code}, signal ${signal})`);
  });
  children.push({ name, child, output });
  return child;
}

function cli(args, input) {
  return execFileSync(binary, args, {
    input,
    env: { ...process.env, RUST_LOG: 'warn' },
  }).toString();
}

let lastSeen = '';

async function until(what, check) {
  const deadline = Date.now() + DEADLINE_MS;
  lastSeen = '';
  for (;;) {
    const result = await check();
    if (result) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${lastSeen}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function screenshot(page, name) {
  step += 1;
  const file = join(shots, `${String(step).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`step ${step}: ${name} (${file})`);
}

async function expectText(page, text) {
  await page.getByText(text, { exact: false }).first().waitFor({ timeout: DEADLINE_MS });
}

function config({ dir, servicePort, emulatorPort, managementToken }) {
  const emulator = `http://127.0.0.1:${emulatorPort}`;
  return `listen = "127.0.0.1:${servicePort}"
public_url = "http://127.0.0.1:${servicePort}"
database = "sqlite://${join(dir, 'e2e.db')}?mode=rwc"
data_key = "${randomBytes(32).toString('base64')}"
cookie_key = "${randomBytes(64).toString('base64')}"
management_token = "${managementToken}"

[akiles]
api_url = "${emulator}/v2"
authorize_url = "${emulator}/oauth2/auth"
token_url = "${emulator}/oauth2/token"
client_id = "${CLIENT_ID}"
client_secret = "${CLIENT_SECRET}"
rate_per_second = 100
groups_cache_secs = 0

[workers]
poll_interval_ms = 100
backoff_base_ms = 200
backoff_max_ms = 2000
`;
}

async function emulatorCalls(emulatorPort) {
  const response = await fetch(`http://127.0.0.1:${emulatorPort}/_emulator/calls`);
  return response.json();
}

// Counts of write calls per `METHOD /template` between two readings of the counters.
function delta(before, after) {
  const changes = {};
  for (const [key, count] of Object.entries(after)) {
    const diff = count - (before[key] || 0);
    if (diff !== 0 && !key.startsWith('GET ')) changes[key] = diff;
  }
  return changes;
}

function writes(changes) {
  return Object.fromEntries(
    Object.entries(changes).filter(([key]) => !key.includes('/oauth2/')),
  );
}

async function push(base, apiKey, id, body) {
  const response = await fetch(`${base}/api/v1/employees/${encodeURIComponent(id)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 202) {
    throw new Error(`push of ${id} answered ${response.status}: ${await response.text()}`);
  }
}

async function employeeStates(page, base) {
  await page.goto(`${base}/admin/tenants/${TENANT}/employees`);
  return page.$$eval('tr[data-employee]', (rows) =>
    Object.fromEntries(rows.map((r) => [r.dataset.employee, r.dataset.state])),
  );
}

// Previews moving the HR group Engineering from Software Engineering to IT/IS: the lines
// must be on the page and nothing written to Akiles; then saves and waits for the move.
async function previewMappingChange({ page, base, emulatorPort }) {
  await page.goto(`${base}/admin/tenants/${TENANT}`);
  const engineering = page.locator('tr[data-hr-group="Engineering"]');
  await engineering.getByLabel('Software Engineering', { exact: true }).uncheck();
  await engineering.getByLabel('IT/IS', { exact: true }).check();
  const beforePreview = await emulatorCalls(emulatorPort);
  await page.getByRole('button', { name: 'Preview changes' }).click();
  await page.waitForURL(`${base}/admin/tenants/${TENANT}/settings/preview`);
  const lines = await page.$$eval('li[data-preview-line]', (items) =>
    items.map((item) => item.textContent.trim()),
  );
  for (const expected of ['2 members gain IT/IS', '2 members lose Software Engineering', '0 deletions']) {
    if (!lines.includes(expected)) {
      throw new Error(`the preview lacks "${expected}": ${JSON.stringify(lines)}`);
    }
  }
  const previewWrites = writes(delta(beforePreview, await emulatorCalls(emulatorPort)));
  if (Object.keys(previewWrites).length !== 0) {
    throw new Error(`the preview wrote to Akiles: ${JSON.stringify(previewWrites)}`);
  }
  log(`preview: ${JSON.stringify(lines)}`);
  await screenshot(page, 'preview-mapping-change');

  await page.getByRole('button', { name: 'Save these settings' }).click();
  await expectText(page, 'Saved. Queued a sync');
  const applied = await until('the previewed move to reach Akiles', async () => {
    const changes = writes(delta(beforePreview, await emulatorCalls(emulatorPort)));
    lastSeen = JSON.stringify(changes);
    const created = changes['POST /v2/members/{member_id}/group_associations'];
    const deleted = changes['DELETE /v2/members/{member_id}/group_associations/{member_group_association_id}'];
    return created === 2 && deleted === 2 && changes;
  });
  log(`saving the previewed mapping: ${JSON.stringify(applied)}`);
  await screenshot(page, 'previewed-mapping-saved');
}

// Three more people in Sales, a guard of 2 deletions per run, then a snapshot that drops
// all three: the reconcile holds the deletions until the admin approves them.
async function holdAndApproveDeletions({ page, base, emulatorPort, apiKey }) {
  const extra = [
    ['E-4', 'Lena Ortiz'],
    ['E-5', 'Marco Bianchi'],
    ['E-6', 'Sofia Lindqvist'],
  ];
  for (const [id, name] of extra) {
    await push(base, apiKey, id, { name, groups: ['Sales'], status: 'active', version: 1 });
  }
  await until('three more employees in sync', async () => {
    const states = await employeeStates(page, base);
    lastSeen = JSON.stringify(states);
    return extra.every(([id]) => states[id] === 'in_sync');
  });

  await page.goto(`${base}/admin/tenants/${TENANT}`);
  await page.locator('input[name="max_deletions"]').fill('2');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expectText(page, 'Saved. Queued a sync');

  const beforeSnapshot = await emulatorCalls(emulatorPort);
  const snapshot = await fetch(`${base}/api/v1/snapshot`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      version: 3,
      employees: [
        { id: 'E-1', name: 'Ana Quiroga', groups: ['Engineering'], status: 'active' },
        { id: 'E-2', name: 'Jonas Peltier', groups: ['Sales'], status: 'active' },
      ],
    }),
  });
  if (snapshot.status !== 202) {
    throw new Error(`the snapshot answered ${snapshot.status}: ${await snapshot.text()}`);
  }
  await until('three deletions held', async () => {
    await page.goto(`${base}/admin/tenants/${TENANT}`);
    const banner = page.locator('[data-held]');
    lastSeen = await page.locator('main').innerText();
    return (await banner.count()) > 0 && (await banner.getAttribute('data-held')) === '3';
  });
  await expectText(page, '3 member deletions are held for your approval.');
  const held = writes(delta(beforeSnapshot, await emulatorCalls(emulatorPort)));
  if (held['DELETE /v2/members/{member_id}']) {
    throw new Error(`held deletions reached Akiles: ${JSON.stringify(held)}`);
  }
  await screenshot(page, 'held-deletions-banner');
  await page.getByRole('link', { name: 'Review the held deletions' }).click();
  await expectText(page, 'Held deletions');
  await screenshot(page, 'held-deletions');

  await page.getByRole('button', { name: 'Approve all' }).click();
  await expectText(page, 'Approved 3 held deletions');
  const approved = await until('the approved deletions to reach Akiles', async () => {
    const changes = writes(delta(beforeSnapshot, await emulatorCalls(emulatorPort)));
    lastSeen = JSON.stringify(changes);
    return changes['DELETE /v2/members/{member_id}'] === 3 && changes;
  });
  log(`approving the held deletions: ${JSON.stringify(approved)}`);
  await until('the held list to empty', async () => {
    await page.goto(`${base}/admin/tenants/${TENANT}/deletions`);
    return (await page.locator('tr[data-state]').count()) === 0;
  });
  await screenshot(page, 'held-deletions-approved');
}

async function story({ page, base, emulatorPort, apiKey }) {
  await page.goto(`${base}/admin`);
  await page.getByLabel('Username').fill(ADMIN);
  await page.getByLabel('Password').fill(PASSWORD);
  await screenshot(page, 'login');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expectText(page, 'Tenants');

  await page.getByRole('link', { name: TENANT, exact: true }).click();
  await expectText(page, 'Not connected');
  await screenshot(page, 'not-connected');

  await page.getByRole('button', { name: 'Connect Akiles' }).click();
  await page.waitForURL((url) => url.port === String(emulatorPort));
  await screenshot(page, 'consent-page');
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.waitForURL(`${base}/admin/tenants/${TENANT}`);
  await expectText(page, `Connected to ${ORG_NAME}`);
  await screenshot(page, 'connected');

  await page.locator('input[name="pin"]').check();
  const rowOf = (index) => page.locator('tr', { has: page.locator(`input[name="hr.${index}"]`) });
  await page.locator('input[name="hr.0"]').fill('Sales');
  await rowOf(0).getByLabel('Sales', { exact: true }).check();
  await page.locator('input[name="hr.1"]').fill('Engineering');
  await rowOf(1).getByLabel('Software Engineering', { exact: true }).check();
  await screenshot(page, 'mapping-and-pin');
  await page.getByRole('button', { name: 'Save' }).click();
  await expectText(page, 'Saved. Queued a sync');
  await screenshot(page, 'saved');

  const people = [
    ['E-1', 'Ana Quiroga', 'Sales'],
    ['E-2', 'Jonas Peltier', 'Sales'],
    ['E-3', 'Priya Natarajan', 'Engineering'],
  ];
  for (const [id, name, group] of people) {
    await push(base, apiKey, id, { name, groups: [group], status: 'active', version: 1 });
  }
  await until('three employees in sync', async () => {
    const states = await employeeStates(page, base);
    return people.every(([id]) => states[id] === 'in_sync');
  });
  await screenshot(page, 'three-in-sync');

  const beforeMove = await emulatorCalls(emulatorPort);
  await push(base, apiKey, 'E-1', {
    name: 'Ana Quiroga', groups: ['Engineering'], status: 'active', version: 2,
  });
  const moved = await until('the move to reach Akiles', async () => {
    const changes = writes(delta(beforeMove, await emulatorCalls(emulatorPort)));
    const states = await employeeStates(page, base);
    lastSeen = JSON.stringify({ changes, states });
    const done = Object.keys(changes).length > 0 && states['E-1'] === 'in_sync';
    return done && changes;
  });
  const deleted = moved['DELETE /v2/members/{member_id}/group_associations/{member_group_association_id}'];
  const created = moved['POST /v2/members/{member_id}/group_associations'];
  if (deleted !== 1 || created !== 1 || Object.keys(moved).length !== 2) {
    throw new Error(`moving E-1 made these writes: ${JSON.stringify(moved)}`);
  }
  log(`moving E-1: ${JSON.stringify(moved)}`);
  await screenshot(page, 'moved-one');

  await previewMappingChange({ page, base, emulatorPort });

  const beforeDelete = await emulatorCalls(emulatorPort);
  const removal = await fetch(`${base}/api/v1/employees/E-3?version=2`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${apiKey}` },
  });
  if (removal.status !== 202) throw new Error(`delete answered ${removal.status}`);
  const removed = await until('the member of E-3 to be deleted', async () => {
    const changes = writes(delta(beforeDelete, await emulatorCalls(emulatorPort)));
    const states = await employeeStates(page, base);
    lastSeen = JSON.stringify({ changes, states });
    return states['E-3'] === 'left' && Object.keys(changes).length > 0 && changes;
  });
  if (removed['DELETE /v2/members/{member_id}'] !== 1) {
    throw new Error(`deleting E-3 made these writes: ${JSON.stringify(removed)}`);
  }
  log(`deleting E-3: ${JSON.stringify(removed)}`);
  await screenshot(page, 'deleted-one');

  await holdAndApproveDeletions({ page, base, emulatorPort, apiKey });

  await page.goto(`${base}/admin/tenants/${TENANT}/employees/E-1`);
  await expectText(page, 'History');
  await screenshot(page, 'history');
  await page.goto(`${base}/admin/tenants/${TENANT}/activity`);
  await expectText(page, '3 deletions held');
  await screenshot(page, 'activity');
}

async function main() {
  mkdirSync(shots, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'akiles-hr-sync-e2e-'));
  const [servicePort, emulatorPort] = [await freePort(), await freePort()];
  const base = `http://127.0.0.1:${servicePort}`;
  const configPath = join(dir, 'service.toml');
  const managementToken = randomBytes(16).toString('hex');
  writeFileSync(configPath, config({ dir, servicePort, emulatorPort, managementToken }));
  let context;
  try {
    start('emulator', [
      'emulator', '--listen', `127.0.0.1:${emulatorPort}`, '--api-key', 'ak_e2e_unused',
      '--oauth-client', `${CLIENT_ID}:${CLIENT_SECRET}:${base}/oauth/callback`,
    ]);
    cli(['admin', 'set-password', ADMIN, '--config', configPath], `${PASSWORD}\n`);
    cli(['tenants', 'create', TENANT, '--config', configPath]);
    const created = cli(['tenants', 'api-key', 'create', TENANT, '--label', 'e2e', '--config', configPath]);
    const apiKey = created.trim().split('\n').pop().trim();
    start('service', ['serve', '--config', configPath]);
    await until('the service and the emulator', async () => {
      try {
        const [a, b] = await Promise.all([
          fetch(`${base}/healthz`),
          fetch(`http://127.0.0.1:${emulatorPort}/_emulator/calls`),
        ]);
        return a.ok && b.ok;
      } catch {
        return false;
      }
    });

    context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: chromiumPath,
      headless: true,
      viewport: { width: 1200, height: 900 },
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
    const page = context.pages()[0] || (await context.newPage());
    await story({ page, base, emulatorPort, apiKey });
    log('all steps passed');
  } catch (error) {
    console.error(`[e2e] FAILED at step ${step + 1}: ${error.stack || error}`);
    process.exitCode = 1;
  } finally {
    if (context) await context.close().catch(() => {});
    for (const { child } of children) {
      child.stopping = true;
      child.kill('SIGTERM');
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const { child } of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    if (process.exitCode) {
      for (const { name, output } of children) log(`${name} output:\n${output.join('')}`);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`[e2e] FAILED before the story: ${error.stack || error}`);
  process.exitCode = 1;
});
