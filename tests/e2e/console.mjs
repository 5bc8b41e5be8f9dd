// End-to-end test of the web console in headless Chromium, against a running `kefu serve`
// (local-only mode, extractive generation). Start the server with run.sh; this script starts nothing.
//
//   KEFU_URL=http://127.0.0.1:PORT node tests/e2e/console.mjs
//
// Flow: suggest (streamed) -> agent types a forbidden phrase -> highlighted block finding, approval
// disabled -> edit until it passes -> approve (final text on the clipboard) -> a second draft is
// rejected from the review view -> both decisions appear in the audit view, with the edit's diff,
// a verified chain and a CSV export. Screenshots of each view go to tests/e2e/artifacts/.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE = (process.env.KEFU_URL || '').replace(/\/$/, '');
if (!BASE) {
  console.error('KEFU_URL is not set: start the server with tests/e2e/run.sh, or set KEFU_URL=http://127.0.0.1:PORT');
  process.exit(2);
}
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 30000;

let passed = 0;
let failed = 0;
async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}\n  ${String(e && e.stack ? e.stack : e).split('\n').join('\n  ')}`);
    throw e;
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error('assertion failed: ' + msg);
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kefu-e2e-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--lang=zh-CN',
  ],
  viewport: { width: 1366, height: 768 },
  locale: 'zh-CN',
  acceptDownloads: true,
});
await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(TIMEOUT);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => {
  if (m.type() === 'error') console.log(`  [browser console] ${m.text()}`);
});

const shot = (name) => page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: false });
const verdictSettled = () =>
  page.waitForFunction(() => {
    const line = document.getElementById('verdict-line');
    return line && line.textContent.includes('合规结论') && !line.textContent.includes('检查中');
  });
const blockFindings = () =>
  page.$$eval('#findings li.block', (lis) => lis.map((li) => li.textContent));

const CONVERSATION = ['顾客：你好，在吗？', '客服：亲，在的，请问有什么可以帮您？', '顾客：空气炸锅保修多久？'].join('\n');

async function suggest(conversation) {
  await page.fill('#conv-text', conversation);
  await page.selectOption('#platform', 'taobao');
  // Keyboard shortcut from the conversation field, as an agent would.
  await page.focus('#conv-text');
  await page.evaluate(() => {
    window.__deltas = 0;
    const stream = document.getElementById('stream');
    new MutationObserver(() => window.__deltas++).observe(stream, { childList: true, characterData: true, subtree: true });
  });
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/suggest')),
    page.keyboard.press('Control+Enter'),
  ]);
  await page.waitForSelector('#draft-body:not([hidden])');
  await verdictSettled();
  return { deltas: await page.evaluate(() => window.__deltas), contentType: response.headers()['content-type'] || '' };
}

// Optional second server with [[users]] and an unreachable provider (no extractive fallback).
const AUTH_URL = (process.env.KEFU_AUTH_URL || '').replace(/\/$/, '');
const TOKEN_AGENT = process.env.KEFU_TOKEN_AGENT || '';
const TOKEN_COMPLIANCE = process.env.KEFU_TOKEN_COMPLIANCE || '';

async function signIn(p, token) {
  await p.waitForSelector('#view-signin:not([hidden])');
  await p.fill('#signin-token', token);
  await p.press('#signin-token', 'Enter');
}

async function authFlow() {
  const p = await context.newPage();
  p.setDefaultTimeout(TIMEOUT);
  p.on('pageerror', (e) => pageErrors.push(String(e)));
  try {
    await step('with users configured the console asks for a token and refuses a wrong one', async () => {
      await p.goto(AUTH_URL + '/');
      await p.waitForSelector('#view-signin:not([hidden])');
      assert(await p.isHidden('#nav'), 'no navigation before sign-in');
      await signIn(p, 'not-a-token');
      await p.waitForFunction(() => document.getElementById('signin-msg').textContent.includes('令牌无效'));
      await p.screenshot({ path: path.join(ARTIFACTS, 'signin.png') });
    });

    await step('an agent sees only the agent view; the audit view is refused with a message', async () => {
      await signIn(p, TOKEN_AGENT);
      await p.waitForSelector('#view-agent:not([hidden])');
      assert((await p.textContent('#who')).includes('坐席'), 'role shown');
      assert(await p.isHidden('#nav'), 'one view: no navigation');
      await p.evaluate(() => (location.hash = '#audit'));
      await p.waitForFunction(() => document.getElementById('banner').textContent.includes('无权访问'));
      assert(await p.isHidden('#view-audit'), 'the audit view stays hidden');
    });

    await step('a provider outage is explained to the agent', async () => {
      await p.fill('#conv-text', '顾客：这个水壶保修多久？');
      await p.click('#suggest-btn');
      await p.waitForFunction(() => document.getElementById('draft-status').classList.contains('error'));
      const msg = await p.textContent('#draft-status');
      assert(msg.includes('模型服务暂时不可用'), `outage message: ${msg}`);
      assert((await p.textContent('#banner')).includes('模型服务暂时不可用'), 'outage banner');
      assert(await p.isEnabled('#suggest-btn'), 'the agent can try again');
      await p.screenshot({ path: path.join(ARTIFACTS, 'outage.png') });
    });

    await step('sign-out, then a compliance officer reaches the audit view; the token survives a reload', async () => {
      await p.click('#signout');
      await signIn(p, TOKEN_COMPLIANCE);
      await p.waitForSelector('#nav:not([hidden]) a[data-view="audit"]');
      await p.click('nav a[data-view="audit"]');
      await p.waitForSelector('#view-audit:not([hidden])');
      await p.waitForFunction(() => document.getElementById('verify-status').classList.contains('ok'));
      await p.reload();
      await p.waitForSelector('#view-audit:not([hidden])');
      assert((await p.textContent('#who')).includes('合规'), 'still signed in as compliance');
    });
  } finally {
    await p.close();
  }
}

// Optional third server: users, extractive generation; a compliance officer overrides a block.
const COMPLIANCE_URL = (process.env.KEFU_COMPLIANCE_URL || '').replace(/\/$/, '');

async function overrideFlow() {
  const p = await context.newPage();
  p.setDefaultTimeout(TIMEOUT);
  p.on('pageerror', (e) => pageErrors.push(String(e)));
  try {
    await step('a compliance officer overrides a blocking finding with a written reason', async () => {
      await p.goto(COMPLIANCE_URL + '/');
      await signIn(p, TOKEN_COMPLIANCE);
      await p.waitForSelector('#view-agent:not([hidden])');
      await p.fill('#conv-text', '顾客：可以加你微信吗？');
      await p.click('#suggest-btn');
      await p.waitForSelector('#draft-body:not([hidden])');
      await p.focus('#draft-text');
      await p.keyboard.press('Control+End');
      await p.keyboard.type('方便的话加我微信。');
      await p.waitForSelector('#override-box:not([hidden])');
      assert(await p.isDisabled('#approve-btn'), 'plain approval stays disabled');
      await p.fill('#override-reason', '顾客为企业采购，经法务确认可线下对接');
      await p.click('#override-btn');
      await p.waitForFunction(() => document.getElementById('draft-status').classList.contains('ok'));
      await p.click('nav a[data-view="audit"]');
      await p.waitForSelector('#view-audit:not([hidden]) #audit-table tbody tr');
      const seq = await p.$$eval('#audit-table tbody tr', (trs) => trs.filter((t) => /通过/.test(t.textContent)).pop().dataset.seq);
      await p.click(`#audit-table tbody tr[data-seq="${seq}"] button`);
      await p.waitForSelector('#event-body:not([hidden])');
      const detail = await p.textContent('#event-body');
      assert(detail.includes('经法务确认'), `the override reason is in the audit event: ${detail.slice(0, 200)}`);
      await p.evaluate(() => window.scrollTo(0, 0));
      await p.screenshot({ path: path.join(ARTIFACTS, 'override.png') });
    });
  } finally {
    await p.close();
  }
}

let exitCode = 1;
try {
  await step('console page is served with its embedded assets', async () => {
    const res = await page.goto(BASE + '/');
    assert(res && res.status() === 200, `GET / answered ${res && res.status()}`);
    assert((res.headers()['content-type'] || '').startsWith('text/html'), 'index is text/html');
    await page.waitForSelector('#view-agent:not([hidden])');
    const who = await page.textContent('#who');
    assert(who.includes('本地模式'), `local-only mode shown in the header, got "${who}"`);
    assert(await page.isHidden('#view-signin'), 'no sign-in in local-only mode');
  });

  await step('every form control is labelled and the page fits 1366x768 without sideways scrolling', async () => {
    const unlabelled = await page.$$eval('input, select, textarea', (els) =>
      els.filter((e) => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map((e) => e.id || e.outerHTML));
    assert(unlabelled.length === 0, `unlabelled controls: ${unlabelled.join(', ')}`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(width <= 1366, `page is ${width}px wide`);
  });

  let draftText = '';
  await step('suggest streams a draft with mode, scenario and sources', async () => {
    const { deltas, contentType } = await suggest(CONVERSATION);
    assert(contentType.startsWith('text/event-stream'), `suggest answered Server-Sent Events (${contentType})`);
    draftText = await page.inputValue('#draft-text');
    assert(draftText.trim().length > 0, 'the draft has text');
    const meta = await page.textContent('#draft-meta');
    // Extractive drafts arrive whole in the `draft` event; a model's would stream `delta`s first.
    if (meta.includes('模型生成')) assert(deltas > 0, 'model text streamed into the stream box');
    assert(meta.includes('抽取模式'), `mode shown as extractive: ${meta}`);
    assert(meta.includes('场景') && meta.includes('需人工') && meta.includes('耗时'), `scenario, needs_human and timings shown: ${meta}`);
    const sources = await page.$$('#sources li button');
    if (sources.length) {
      await sources[0].click();
      await page.waitForSelector('#snippet-dialog[open]');
      await page.waitForFunction(() => !document.getElementById('snippet-text').textContent.includes('加载中'));
      const snippet = await page.textContent('#snippet-text');
      assert(snippet.trim().length > 0 && !snippet.includes('未找到'), `the source opens to its snippet: ${snippet.slice(0, 80)}`);
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => !document.getElementById('snippet-dialog').open);
    } else {
      console.log('  (the draft has no sources; the snippet dialog was not exercised)');
    }
    await shot('agent.png');
  });

  await step('an agent-typed forbidden phrase is highlighted at its span and blocks approval', async () => {
    await page.focus('#draft-text');
    await page.keyboard.press('End');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('有问题可以加我微信，这是全网最好的选择。', { delay: 5 });
    await page.waitForSelector('#marked mark.block');
    await verdictSettled();
    const marks = await page.$$eval('#marked mark.block', (ms) => ms.map((m) => m.firstChild.textContent));
    assert(marks.some((t) => /微信|最好/.test(t)), `a block mark covers the forbidden phrase: ${JSON.stringify(marks)}`);
    assert(await page.isDisabled('#approve-btn'), 'approve is disabled while the text blocks');
    const why = await page.textContent('#approve-why');
    assert(why.includes('不能通过'), `the page says why: ${why}`);
    // The rule's message shows on keyboard focus of the highlighted text.
    const mark = await page.$('#marked mark.block');
    await mark.focus();
    const tip = await mark.$('.tip');
    assert(await tip.isVisible(), 'the finding message shows on focus');
    assert((await tip.textContent()).length > 4, 'the tooltip has the message');
    await shot('agent-finding.png');
  });

  const cleanSentence = '如有问题，欢迎随时在这里留言。';
  let finalText = '';
  await step('editing until the text passes re-enables approval', async () => {
    await page.fill('#draft-text', draftText + cleanSentence);
    await verdictSettled();
    // If the suggested text itself had a blocking phrase, keep editing: remove each flagged span.
    for (let i = 0; i < 10 && (await blockFindings()).length; i++) {
      await page.evaluate(() => {
        const mark = document.querySelector('#marked mark.block');
        const ta = document.getElementById('draft-text');
        ta.value = ta.value.replace(mark.firstChild.textContent, '');
        ta.dispatchEvent(new Event('input'));
      });
      await page.waitForFunction(() => document.getElementById('verdict-line').textContent.includes('检查中'), null, { timeout: 2000 }).catch(() => {});
      await verdictSettled();
    }
    assert((await blockFindings()).length === 0, 'no blocking finding left');
    await page.waitForSelector('#approve-btn:not([disabled])');
    finalText = await page.inputValue('#draft-text');
  });

  await step('approve copies the final text to the clipboard', async () => {
    await page.focus('#approve-btn');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('draft-status').classList.contains('ok'));
    const status = await page.textContent('#draft-status');
    assert(status.includes('修改后通过'), `status says edited-and-approved: ${status}`);
    const clip = await page.evaluate(() => navigator.clipboard.readText());
    assert(clip === finalText, `clipboard holds the final text (got ${JSON.stringify(clip.slice(0, 40))})`);
  });

  let pendingText = '';
  await step('a second draft waits in the review view and is rejected in bulk', async () => {
    await suggest('顾客：什么时候发货？');
    pendingText = await page.inputValue('#draft-text');
    const pendingId = await page.getAttribute('#draft-body', 'data-draft-id');
    await page.click('nav a[data-view="review"]');
    await page.waitForSelector('#view-review:not([hidden]) .review-item');
    const id = pendingId;
    assert(await page.$(`.review-item[data-id="${id}"]`), `the pending draft ${id} is listed`);
    assert((await page.inputValue(`#rv-t-${id}`)) === pendingText, 'the listed text is the suggested one');
    await shot('review.png');
    await page.check(`#rv-sel-${id}`);
    await page.fill('#review-reason', '答非所问，改为人工回复');
    await page.click('#review-reject');
    await page.waitForFunction((rid) => document.getElementById('rv-r-' + rid).textContent.includes('已驳回'), id);
  });

  await step('the audit view shows the decisions, the edit diff, a verified chain and exports CSV', async () => {
    await page.focus('nav a[data-view="audit"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#view-audit:not([hidden]) #audit-table tbody tr');
    await page.waitForFunction(() => document.getElementById('verify-status').classList.contains('ok'));
    const rows = await page.$$eval('#audit-table tbody tr', (trs) => trs.map((tr) => tr.textContent));
    assert(rows.some((r) => r.includes('修改后通过')), `an edited event is listed: ${rows.join(' | ')}`);
    assert(rows.some((r) => r.includes('驳回')), 'a rejected event is listed');
    const seq = await page.$$eval('#audit-table tbody tr', (trs) => {
      const tr = trs.find((t) => t.textContent.includes('修改后通过'));
      return tr.dataset.seq;
    });
    await page.click(`#audit-table tbody tr[data-seq="${seq}"] button`);
    await page.waitForSelector('#event-body:not([hidden]) .diff ins');
    const inserted = await page.$$eval('#event-body .diff ins', (xs) => xs.map((x) => x.textContent.replace('[新增]', '')).join(''));
    assert(inserted.includes('欢迎随时在这里留言'), `the diff shows the agent's addition: ${inserted}`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('audit.png');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const file = path.join(ARTIFACTS, 'audit-export.csv');
    await download.saveAs(file);
    const csv = fs.readFileSync(file, 'utf8');
    assert(csv.charCodeAt(0) === 0xfeff, 'CSV export starts with a BOM');
    assert(csv.split('\n').length >= 3, 'CSV export has a header and events');
  });

  if (AUTH_URL) await authFlow();
  if (COMPLIANCE_URL) await overrideFlow();

  await step('no script errors on the page', async () => {
    assert(pageErrors.length === 0, pageErrors.join('\n'));
  });
  exitCode = 0;
} catch (_) {
  await shot('failure.png').catch(() => {});
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(exitCode);
