// Pure helpers of the kefu console: no DOM, no network, so Node's test runner can load them too.
// Offsets are in Unicode code points, as the API's finding spans are (Array.from splits by code point).
(function (root) {
  'use strict';

  const SEVERITY_RANK = { info: 0, warn: 1, block: 2 };

  function chars(text) {
    return Array.from(text == null ? '' : String(text));
  }

  /** The verdict of a set of findings: the most severe one, `pass` when none. */
  function verdictOf(findings) {
    let worst = -1;
    for (const f of findings || []) worst = Math.max(worst, SEVERITY_RANK[f.severity] ?? 0);
    if (worst >= 2) return 'block';
    if (worst >= 1) return 'warn';
    return 'pass';
  }

  function worstSeverity(findings) {
    let best = null;
    for (const f of findings) {
      if (best === null || (SEVERITY_RANK[f.severity] ?? 0) > (SEVERITY_RANK[best] ?? 0)) best = f.severity;
    }
    return best;
  }

  /**
   * Splits `text` into runs at every finding boundary. Each run lists the findings covering it,
   * so overlapping spans still render as flat, non-nested marks. Spans are clamped to the text;
   * empty or inverted spans are ignored rather than trusted.
   */
  function segment(text, findings) {
    const cs = chars(text);
    const n = cs.length;
    const spans = [];
    (findings || []).forEach((f, index) => {
      const start = Math.max(0, Math.min(n, Number(f.start) | 0));
      const end = Math.max(0, Math.min(n, Number(f.end) | 0));
      if (end > start) spans.push({ start, end, finding: f, index });
    });
    const cuts = new Set([0, n]);
    for (const s of spans) {
      cuts.add(s.start);
      cuts.add(s.end);
    }
    const points = Array.from(cuts).sort((a, b) => a - b);
    const out = [];
    for (let i = 0; i + 1 < points.length; i++) {
      const a = points[i];
      const b = points[i + 1];
      const covering = spans.filter((s) => s.start <= a && s.end >= b);
      out.push({
        text: cs.slice(a, b).join(''),
        start: a,
        end: b,
        findings: covering.map((s) => s.finding),
        indexes: covering.map((s) => s.index),
        severity: covering.length ? worstSeverity(covering.map((s) => s.finding)) : null,
      });
    }
    return out;
  }

  /** Replaces the code-point span [start, end) of `text` with `replacement`. */
  function replaceSpan(text, start, end, replacement) {
    const cs = chars(text);
    return cs.slice(0, start).join('') + replacement + cs.slice(end).join('');
  }

  /**
   * Character-level diff (longest common subsequence) from `a` to `b`, as runs of
   * {op: 'eq' | 'del' | 'ins', text}. The common prefix and suffix are cut first; when the
   * middle is still too large for the quadratic table it is shown as one deletion and one insertion.
   */
  function diffChars(a, b, maxCells) {
    const limit = maxCells || 4000000;
    const x = chars(a);
    const y = chars(b);
    let pre = 0;
    while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre++;
    let suf = 0;
    while (suf < x.length - pre && suf < y.length - pre && x[x.length - 1 - suf] === y[y.length - 1 - suf]) suf++;
    const xm = x.slice(pre, x.length - suf);
    const ym = y.slice(pre, y.length - suf);
    const ops = [];
    const push = (op, ch) => {
      const last = ops[ops.length - 1];
      if (last && last.op === op) last.text += ch;
      else ops.push({ op, text: ch });
    };
    for (let i = 0; i < pre; i++) push('eq', x[i]);
    const n = xm.length;
    const m = ym.length;
    if (n * m > limit) {
      for (const c of xm) push('del', c);
      for (const c of ym) push('ins', c);
    } else if (n > 0 || m > 0) {
      // lcs[i][j] = LCS length of xm[i..] and ym[j..], in one flat array.
      const w = m + 1;
      const lcs = new Uint32Array((n + 1) * w);
      for (let i = n - 1; i >= 0; i--) {
        for (let j = m - 1; j >= 0; j--) {
          lcs[i * w + j] = xm[i] === ym[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
        }
      }
      let i = 0;
      let j = 0;
      while (i < n && j < m) {
        if (xm[i] === ym[j]) {
          push('eq', xm[i]);
          i++;
          j++;
        } else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
          push('del', xm[i++]);
        } else {
          push('ins', ym[j++]);
        }
      }
      while (i < n) push('del', xm[i++]);
      while (j < m) push('ins', ym[j++]);
    }
    for (let i = x.length - suf; i < x.length; i++) push('eq', x[i]);
    return ops;
  }

  const CUSTOMER = /^(顾客|买家|客户|用户|customer|c)\s*[:：]\s*/i;
  const AGENT = /^(客服|坐席|卖家|商家|店家|agent|a)\s*[:：]\s*/i;

  /**
   * Parses a pasted conversation: one turn per line, prefixed `顾客：` / `客服：` (or 买家/卖家/坐席…).
   * A line without a prefix continues the turn above it; a first line without one is the customer's.
   */
  function parseConversation(text) {
    const turns = [];
    for (const raw of String(text || '').split(/\r?\n/)) {
      const line = raw.trim();
      if (!line) continue;
      let m;
      if ((m = line.match(CUSTOMER))) turns.push({ role: 'customer', text: line.slice(m[0].length).trim() });
      else if ((m = line.match(AGENT))) turns.push({ role: 'agent', text: line.slice(m[0].length).trim() });
      else if (turns.length) turns[turns.length - 1].text += (turns[turns.length - 1].text ? '\n' : '') + line;
      else turns.push({ role: 'customer', text: line });
    }
    return turns.filter((t) => t.text.length > 0);
  }

  /** `key=value` or `key：value` lines to an object (order facts). */
  function parseFacts(text) {
    const facts = {};
    for (const raw of String(text || '').split(/\r?\n/)) {
      const line = raw.trim();
      if (!line) continue;
      const m = line.match(/^([^=:：]+)[=:：](.*)$/);
      if (m && m[1].trim()) facts[m[1].trim()] = m[2].trim();
    }
    return facts;
  }

  /**
   * Incremental Server-Sent Events parser (the subset the API uses: `event:` and `data:` fields,
   * comments, CRLF or LF). Feed it decoded text chunks; it calls onEvent({event, data}) per event.
   */
  function SseParser(onEvent) {
    let buffer = '';
    let event = '';
    let data = [];
    function line(l) {
      if (l === '') {
        if (data.length || event) onEvent({ event: event || 'message', data: data.join('\n') });
        event = '';
        data = [];
        return;
      }
      if (l[0] === ':') return;
      const colon = l.indexOf(':');
      const field = colon < 0 ? l : l.slice(0, colon);
      let value = colon < 0 ? '' : l.slice(colon + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    return {
      push(chunk) {
        buffer += chunk;
        let idx;
        while ((idx = buffer.search(/\r\n|\r|\n/)) >= 0) {
          // A lone trailing \r may be the first half of \r\n: wait for the next chunk.
          if (buffer[idx] === '\r' && idx === buffer.length - 1) break;
          const len = buffer[idx] === '\r' && buffer[idx + 1] === '\n' ? 2 : 1;
          const l = buffer.slice(0, idx);
          buffer = buffer.slice(idx + len);
          line(l);
        }
      },
      end() {
        if (buffer) line(buffer.replace(/\r$/, ''));
        buffer = '';
        line('');
      },
    };
  }

  function debounce(fn, ms) {
    let timer = null;
    const wrapped = function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), ms);
    };
    wrapped.cancel = () => clearTimeout(timer);
    return wrapped;
  }

  /** Query string from an object, skipping empty values. */
  function query(params) {
    const parts = [];
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined || v === null || v === '') continue;
      parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
    }
    return parts.length ? '?' + parts.join('&') : '';
  }

  const api = {
    chars,
    verdictOf,
    segment,
    replaceSpan,
    diffChars,
    parseConversation,
    parseFacts,
    SseParser,
    debounce,
    query,
  };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  else root.KefuLib = api;
})(typeof window !== 'undefined' ? window : globalThis);
