// kefu console: plain DOM code over the v1 HTTP API. Pure helpers live in lib.js (KefuLib).
(function () {
  'use strict';
  const L = window.KefuLib;
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = 'kefu.token';

  const LABELS = {
    scenario: { presale: '售前咨询', logistics: '物流', aftersale: '售后', complaint: '投诉', promotion: '活动优惠', other: '其他' },
    emotion: { calm: '平稳', anxious: '焦急', angry: '愤怒' },
    status: { pending: '待处理', approved: '已通过', edited: '修改后通过', rejected: '已驳回', expired: '已过期' },
    verdict: { pass: '通过', warn: '警告', block: '拦截' },
    severity: { info: '提示', warn: '警告', block: '拦截' },
    role: { agent: '坐席', reviewer: '审核员', compliance: '合规', admin: '管理员' },
    action: {
      suggested: '生成草稿', approved: '通过', edited: '修改后通过', rejected: '驳回', overridden: '合规放行',
      first_approval: '首次审批', expired: '过期', exported: '导出审计', reloaded: '重新加载',
    },
    mode: { model: '模型生成', extractive: '抽取模式（知识库原文）' },
    timing: { redact: '脱敏', scenario: '场景', retrieve: '检索', prompt: '提示词', generate: '生成', restore: '还原', check: '检查', store: '存储', total: '合计' },
  };
  const label = (kind, v) => (v == null ? '—' : LABELS[kind][v] || String(v));

  const VIEWS_BY_ROLE = {
    agent: ['agent'],
    reviewer: ['agent', 'review'],
    compliance: ['agent', 'review', 'audit'],
    admin: ['agent', 'review', 'audit'],
  };
  const CODE_STATUS = {
    invalid_json: 400, bad_request: 400, unauthorized: 401, forbidden: 403, not_found: 404,
    conflict: 409, payload_too_large: 413, blocked: 422, provider_unavailable: 503, internal: 500,
  };

  const S = {
    token: '',
    me: null,
    view: null,
    draft: null, // the Suggestion / draft on screen in the agent view
    facts: {},
    grounding: null, // snippet texts for /v1/check, null when not (yet) known
    checked: { text: '', findings: [], verdict: 'pass' },
    checkSeq: 0,
    checkCtl: null,
    suggestCtl: null,
    snippets: new Map(),
    review: { limit: 50, drafts: [] },
    // Audit pages by cursor: `after` is the last seq of the page before; `cursors` the way back.
    audit: { limit: 50, after: null, cursors: [], nextAfter: null, events: [], selected: null },
  };

  // ---------- API ----------

  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  function headers(extra) {
    const h = Object.assign({}, extra);
    if (S.token) h.Authorization = 'Bearer ' + S.token;
    return h;
  }

  async function errorFrom(res) {
    let code = 'http_' + res.status;
    let message = res.statusText || '';
    try {
      const j = await res.json();
      if (j && j.error) {
        code = j.error.code || code;
        message = j.error.message || message;
      }
    } catch (_) {
      // Not JSON (a proxy's page, say): the status speaks for itself.
    }
    return new ApiError(res.status, code, message, res.headers.get('Retry-After'));
  }

  async function send(method, path, body, opts) {
    const o = opts || {};
    const h = headers(o.headers);
    if (body !== undefined) h['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), signal: o.signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, 'network', '无法连接到服务器，请确认 kefu 服务正在运行。');
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  }

  async function api(method, path, body, opts) {
    const res = await send(method, path, body, opts);
    const ct = res.headers.get('content-type') || '';
    return ct.includes('json') ? res.json() : res.text();
  }

  /** A message a person can act on, in Chinese, keeping the server's detail. */
  function explain(e) {
    if (!(e instanceof ApiError)) return '出错了：' + (e && e.message ? e.message : String(e));
    const detail = e.message ? `（${e.message}）` : '';
    switch (e.code === 'provider_unavailable' ? 503 : e.status) {
      case 0: return e.message;
      case 401: return '身份验证失败：令牌无效或已过期，请重新登录。';
      case 403: return `无权限：当前角色「${label('role', S.me && S.me.role)}」不能执行此操作。${detail}`;
      case 404: return '未找到：该记录不存在，或不属于当前账号。' + detail;
      case 409: return '该草稿已不是待处理状态（可能已被他人处理），请刷新。' + detail;
      case 413: return '内容过长，请缩短后重试。' + detail;
      case 422: return '最终文本含“拦截”级合规问题，不能通过。' + detail;
      case 503: {
        const wait = e.retryAfter ? `请约 ${e.retryAfter} 秒后重试` : '请稍后重试';
        return `模型服务暂时不可用，${wait}；期间可以手动回复。${detail}`;
      }
      case 400: return '请求有误：' + (e.message || e.code);
      default: return `服务器出错（${e.status || e.code}）${detail}`;
    }
  }

  /** Shows an error where it happened; 401 sends the person back to sign-in. */
  function fail(e, statusEl) {
    if (e && e.name === 'AbortError') return;
    const msg = explain(e);
    if (e instanceof ApiError && e.status === 401) {
      showSignin(msg);
      return;
    }
    if (e instanceof ApiError && (e.code === 'provider_unavailable' || e.status === 503)) banner(msg);
    if (statusEl) setStatus(statusEl, msg, 'error');
    else banner(msg);
  }

  function banner(msg, kind) {
    const b = $('banner');
    if (!msg) {
      b.hidden = true;
      b.textContent = '';
      return;
    }
    b.textContent = msg;
    b.className = 'banner' + (kind ? ' ' + kind : '');
    b.hidden = false;
  }

  function setStatus(el, msg, kind) {
    el.textContent = msg;
    el.classList.remove('error', 'ok');
    if (kind) el.classList.add(kind);
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  // Draft ids are UUIDv7: the head is a timestamp shared by drafts of the same minute, the tail is random.
  const shortId = (id) => String(id || '').slice(-8);
  const badge = (kind, cls, text) => el('span', { class: 'badge ' + cls, text: text || label(kind, cls) });
  const fmtTime = (iso) => {
    const d = new Date(iso);
    return isNaN(d) ? String(iso || '') : d.toLocaleString('zh-CN', { hour12: false });
  };

  // ---------- sign-in, roles, navigation ----------

  async function boot() {
    S.token = sessionStorage.getItem(TOKEN_KEY) || '';
    loadHealth();
    wire();
    try {
      S.me = await api('GET', '/v1/me');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        showSignin(S.token ? '令牌已失效，请重新登录。' : '');
      } else {
        banner(explain(e));
        showSignin('');
      }
      return;
    }
    enterApp();
  }

  async function loadHealth() {
    try {
      const h = await api('GET', '/healthz');
      $('health').textContent = `${label('mode', h.generation)} · 知识库 ${String(h.knowledge_version || '').slice(0, 8)}`;
    } catch (_) {
      $('health').textContent = '';
    }
  }

  function showSignin(msg) {
    S.me = null;
    for (const v of document.querySelectorAll('.view')) v.hidden = true;
    $('nav').hidden = true;
    $('signout').hidden = true;
    $('who').textContent = '';
    $('view-signin').hidden = false;
    setStatus($('signin-msg'), msg || '', msg ? 'error' : null);
    $('signin-token').value = '';
    $('signin-token').focus();
  }

  async function signin(ev) {
    ev.preventDefault();
    const token = $('signin-token').value.trim();
    if (!token) return;
    S.token = token;
    try {
      S.me = await api('GET', '/v1/me');
    } catch (e) {
      S.token = '';
      setStatus($('signin-msg'), e.status === 401 ? '令牌无效，请检查后重试。' : explain(e), 'error');
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    enterApp();
  }

  function signout() {
    sessionStorage.removeItem(TOKEN_KEY);
    S.token = '';
    showSignin('已退出登录。');
  }

  function allowedViews() {
    return (S.me && VIEWS_BY_ROLE[S.me.role]) || ['agent'];
  }

  function enterApp() {
    $('view-signin').hidden = true;
    const me = S.me;
    $('who').textContent = me.local_only ? `本地模式 · ${label('role', me.role)}` : `${me.name} · ${label('role', me.role)}`;
    $('signout').hidden = !!me.local_only;
    const allowed = allowedViews();
    for (const a of $('nav').querySelectorAll('a')) a.hidden = !allowed.includes(a.dataset.view);
    $('override-form').hidden = me.role !== 'compliance';
    $('nav').hidden = allowed.length < 2;
    route(false);
  }

  function route(moveFocus) {
    if (!S.me) return;
    const allowed = allowedViews();
    let view = location.hash.replace(/^#/, '') || 'agent';
    if (!allowed.includes(view)) {
      if (['agent', 'review', 'audit'].includes(view)) banner(`当前角色「${label('role', S.me.role)}」无权访问该页面。`);
      view = allowed[0];
    }
    for (const v of ['agent', 'review', 'audit']) $('view-' + v).hidden = v !== view;
    for (const a of $('nav').querySelectorAll('a')) {
      if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const entered = S.view !== view;
    S.view = view;
    if (entered && view === 'review') loadReview();
    if (entered && view === 'audit') {
      loadAudit();
      verifyChain();
    }
    if (moveFocus) $('main').focus();
  }

  // ---------- agent view ----------

  function renderConversationPreview() {
    const box = $('conv-preview');
    box.textContent = '';
    for (const t of L.parseConversation($('conv-text').value)) {
      box.append(el('div', { class: 'turn ' + t.role }, el('b', { text: t.role === 'customer' ? '顾客' : '客服' }), t.text));
    }
  }

  function suggestBody() {
    const turns = L.parseConversation($('conv-text').value);
    const body = { conversation: turns, stream: true };
    if ($('platform').value) body.platform = $('platform').value;
    if ($('sku').value.trim()) body.sku = $('sku').value.trim();
    const facts = L.parseFacts($('facts').value);
    if (Object.keys(facts).length) body.order_facts = facts;
    return body;
  }

  async function suggest(ev) {
    if (ev) ev.preventDefault();
    const body = suggestBody();
    const status = $('draft-status');
    if (!body.conversation.length) {
      setStatus(status, '请先填写对话内容。', 'error');
      $('conv-text').focus();
      return;
    }
    if (S.suggestCtl) S.suggestCtl.abort();
    const ctl = new AbortController();
    S.suggestCtl = ctl;
    S.facts = body.order_facts || {};
    const stream = $('stream');
    stream.textContent = '';
    stream.hidden = false;
    stream.setAttribute('aria-busy', 'true');
    $('draft-body').hidden = true;
    $('draft-meta').hidden = true;
    $('suggest-btn').disabled = true;
    $('suggest-cancel').hidden = false;
    setStatus(status, '正在生成草稿…');
    try {
      const res = await send('POST', '/v1/suggest', body, { signal: ctl.signal, headers: { Accept: 'text/event-stream' } });
      let draft;
      if ((res.headers.get('content-type') || '').includes('text/event-stream')) {
        draft = await readSuggestStream(res, stream);
      } else {
        draft = await res.json();
      }
      if (S.suggestCtl !== ctl) return;
      banner('');
      showDraft(draft);
    } catch (e) {
      if (!stream.textContent) stream.hidden = true;
      if (e.name === 'AbortError') {
        setStatus(status, '已停止生成。');
      } else {
        fail(e, status);
      }
    } finally {
      if (S.suggestCtl === ctl) {
        S.suggestCtl = null;
        $('suggest-btn').disabled = false;
        $('suggest-cancel').hidden = true;
        stream.setAttribute('aria-busy', 'false');
      }
    }
  }

  /** Reads `delta` events into the stream box; resolves with the `draft` event's Suggestion. */
  async function readSuggestStream(res, box) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let draft = null;
    let failure = null;
    const parser = L.SseParser((ev) => {
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch (_) {
        if (ev.event !== 'delta') failure = new ApiError(500, 'internal', '服务器返回了无法解析的事件。');
        return;
      }
      if (ev.event === 'delta' && data && typeof data.text === 'string') box.textContent += data.text;
      else if (ev.event === 'draft') draft = data;
      else if (ev.event === 'error') {
        const err = (data && data.error) || {};
        failure = new ApiError(CODE_STATUS[err.code] || 500, err.code || 'internal', err.message || '');
      }
    });
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    parser.push(decoder.decode());
    parser.end();
    if (failure) throw failure;
    if (!draft) throw new ApiError(0, 'stream_ended', '连接在草稿完成前中断，请重试。');
    return draft;
  }

  function showDraft(d) {
    S.draft = d;
    S.grounding = null;
    const pending = d.status === 'pending';
    const text = pending ? d.text : d.final_text || d.text;
    S.checked = { text, findings: pending ? d.findings || [] : [], verdict: pending ? d.verdict : 'pass' };
    S.checkSeq++;
    $('stream').hidden = true;
    $('draft-body').hidden = false;
    $('draft-body').dataset.draftId = d.id;
    renderMeta(d);
    $('draft-text').value = text;
    $('draft-text').readOnly = !pending;
    $('reject-reason').value = '';
    $('override-reason').value = '';
    renderSources(d.sources || []);
    renderCheck();
    const notes = [];
    notes.push(`建议草稿已生成（原文${label('verdict', d.verdict)}，${(d.findings || []).length} 条合规提示）。`);
    if (d.needs_human) notes.push('建议人工处理。');
    if (d.fallback_reason) notes.push(`抽取模式（${d.fallback_reason}）。`);
    if (!pending) notes.push(`该草稿${label('status', d.status)}。`);
    setStatus($('draft-status'), notes.join(' '));
    if (pending) loadGrounding(d);
  }

  function renderMeta(d) {
    const meta = $('draft-meta');
    meta.textContent = '';
    const item = (k, v) => meta.append(el('div', {}, el('dt', { text: k }), el('dd', {}, v)));
    item('模式', label('mode', d.mode));
    item('场景', label('scenario', d.scenario));
    item('情绪', label('emotion', d.emotion));
    item('需人工', d.needs_human ? badge('', 'block', '是') : '否');
    item('状态', label('status', d.status));
    item('草稿', el('span', { class: 'mono', title: d.id, text: shortId(d.id) }));
    if (d.model) item('模型', `${d.provider || ''} ${d.model}`.trim());
    item('耗时', `${d.latency_ms ?? '—'} ms`);
    const t = d.timings && typeof d.timings === 'object' ? Object.entries(d.timings) : [];
    if (t.length) {
      const parts = t.map(([k, v]) => {
        const key = k.replace(/_ms$/, '');
        return `${LABELS.timing[key] || key} ${typeof v === 'number' ? Math.round(v * 10) / 10 : v}`;
      });
      item('各步耗时(ms)', parts.join(' · '));
    }
    meta.hidden = false;
  }

  function renderSources(sources) {
    const ul = $('sources');
    ul.textContent = '';
    if (!sources.length) {
      ul.append(el('li', { class: 'muted', text: '无参考资料：此草稿没有知识库依据，请谨慎核对。' }));
      return;
    }
    for (const s of sources) {
      ul.append(
        el('li', {},
          el('button', { type: 'button', 'aria-label': `查看资料：${s.title}`, onclick: () => openSnippet(s.id) }, '查看'),
          ' ', s.title || s.id, ' ',
          s.expired ? badge('', 'warn', '已过期') : null,
          el('span', { class: 'muted mono', text: ' ' + s.id })),
      );
    }
  }

  async function fetchSnippet(id) {
    if (!S.snippets.has(id)) {
      const p = api('GET', '/v1/knowledge/snippets/' + encodeURIComponent(id));
      S.snippets.set(id, p);
      p.catch(() => S.snippets.delete(id));
    }
    return S.snippets.get(id);
  }

  async function openSnippet(id) {
    const dlg = $('snippet-dialog');
    $('snippet-title').textContent = '参考资料';
    $('snippet-meta').textContent = id;
    $('snippet-text').textContent = '加载中…';
    if (!dlg.open) dlg.showModal();
    try {
      const s = await fetchSnippet(id);
      $('snippet-title').textContent = s.title || id;
      $('snippet-meta').textContent = [s.kind, s.doc_id, s.source].filter(Boolean).join(' · ');
      $('snippet-text').textContent = s.text;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        dlg.close();
        fail(e);
        return;
      }
      $('snippet-text').textContent = explain(e);
    }
  }

  /** Snippet texts and order facts, so re-checks ground numbers as the suggestion was grounded. */
  async function loadGrounding(d) {
    const sources = d.sources || [];
    if (!sources.length) return;
    try {
      // Same shape as the pipeline's grounding: "title\ntext" per snippet, "key：value" per fact.
      const texts = await Promise.all(sources.map((s) => fetchSnippet(s.id).then((x) => `${x.title}\n${x.text}`)));
      if (S.draft !== d) return;
      S.grounding = texts.concat(Object.entries(S.facts).map(([k, v]) => `${k}：${v}`));
    } catch (_) {
      // Without all texts a re-check skips grounding rather than flag every number.
      S.grounding = null;
    }
  }

  function renderMarked(box, text, findings) {
    box.textContent = '';
    let n = 0;
    for (const seg of L.segment(text, findings)) {
      if (!seg.findings.length) {
        box.append(seg.text);
        continue;
      }
      const tipId = `${box.id || 'm'}-tip-${n++}`;
      const tip = el('span', { class: 'tip', role: 'tooltip', id: tipId });
      seg.findings.forEach((f, i) => {
        if (i) tip.append(el('br'));
        tip.append(`【${label('severity', f.severity)}】${f.message || f.rule}`);
        if (f.suggestion) tip.append(`；建议：${f.suggestion}`);
      });
      box.append(el('mark', { class: seg.severity, tabindex: '0', 'aria-describedby': tipId, 'data-rule': seg.findings.map((f) => f.rule).join(' ') }, seg.text, tip));
    }
  }

  /** Renders the last checked text with its findings, and what the actions may do now. */
  function renderCheck() {
    const d = S.draft;
    if (!d) return;
    const { text, findings, verdict } = S.checked;
    renderMarked($('marked'), text, findings);
    const stale = $('draft-text').value !== text;
    const line = $('verdict-line');
    line.textContent = '';
    line.append('合规结论：', badge('verdict', verdict));
    if (stale) line.append(el('span', { class: 'muted', text: ' 检查中…' }));
    const ul = $('findings');
    ul.textContent = '';
    findings.forEach((f) => {
      const chars = L.chars(text);
      const current = chars.slice(f.start, f.end).join('');
      const li = el('li', { class: f.severity },
        badge('severity', f.severity), ' ',
        el('strong', { text: `「${f.matched || current}」` }), ' ', f.message || '',
        f.suggestion ? el('span', { class: 'muted', text: ` 建议：${f.suggestion}` }) : null,
        el('span', { class: 'muted mono', text: ` ${f.rule}` }));
      ul.append(li);
    });
    updateActions(stale);
  }

  function updateActions(stale) {
    const d = S.draft;
    const pending = d && d.status === 'pending';
    const blocked = S.checked.verdict === 'block';
    // Only a compliance officer may override a blocking finding (the server enforces it too).
    const canOverride = S.me && S.me.role === 'compliance';
    const approve = $('approve-btn');
    approve.disabled = !pending || stale || blocked || !$('draft-text').value.trim();
    let why = '';
    if (!pending) why = `该草稿${label('status', d && d.status)}，不能再操作。`;
    else if (blocked) {
      const rules = S.checked.findings.filter((f) => f.severity === 'block').map((f) => `「${f.matched}」${f.message || ''}`);
      why = `不能通过：含拦截级问题 ${rules.join('；')}。请按提示修改。`;
    } else if (stale) why = '正在重新检查修改后的文本…';
    else if (!$('draft-text').value.trim()) why = '回复不能为空。';
    $('approve-why').textContent = why;
    approve.setAttribute('aria-describedby', 'approve-why');
    $('reject-btn').disabled = !pending;
    $('override-box').hidden = !(pending && blocked && !stale && canOverride);
  }

  function onDraftInput() {
    updateActions(true);
    renderVerdictChecking();
    recheckSoon();
  }

  function renderVerdictChecking() {
    const line = $('verdict-line');
    if (!line.querySelector('.muted')) line.append(el('span', { class: 'muted', text: ' 检查中…' }));
  }

  async function recheck() {
    if (!S.draft) return;
    const text = $('draft-text').value;
    const seq = ++S.checkSeq;
    if (S.checkCtl) S.checkCtl.abort();
    const ctl = new AbortController();
    S.checkCtl = ctl;
    const body = { text };
    if (S.grounding) body.sources = S.grounding;
    try {
      const r = await api('POST', '/v1/check', body, { signal: ctl.signal });
      if (seq !== S.checkSeq) return;
      S.checked = { text, findings: r.findings || [], verdict: r.verdict || L.verdictOf(r.findings) };
      renderCheck();
      if ($('draft-text').value !== text) recheckSoon();
    } catch (e) {
      if (e.name === 'AbortError' || seq !== S.checkSeq) return;
      fail(e, $('draft-status'));
    }
  }
  const recheckSoon = L.debounce(recheck, 400);

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (_) {
      // Clipboard API refused (no permission or not a secure context): fall back to a selection copy.
      const ta = el('textarea', { class: 'sr-only', 'aria-hidden': 'true' });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      let ok = false;
      try {
        ok = document.execCommand('copy');
      } catch (_e) {
        ok = false;
      }
      ta.remove();
      return ok;
    }
  }

  async function approveDraft(overrideReason) {
    const d = S.draft;
    const status = $('draft-status');
    const text = $('draft-text').value;
    if (!d || !text.trim()) return;
    const body = {};
    if (text !== d.text) body.text = text;
    if (overrideReason) body.override_reason = overrideReason;
    $('approve-btn').disabled = true;
    setStatus(status, '正在提交…');
    try {
      const r = await api('POST', `/v1/drafts/${encodeURIComponent(d.id)}/approve`, body);
      S.draft = r;
      const finalText = r.final_text || text;
      const copied = await copyText(finalText);
      renderMeta(r);
      $('draft-text').readOnly = true;
      updateActions(false);
      setStatus(status, `已${label('status', r.status)}。${copied ? '最终回复已复制到剪贴板，可直接粘贴发送。' : '无法自动复制，请手动复制最终回复。'}`, 'ok');
    } catch (e) {
      fail(e, status);
      updateActions($('draft-text').value !== S.checked.text);
    }
  }

  async function rejectDraft() {
    const d = S.draft;
    const reason = $('reject-reason').value.trim();
    const status = $('draft-status');
    if (!d) return;
    if (!reason) {
      setStatus(status, '请填写驳回原因。', 'error');
      $('reject-reason').focus();
      return;
    }
    try {
      const r = await api('POST', `/v1/drafts/${encodeURIComponent(d.id)}/reject`, { reason });
      S.draft = r;
      renderMeta(r);
      $('draft-text').readOnly = true;
      updateActions(false);
      setStatus(status, '已驳回。', 'ok');
    } catch (e) {
      fail(e, status);
    }
  }

  function overrideFromAgent() {
    const reason = $('override-reason').value.trim();
    if (!reason) {
      setStatus($('draft-status'), '放行必须写明理由。', 'error');
      $('override-reason').focus();
      return;
    }
    approveDraft(reason);
  }

  // ---------- review view ----------

  async function loadReview() {
    const st = $('review-status');
    const r = S.review;
    setStatus(st, '加载中…');
    try {
      const res = await api('GET', '/v1/drafts' + L.query({ status: 'pending', limit: r.limit }));
      r.drafts = res.drafts || [];
      renderReview();
      let msg = r.drafts.length ? `${r.drafts.length} 条待审核。` : '没有待审核的草稿。';
      // Decided drafts leave the queue, so refreshing brings the next ones.
      if (r.drafts.length >= r.limit) msg += `只显示前 ${r.limit} 条，处理后点“刷新”查看其余。`;
      setStatus(st, msg);
    } catch (e) {
      fail(e, st);
    }
  }

  function renderReview() {
    const r = S.review;
    const list = $('review-list');
    list.textContent = '';
    $('review-all').checked = false;
    for (const d of r.drafts) {
      const id = d.id;
      const lastCustomer = (d.conversation || []).filter((t) => t.role === 'customer').map((t) => t.text).pop() || '';
      // The highlighted copy only earns its space when there is something to highlight.
      let marked = null;
      if ((d.findings || []).length) {
        marked = el('div', { class: 'marked', id: 'rv-m-' + id });
        renderMarked(marked, d.text, d.findings);
      }
      const item = el('div', { class: 'review-item panel', 'data-id': id },
        el('div', { class: 'sel' }, el('input', { type: 'checkbox', id: 'rv-sel-' + id, 'aria-label': `选择草稿 ${shortId(id)}` })),
        el('div', {},
          el('div', { class: 'head' },
            el('span', { text: `坐席 ${d.agent}` }),
            el('span', { text: fmtTime(d.created_at) }),
            el('span', { text: label('scenario', d.scenario) }),
            badge('verdict', d.verdict),
            el('span', { text: label('mode', d.mode) }),
            d.needs_human ? badge('', 'block', '需人工') : null,
            el('span', { class: 'mono', text: id })),
          el('div', { class: 'conv', text: '顾客：' + lastCustomer }),
          marked,
          el('label', { for: 'rv-t-' + id, text: '回复文本（可修改后通过）' }),
          el('textarea', { id: 'rv-t-' + id, rows: '2' }),
          el('div', { class: 'result', id: 'rv-r-' + id, 'aria-live': 'polite' })));
      item.querySelector('textarea').value = d.text;
      list.append(item);
    }
  }

  function selectedReview() {
    return S.review.drafts.filter((d) => {
      const box = $('rv-sel-' + d.id);
      return box && box.checked && !box.disabled;
    });
  }

  async function bulk(kind) {
    const st = $('review-status');
    const chosen = selectedReview();
    if (!chosen.length) {
      setStatus(st, '请先勾选草稿。', 'error');
      return;
    }
    const reason = $('review-reason').value.trim();
    if (kind === 'reject' && !reason) {
      setStatus(st, '批量驳回需要填写原因。', 'error');
      $('review-reason').focus();
      return;
    }
    let ok = 0;
    let bad = 0;
    setStatus(st, `正在处理 ${chosen.length} 条…`);
    for (const d of chosen) {
      const out = $('rv-r-' + d.id);
      try {
        let r;
        if (kind === 'approve') {
          const text = $('rv-t-' + d.id).value;
          r = await api('POST', `/v1/drafts/${encodeURIComponent(d.id)}/approve`, text !== d.text ? { text } : {});
        } else {
          r = await api('POST', `/v1/drafts/${encodeURIComponent(d.id)}/reject`, { reason });
        }
        ok++;
        setStatus(out, `已${label('status', r.status)}`, 'ok');
        $('rv-sel-' + d.id).checked = false;
        $('rv-sel-' + d.id).disabled = true;
        $('rv-t-' + d.id).readOnly = true;
      } catch (e) {
        bad++;
        if (e instanceof ApiError && e.status === 401) return fail(e);
        setStatus(out, explain(e), 'error');
      }
    }
    setStatus(st, `完成：成功 ${ok} 条，失败 ${bad} 条。`, bad ? 'error' : 'ok');
  }

  // ---------- audit view ----------

  function auditFilters() {
    return {
      from: $('f-from').value,
      to: $('f-to').value,
      // Sent only when filled: `agent` = drafts suggested for that agent, `actor` = who acted.
      agent: $('f-agent').value.trim(),
      actor: $('f-actor').value.trim(),
      action: $('f-action').value,
      category: $('f-category').value,
      verdict: $('f-verdict').value,
    };
  }

  async function loadAudit() {
    const a = S.audit;
    const st = $('audit-status');
    setStatus(st, '加载中…');
    try {
      const res = await api('GET', '/v1/audit/events' + L.query(Object.assign(auditFilters(), { limit: a.limit, after: a.after })));
      a.events = res.events || [];
      a.nextAfter = res.next_after ?? null;
      renderAudit();
      setStatus(st, a.events.length ? `本页 ${a.events.length} 条事件。` : '没有符合条件的事件。');
    } catch (e) {
      fail(e, st);
    }
  }

  function eventVerdict(ev) {
    return ev.payload && typeof ev.payload.verdict === 'string' ? ev.payload.verdict : null;
  }

  function renderAudit() {
    const a = S.audit;
    const tbody = $('audit-table').querySelector('tbody');
    tbody.textContent = '';
    for (const ev of a.events) {
      const v = eventVerdict(ev);
      const tr = el('tr', { 'data-seq': String(ev.seq), class: a.selected === ev.seq ? 'selected' : null },
        el('td', { text: String(ev.seq) }),
        el('td', { text: fmtTime(ev.at) }),
        el('td', { text: `${ev.actor}（${label('role', ev.role)}）` }),
        el('td', { text: label('action', ev.action) }),
        el('td', {}, v ? badge('verdict', v) : '—'),
        el('td', { class: 'mono', text: ev.draft_id ? shortId(ev.draft_id) : '—', title: ev.draft_id || null }),
        el('td', {}, el('button', { type: 'button', 'aria-label': `查看第 ${ev.seq} 号事件详情`, onclick: () => showEvent(ev) }, '详情')));
      tbody.append(tr);
    }
    $('audit-prev').disabled = a.cursors.length === 0;
    $('audit-next').disabled = a.nextAfter === null;
    $('audit-page').textContent = `第 ${a.cursors.length + 1} 页`;
  }

  function renderDiff(from, to) {
    const box = el('div', { class: 'diff', 'aria-label': '草稿与发送文本的差异' });
    for (const op of L.diffChars(from, to)) {
      if (op.op === 'eq') box.append(op.text);
      else if (op.op === 'del') box.append(el('del', { title: '删除' }, el('span', { class: 'sr-only', text: '[删除]' }), op.text));
      else box.append(el('ins', { title: '新增' }, el('span', { class: 'sr-only', text: '[新增]' }), op.text));
    }
    return box;
  }

  function showEvent(ev) {
    S.audit.selected = ev.seq;
    for (const tr of $('audit-table').querySelectorAll('tbody tr')) tr.classList.toggle('selected', tr.dataset.seq === String(ev.seq));
    const p = ev.payload && typeof ev.payload === 'object' ? ev.payload : {};
    const body = $('event-body');
    body.textContent = '';
    const kv = el('dl', { class: 'kv' });
    const row = (k, v) => {
      if (v === undefined || v === null || v === '') return;
      kv.append(el('dt', { text: k }), el('dd', {}, v));
    };
    row('序号', String(ev.seq));
    row('时间', fmtTime(ev.at));
    row('操作人', `${ev.actor}（${label('role', ev.role)}）`);
    row('动作', label('action', ev.action));
    row('草稿 ID', ev.draft_id ? el('span', { class: 'mono', text: ev.draft_id }) : null);
    row('结论', eventVerdict(ev) ? badge('verdict', eventVerdict(ev)) : null);
    row('放行理由', p.override_reason);
    row('驳回原因', p.reason);
    row('编辑距离', p.edit_distance != null ? String(p.edit_distance) : null);
    row('来源', p.origin);
    row('哈希', el('span', { class: 'mono', text: ev.hash }));
    row('前一哈希', el('span', { class: 'mono', text: ev.prev_hash }));
    body.append(kv);
    if (typeof p.final_text === 'string') {
      const slot = el('div', { 'aria-live': 'polite' });
      body.append(el('h4', { text: '草稿 → 发送文本' }), slot);
      const show = (suggested) => {
        slot.textContent = '';
        slot.append(renderDiff(suggested, p.final_text),
          el('p', { class: 'muted', text: suggested === p.final_text ? '未修改。' : '红色删除线为草稿中删去的文字，绿色为坐席新增的文字。' }));
      };
      if (typeof p.text === 'string') show(p.text);
      else if (ev.draft_id) {
        // Decision events may carry only the final text: the suggested one is on the draft.
        slot.textContent = '加载草稿原文…';
        api('GET', '/v1/drafts/' + encodeURIComponent(ev.draft_id))
          .then((d) => {
            if (S.audit.selected === ev.seq) show(d.text);
          })
          .catch((e) => {
            if (S.audit.selected === ev.seq) slot.textContent = '无法加载草稿原文：' + explain(e);
          });
      } else {
        slot.append(el('div', { class: 'diff', text: p.final_text }));
      }
    } else if (typeof p.text === 'string') {
      body.append(el('h4', { text: '草稿文本' }), el('div', { class: 'diff', text: p.text }));
    }
    if (Array.isArray(p.findings) && p.findings.length) {
      const ul = el('ul', { class: 'findings' });
      for (const f of p.findings) ul.append(el('li', { class: f.severity }, badge('severity', f.severity), ` 「${f.matched}」${f.message || ''} `, el('span', { class: 'muted mono', text: f.rule })));
      body.append(el('h4', { text: '合规提示' }), ul);
    }
    body.append(el('details', {}, el('summary', { text: '原始数据' }), el('pre', { class: 'json', text: JSON.stringify(ev, null, 2) })));
    body.hidden = false;
    $('event-empty').hidden = true;
    if (ev.draft_id) $('ov-draft').value = ev.draft_id;
    $('event-detail').focus({ preventScroll: true });
    $('event-detail').scrollIntoView({ block: 'nearest' });
  }

  async function verifyChain() {
    const st = $('verify-status');
    setStatus(st, '正在校验审计链…');
    st.className = 'verify';
    try {
      const r = await api('GET', '/v1/audit/verify');
      if (r.ok) {
        st.textContent = `审计链完整：共 ${r.events} 条事件，哈希链校验通过。`;
        st.className = 'verify ok';
      } else {
        st.textContent = `审计链校验失败：自第 ${r.first_bad_seq} 号事件起不一致。${r.message || ''}`;
        st.className = 'verify bad';
      }
    } catch (e) {
      fail(e, st);
    }
  }

  async function exportAudit(format) {
    const st = $('audit-status');
    setStatus(st, '正在导出…');
    try {
      const res = await send('GET', '/v1/audit/export' + L.query(Object.assign({ format }, auditFilters())));
      const blob = await res.blob();
      const cd = res.headers.get('content-disposition') || '';
      const m = cd.match(/filename\*?=(?:UTF-8'')?"?([^";]+)"?/i);
      const name = m ? decodeURIComponent(m[1]) : `kefu-audit-${new Date().toISOString().slice(0, 10)}.${format}`;
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      setStatus(st, `已导出 ${name}。`, 'ok');
    } catch (e) {
      fail(e, st);
    }
  }

  async function overrideFromAudit(ev) {
    ev.preventDefault();
    const id = $('ov-draft').value.trim();
    const reason = $('ov-reason').value.trim();
    const msg = $('ov-msg');
    if (!id || !reason) {
      setStatus(msg, '请填写草稿 ID 和放行理由。', 'error');
      return;
    }
    try {
      const r = await api('POST', `/v1/drafts/${encodeURIComponent(id)}/approve`, { override_reason: reason });
      setStatus(msg, `已放行：草稿状态为「${label('status', r.status)}」，已写入审计记录。`, 'ok');
      $('ov-reason').value = '';
      loadAudit();
    } catch (e) {
      fail(e, msg);
    }
  }

  // ---------- wiring ----------

  function wire() {
    $('signin-form').addEventListener('submit', signin);
    $('signout').addEventListener('click', signout);
    window.addEventListener('hashchange', () => route(true));

    $('conv-text').addEventListener('input', L.debounce(renderConversationPreview, 150));
    $('suggest-form').addEventListener('submit', suggest);
    $('suggest-cancel').addEventListener('click', () => S.suggestCtl && S.suggestCtl.abort());
    $('view-agent').addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === 'Enter' && !$('draft-panel').contains(e.target)) {
        e.preventDefault();
        if (!$('suggest-btn').disabled) suggest();
      }
    });
    $('draft-text').addEventListener('input', onDraftInput);
    // A tooltip near the right edge opens leftwards so it stays on screen.
    const placeTip = (e) => {
      const mark = e.target.closest && e.target.closest('mark');
      if (mark) mark.classList.toggle('flip', mark.getBoundingClientRect().left + 420 > window.innerWidth);
    };
    document.addEventListener('mouseover', placeTip);
    document.addEventListener('focusin', placeTip);
    $('approve-btn').addEventListener('click', () => approveDraft(null));
    $('reject-btn').addEventListener('click', rejectDraft);
    $('override-btn').addEventListener('click', overrideFromAgent);

    $('review-refresh').addEventListener('click', loadReview);
    $('review-all').addEventListener('change', (e) => {
      for (const d of S.review.drafts) {
        const box = $('rv-sel-' + d.id);
        if (box && !box.disabled) box.checked = e.target.checked;
      }
    });
    $('review-approve').addEventListener('click', () => bulk('approve'));
    $('review-reject').addEventListener('click', () => bulk('reject'));

    $('audit-form').addEventListener('submit', (e) => {
      e.preventDefault();
      S.audit.after = null;
      S.audit.cursors = [];
      loadAudit();
    });
    $('audit-prev').addEventListener('click', () => {
      if (!S.audit.cursors.length) return;
      S.audit.after = S.audit.cursors.pop();
      loadAudit();
    });
    $('audit-next').addEventListener('click', () => {
      if (S.audit.nextAfter === null) return;
      S.audit.cursors.push(S.audit.after);
      S.audit.after = S.audit.nextAfter;
      loadAudit();
    });
    $('verify-btn').addEventListener('click', verifyChain);
    $('export-csv').addEventListener('click', () => exportAudit('csv'));
    $('export-jsonl').addEventListener('click', () => exportAudit('jsonl'));
    $('override-form').addEventListener('submit', overrideFromAudit);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
