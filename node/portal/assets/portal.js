// The subject portal. The subject's key is a non-extractable WebCrypto key
// kept in IndexedDB; every check runs in cmd/portalverify (Go, compiled to
// WebAssembly), the code `creditnode subject inquiries --verify` runs.
'use strict';

const T = {
  en: {
    skip: 'Skip to content', title: 'Who looked me up?', keyTitle: 'Your key',
    keyHelp: 'Choose your key file (subject.key, made by creditnode subject keygen) and your certificate (subject.cert, from your registrar). The key stays in this browser: it is stored as a non-extractable key and never sent anywhere.',
    keyFiles: 'Key and certificate files', import: 'Import', subject: 'Subject', registrar: 'Certified by',
    certState: 'Certificate', read: 'Read my inquiry logs', forget: 'Forget this key', providersTitle: 'Providers',
    timelineTitle: 'Timeline', provider: 'Provider', purpose: 'Purpose', decision: 'Decision', all: 'All',
    allow: 'allowed', deny: 'denied', from: 'From', to: 'To', exportCSV: 'Export CSV', exportJSON: 'Export JSON',
    time: 'Time', inquirer: 'Inquirer', categories: 'Categories', decisionReason: 'Decision and reason',
    verification: 'Verification', consentTitle: 'Consents', requester: 'Who may ask (member)',
    categoriesHelp: 'Categories (comma-separated)', providersHelp: 'Providers it may be used at (comma-separated member ids)', days: 'Valid for (days)', uses: 'Uses', grant: 'Sign consent',
    token: 'Consent token (give it to the bank)', copy: 'Copy', download: 'Download consent.jws',
    granted: 'Granted from this browser', revoke: 'Revoke at the providers', revoked: 'revoked',
    footer: 'Verification runs in your browser. Each provider is asked directly; the node serving this page sees none of their answers.',
    loading: 'Loading the verifier…', ready: 'Registry verified: federation {f}, serial {s}, valid until {d}.',
    registryBad: 'The federation registry did NOT verify: {e}', federation: 'Federation {f}',
    noFiles: 'Choose your key file and your certificate file.', keyBad: 'This key file cannot be read: {e}',
    certBad: 'The certificate does not verify: {e}', keyMismatch: 'The certificate certifies another key than this key file.',
    imported: 'Key imported for {s}. It cannot be exported from this browser.', certValid: 'valid until {d}',
    reading: 'Asking {n} providers…', readDone: 'Read {n} entries from {p} providers.',
    verified: 'Verified: {c} entries are all of yours up to checkpoint size {s}; witnesses: {w}.',
    pendingNote: '{p} newer entries pending.', pagesNote: 'Read in {n} pages, checked together.', failed: 'Verification FAILED ({c}): {e}',
    unreachable: 'Could not read: {e}', rejected: 'Answer rejected: {e}', ok: '✓ verified', pending: '… pending',
    bad: '✗ not verified', caption: '{n} of {t} entries', none: 'none', forgotten: 'Key removed from this browser.',
    consentMade: 'Consent {id} signed. Give the token to {r}.', revokedAt: 'Consent {id} revoked at {p}.',
    revokeFailed: 'Revoking {id} at {p} failed: {e}', copied: 'Copied.', selfRead: 'your own read',
    newKeyTitle: 'No key yet?', newKeyHelp: 'Create a key in this browser (it can never be exported). Give the enrolment request below to your registrar, who checks your identity and gives you a certificate (subject.cert); import that certificate above.',
    generate: 'Create a key in this browser', enrolRequest: 'Enrolment request (subject.key.jwk)', enrolDownload: 'Download subject.key.jwk',
    generated: 'Key {kid} created in this browser. Give the enrolment request to your registrar, then import the certificate.',
    kinds: { subject_read: 'you read your log', revocation: 'you revoked a consent', query: 'query', objection: 'you objected', repair: 'you applied for credit repair', rights_status: 'you read your objections' },
    objTitle: 'Objections and credit repair', objHelp: 'Object to one of your records at a provider: the record is flagged disputed and the provider must answer within 20 days. Or apply for credit repair of a negative record you have corrected.',
    kind: 'Request', kindObjection: 'Objection', kindRepair: 'Credit repair', repairFiled: 'Repair application {id} sent to {p}.',
    st_pending: 'pending', st_approved: 'approved', st_rejected: 'rejected',
    category: 'Category', record: 'Record id', reason: 'Reason', file: 'Send', refresh: 'Show my objections and repairs',
    status: 'Status', filed: 'Filed', due: 'Answer due by', outcome: 'Outcome', overdue: 'OVERDUE',
    objFiled: 'Objection {id} filed at {p}; the answer is due by {d}.', objFailed: 'The objection was not filed: {e}',
    st_open: 'open', st_corrected: 'corrected', st_removed: 'removed', st_upheld: 'upheld',
    repTitle: 'My credit report', repHelp: 'Ask a provider for every record it holds on you, signed by it. Each report uses one of your free reports of the year at that provider; reading your inquiry log is free.',
    repRequest: 'Get my credit report', repAsking: 'Asking {n} providers for your credit report…', repDone: 'Credit reports: {ok} verified, {bad} not verified, {ref} refused.',
    repVerified: 'Signed by {p} and verified: {n} records, issued {d}.', repFailed: 'Verification FAILED: {e}. The records below are what the provider sent; they are not verified.',
    repRefused: 'Refused ({c}): {e}', repExhausted: 'No free reports left this year at {p}.',
    repNone: 'No records.', disputed: 'Disputed', yes: 'yes — under your objection', no: 'no', details: 'Details',
    repJWS: 'Download the signed report ({f})', repJSON: 'Download the verified JSON ({f})', repReceipt: 'Logged at {p} as entry {i}.',
  },
  zh: {
    skip: '跳到正文', title: '谁查询了我？', keyTitle: '您的密钥',
    keyHelp: '请选择您的密钥文件（subject.key，由 creditnode subject keygen 生成）和证书（subject.cert，由登记机关签发）。密钥只保存在本浏览器中，不可导出，也不会被发送到任何地方。',
    keyFiles: '密钥和证书文件', import: '导入', subject: '主体', registrar: '认证机关',
    certState: '证书', read: '读取我的查询记录', forget: '删除此密钥', providersTitle: '数据提供方',
    timelineTitle: '时间线', provider: '提供方', purpose: '用途', decision: '决定', all: '全部',
    allow: '允许', deny: '拒绝', from: '起', to: '止', exportCSV: '导出 CSV', exportJSON: '导出 JSON',
    time: '时间', inquirer: '查询机构', categories: '数据类别', decisionReason: '决定及原因',
    verification: '验证', consentTitle: '授权', requester: '可查询的成员',
    categoriesHelp: '数据类别（逗号分隔）', providersHelp: '可使用的数据提供方（成员编号，逗号分隔）', days: '有效期（天）', uses: '次数', grant: '签署授权',
    token: '授权令牌（交给银行）', copy: '复制', download: '下载 consent.jws',
    granted: '本浏览器签署的授权', revoke: '在提供方撤销', revoked: '已撤销',
    footer: '验证在您的浏览器中进行。浏览器直接询问每个提供方；提供本页面的节点看不到它们的回答。',
    loading: '正在加载验证程序…', ready: '名册已验证：联盟 {f}，序号 {s}，有效期至 {d}。',
    registryBad: '联盟名册验证失败：{e}', federation: '联盟 {f}',
    noFiles: '请选择密钥文件和证书文件。', keyBad: '无法读取此密钥文件：{e}',
    certBad: '证书验证失败：{e}', keyMismatch: '证书认证的不是此密钥。',
    imported: '已为 {s} 导入密钥。该密钥无法从本浏览器导出。', certValid: '有效期至 {d}',
    reading: '正在询问 {n} 个提供方…', readDone: '从 {p} 个提供方读取了 {n} 条记录。',
    verified: '已验证：截至检查点 {s}，这 {c} 条是您的全部记录；见证：{w}。',
    pendingNote: '另有 {p} 条较新的记录待验证。', pagesNote: '分 {n} 页读取，合并验证。', failed: '验证失败（{c}）：{e}',
    unreachable: '无法读取：{e}', rejected: '回答被拒绝：{e}', ok: '✓ 已验证', pending: '… 待验证',
    bad: '✗ 未验证', caption: '共 {t} 条，显示 {n} 条', none: '无', forgotten: '已从本浏览器删除密钥。',
    consentMade: '授权 {id} 已签署。请将令牌交给 {r}。', revokedAt: '授权 {id} 已在 {p} 撤销。',
    revokeFailed: '在 {p} 撤销 {id} 失败：{e}', copied: '已复制。', selfRead: '您本人的查询',
    newKeyTitle: '还没有密钥？', newKeyHelp: '在本浏览器中创建密钥（永远无法导出）。将下面的登记申请交给登记机关，登记机关核实您的身份后会给您一份证书（subject.cert）；请在上方导入该证书。',
    generate: '在本浏览器中创建密钥', enrolRequest: '登记申请（subject.key.jwk）', enrolDownload: '下载 subject.key.jwk',
    generated: '已在本浏览器中创建密钥 {kid}。请将登记申请交给登记机关，然后导入证书。',
    kinds: { subject_read: '您读取了记录', revocation: '您撤销了授权', query: '查询', objection: '您提出了异议', repair: '您申请了信用修复', rights_status: '您查看了异议' },
    objTitle: '异议与信用修复', objHelp: '对提供方的某条记录提出异议：该记录将被标记为有争议，提供方须在 20 日内答复。也可对已纠正的失信记录申请信用修复。',
    kind: '申请', kindObjection: '异议', kindRepair: '信用修复', repairFiled: '信用修复申请 {id} 已提交至 {p}。',
    st_pending: '待处理', st_approved: '已批准', st_rejected: '已驳回',
    category: '数据类别', record: '记录编号', reason: '理由', file: '提交', refresh: '查看我的异议和修复申请',
    status: '状态', filed: '提出时间', due: '答复期限', outcome: '处理结果', overdue: '已逾期',
    objFiled: '异议 {id} 已提交至 {p}；答复期限为 {d}。', objFailed: '异议未能提交：{e}',
    st_open: '处理中', st_corrected: '已更正', st_removed: '已删除', st_upheld: '维持原记录',
    repTitle: '我的信用报告', repHelp: '向提供方索取其持有的关于您的全部记录（由其签名）。每份报告占用您在该提供方本年度的一次免费报告；读取查询记录免费。',
    repRequest: '获取我的信用报告', repAsking: '正在向 {n} 个提供方索取信用报告…', repDone: '信用报告：{ok} 份已验证，{bad} 份未验证，{ref} 份被拒绝。',
    repVerified: '由 {p} 签名并已验证：{n} 条记录，出具时间 {d}。', repFailed: '验证失败：{e}。以下记录为提供方发送的内容，未经验证。',
    repRefused: '被拒绝（{c}）：{e}', repExhausted: '您今年在 {p} 的免费报告已用完。',
    repNone: '无记录。', disputed: '有争议', yes: '是——您的异议处理中', no: '否', details: '内容',
    repJWS: '下载签名报告（{f}）', repJSON: '下载已验证的 JSON（{f}）', repReceipt: '已记入 {p} 的日志，第 {i} 条。',
  },
};

const $ = (id) => document.getElementById(id);
const state = { lang: 'en', reg: null, members: [], identity: null, entries: [], providers: {}, config: null, statusKey: null };

function t(key, vars) {
  let s = T[state.lang][key] ?? T.en[key] ?? key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replaceAll('{' + k + '}', String(v));
  return s;
}
function locale() { return state.lang === 'zh' ? 'zh-CN' : (navigator.language && navigator.language.startsWith('en') ? navigator.language : 'en'); }
function fmtDate(d) { return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'medium' }).format(d); }
function say(key, vars) { state.statusKey = [key, vars]; $('status').textContent = t(key, vars); }

function applyLang() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  const b = $('lang');
  b.textContent = state.lang === 'zh' ? 'English' : '中文';
  b.lang = state.lang === 'zh' ? 'en' : 'zh';
  if (state.statusKey) say(...state.statusKey);
  if (state.reg) $('federation').textContent = t('federation', { f: state.reg.federation });
  showIdentity(); renderProviders(); renderTimeline(); renderConsents(); renderObjections(); renderReports();
}

// --- IndexedDB: the key (a CryptoKey, structured-cloned, not extractable) and consents.
function db() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open('creditnode-portal', 1);
    r.onupgradeneeded = () => { r.result.createObjectStore('identity'); r.result.createObjectStore('consents', { keyPath: 'id' }); };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
async function idb(store, mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction(store, mode);
    const req = fn(tx.objectStore(store));
    tx.oncomplete = () => resolve(req && req.result);
    tx.onerror = () => reject(tx.error);
  });
}

const V = () => globalThis.creditnodeVerifier;
function call(name, ...args) {
  const out = JSON.parse(V()[name](...args));
  if (out && out.error) throw new Error(out.error);
  return out;
}
async function callAsync(name, ...args) {
  const out = JSON.parse(await V()[name](...args));
  if (out && out.error) throw new Error(out.error);
  return out;
}
function signer() {
  const key = state.identity.privateKey;
  return (bytes) => crypto.subtle.sign({ name: 'Ed25519' }, key, bytes);
}

async function start() {
  state.lang = localStorage.getItem('portal-lang') || (navigator.language && navigator.language.startsWith('zh') ? 'zh' : 'en');
  applyLang();
  say('loading');
  const go = new Go();
  const wasm = await WebAssembly.instantiateStreaming(fetch('verify.wasm'), go.importObject);
  go.run(wasm.instance);
  const cfg = await (await fetch('config.json', { cache: 'no-store' })).json();
  state.config = cfg;
  const tok = await (await fetch(cfg.registry, { cache: 'no-store' })).text();
  try {
    state.reg = call('loadRegistry', tok.trim(), JSON.stringify(cfg.authority_jwk), Date.now());
  } catch (e) { say('registryBad', { e: e.message }); document.body.dataset.ready = 'registry-failed'; return; }
  state.members = state.reg.members.filter((m) => m.public_endpoint);
  say('ready', { f: state.reg.federation, s: state.reg.serial, d: fmtDate(new Date(state.reg.expires_at)) });
  fillMembers();
  state.identity = await idb('identity', 'readonly', (s) => s.get('subject')) || null;
  state.pending = await idb('identity', 'readonly', (s) => s.get('pending')) || null;
  showPending();
  applyLang();
  document.body.dataset.readyMs = performance.now().toFixed(1);
  document.body.dataset.ready = 'yes';
}

function fillMembers() {
  const sel = $('c-requester'); sel.replaceChildren();
  for (const m of state.members) sel.append(new Option(`${m.organisation} (${m.id})`, m.id));
  const op = $('o-provider'); op.replaceChildren();
  for (const m of state.members) op.append(new Option(`${m.organisation} (${m.id})`, m.id));
  const fp = $('f-provider');
  for (const m of state.members) fp.append(new Option(m.organisation, m.id));
  const rp = $('r-provider');
  for (const m of state.members) rp.append(new Option(`${m.organisation} (${m.id})`, m.id));
}

function showIdentity() {
  const id = state.identity;
  $('no-key').hidden = !!id; $('has-key').hidden = !id;
  if (!id || !state.reg) return;
  $('subject').textContent = id.subject;
  $('registrar').textContent = orgOf(id.registrar);
  try {
    const c = call('certInfo', id.cert, id.x, Date.now());
    $('cert-state').textContent = t('certValid', { d: fmtDate(new Date(c.expires_at * 1000)) });
    $('cert-state').className = 'mark-ok';
  } catch (e) { $('cert-state').textContent = e.message; $('cert-state').className = 'mark-bad'; }
}
function orgOf(id) { const m = state.reg && state.reg.members.find((x) => x.id === id); return m ? `${m.organisation} (${id})` : id; }

function pemToDER(pem) {
  const b64 = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function importFiles() {
  const files = [...$('key-files').files];
  let pem = null, cert = null;
  for (const f of files) {
    const txt = (await f.text()).trim();
    if (txt.includes('-----BEGIN PRIVATE KEY-----')) pem = txt;
    else if (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(txt)) cert = txt;
  }
  if (!pem && cert && state.pending) { await completePending(cert); return; }
  if (!pem || !cert) { say('noFiles'); return; }
  let pub;
  try { pub = call('openKey', pem); } catch (e) { say('keyBad', { e: e.message }); return; }
  let info;
  try { info = call('certInfo', cert, pub.x, Date.now()); } catch (e) { say('certBad', { e: e.message }); return; }
  if (!info.key_matches) { say('keyMismatch'); return; }
  // Non-extractable: from here on the browser signs with it and nobody can read it back.
  const privateKey = await crypto.subtle.importKey('pkcs8', pemToDER(pem), { name: 'Ed25519' }, false, ['sign']);
  pem = null;
  $('key-files').value = '';
  state.identity = { privateKey, x: pub.x, kid: pub.kid, cert, subject: info.subject, registrar: info.registrar };
  await idb('identity', 'readwrite', (s) => s.put(state.identity, 'subject'));
  say('imported', { s: info.subject });
  showIdentity();
  $('read').focus();
}

// A key generated here: the private half is non-extractable from birth;
// the public JWK is the enrolment request for the registrar.
async function generateKey() {
  const kp = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', kp.publicKey));
  const x = btoa(String.fromCharCode(...raw)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const { jwk, kid } = call('publicJWK', x);
  state.pending = { privateKey: kp.privateKey, x, kid, jwk };
  await idb('identity', 'readwrite', (s) => s.put(state.pending, 'pending'));
  showPending();
  say('generated', { kid });
}

function showPending() {
  const p = state.pending;
  $('enrol').hidden = !p;
  if (!p) return;
  $('enrol-request').value = p.jwk;
  $('enrol-download').href = URL.createObjectURL(new Blob([p.jwk + '\n'], { type: 'application/jwk+json' }));
}

async function completePending(cert) {
  const p = state.pending;
  let info;
  try { info = call('certInfo', cert, p.x, Date.now()); } catch (e) { say('certBad', { e: e.message }); return; }
  if (!info.key_matches) { say('keyMismatch'); return; }
  state.identity = { privateKey: p.privateKey, x: p.x, kid: p.kid, cert, subject: info.subject, registrar: info.registrar };
  await idb('identity', 'readwrite', (s) => { s.delete('pending'); return s.put(state.identity, 'subject'); });
  state.pending = null; showPending();
  $('key-files').value = '';
  say('imported', { s: info.subject });
  showIdentity();
  $('read').focus();
}

async function forget() {
  await idb('identity', 'readwrite', (s) => s.delete('subject'));
  state.identity = null; state.entries = []; state.providers = {}; state.reports = [];
  say('forgotten'); applyLang(); $('key-files').focus();
}

async function post(member, path, token) {
  const r = await fetch(member.public_endpoint.replace(/\/$/, '') + path, {
    method: 'POST', headers: { 'Content-Type': 'application/jose' }, body: token, credentials: 'omit', cache: 'no-store',
  });
  const body = await r.text();
  if (!r.ok) {
    let msg = `HTTP ${r.status}`, code;
    try { const e = JSON.parse(body).error; msg = `${e.code}: ${e.message}`; code = e.code; } catch (_) { /* not a wire error */ }
    const err = new Error(msg); err.code = code;
    throw err;
  }
  return body;
}

// pageOf reads which page a signed answer says it is ({from, next,
// checkpoint}), to ask for the next one; it checks nothing: checkLog
// verifies the pages together.
function pageOf(token) {
  const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return JSON.parse(new TextDecoder().decode(bytes)).page || null;
}

// MAX_PAGES is subjectcheck.MaxPages: a provider cannot keep the page walking.
const MAX_PAGES = 1000;

// walk reads the subject's log at m page by page (schemas.SubjectPageRequest):
// the first page from index 0, each next one from where the previous one
// ended, pinned to the first page's checkpoint and bounded by its until. A provider that no longer
// keeps that checkpoint answers bad_log_range: the walk starts again, once;
// a following page refused rate_limited is asked again a second later.
async function walk(m, again = true) {
  const id = state.identity;
  const pages = [];
  let page = '', retries = 0;
  for (;;) {
    if (pages.length >= MAX_PAGES) throw new Error(`more than ${MAX_PAGES} pages`);
    const { token } = await callAsync('subjectRead', id.cert, id.x, m.id, Date.now(), signer(), page);
    let answer;
    try { answer = await post(m, '/v1/subject/inquiries', token); } catch (e) {
      if (again && pages.length && e.code === 'bad_log_range') return walk(m, false);
      // The provider's limit per address counts pages: a long walk slows down.
      if (pages.length && e.code === 'rate_limited' && retries++ < 30) { await new Promise((r) => setTimeout(r, 1000)); continue; }
      throw e;
    }
    pages.push(answer);
    const pg = pageOf(answer);
    if (!pg || !pg.next) return pages;
    page = JSON.stringify({ from: pg.next, checkpoint: pg.checkpoint || 0, until: pg.until || 0 });
  }
}

async function readOne(m) {
  const id = state.identity;
  const p = { id: m.id, org: m.organisation };
  const t0 = performance.now();
  try {
    const pages = await walk(m);
    const t1 = performance.now();
    const res = call('checkLog', JSON.stringify(pages), m.id, id.cert, state.config.witnesses || 0, Date.now());
    p.verifyMs = performance.now() - t1; p.fetchMs = t1 - t0;
    p.bytes = pages.reduce((n, a) => n + a.length, 0); p.pages = pages.length;
    p.result = res;
    for (const e of res.entries) e.verified = res.verified;
    return [p, res.entries];
  } catch (e) {
    p.error = e.message;
    return [p, []];
  }
}

async function readAll() {
  $('read').disabled = true;
  say('reading', { n: state.members.length });
  state.providers = {}; state.entries = [];
  renderProviders();
  const results = await Promise.all(state.members.map(readOne));
  for (const [p, entries] of results) { state.providers[p.id] = p; state.entries.push(...entries); }
  state.entries.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
  fillPurposes();
  renderProviders(); renderTimeline();
  say('readDone', { n: state.entries.length, p: results.length });
  $('read').disabled = false;
  document.body.dataset.read = String(Date.now());
}

function renderProviders() {
  const ul = $('providers'); ul.replaceChildren();
  for (const m of state.members) {
    const p = state.providers[m.id];
    if (!p) continue;
    const li = document.createElement('li');
    li.dataset.provider = m.id;
    if (p.fetchMs !== undefined) {
      li.dataset.fetchMs = p.fetchMs.toFixed(1); li.dataset.verifyMs = p.verifyMs.toFixed(1);
      li.dataset.bytes = String(p.bytes); li.dataset.pages = String(p.pages);
    }
    const name = document.createElement('strong');
    name.textContent = `${m.organisation} (${m.id}) `;
    const detail = document.createElement('span'); detail.className = 'detail';
    let verdict;
    if (p.error) { li.className = 'fail'; li.dataset.state = 'unreachable'; verdict = t('unreachable', { e: p.error }); }
    else if (p.result.verified) {
      li.className = 'ok'; li.dataset.state = 'verified';
      const r = p.result;
      verdict = t('verified', { c: r.committed, s: r.checkpoint_size, w: r.witnesses.join(', ') || t('none') });
      if (r.pages > 1) verdict += ' ' + t('pagesNote', { n: r.pages });
      if (r.pending) verdict += ' ' + t('pendingNote', { p: r.pending });
    } else {
      li.className = 'fail'; li.dataset.state = 'failed'; li.dataset.failedCheck = p.result.failed_check;
      verdict = t('failed', { c: p.result.failed_check, e: p.result.error_detail });
    }
    const mark = document.createElement('span');
    mark.textContent = li.className === 'ok' ? t('ok') : t('bad');
    mark.className = li.className === 'ok' ? 'mark-ok' : 'mark-bad';
    detail.textContent = verdict;
    li.append(mark, ' ', name, detail);
    ul.append(li);
  }
}

function fillPurposes() {
  const sel = $('f-purpose'); const keep = sel.value;
  while (sel.options.length > 1) sel.remove(1);
  for (const p of [...new Set(state.entries.map((e) => e.purpose).filter(Boolean))].sort()) sel.append(new Option(p, p));
  sel.value = keep;
}

function filtered() {
  const fp = $('f-provider').value, pu = $('f-purpose').value, de = $('f-decision').value, from = $('f-from').value, to = $('f-to').value;
  return state.entries.filter((e) => (!fp || e.provider === fp) && (!pu || e.purpose === pu) && (!de || e.decision === de)
    && (!from || e.time.slice(0, 10) >= from) && (!to || e.time.slice(0, 10) <= to));
}

function inquirer(e) {
  if (e.kind !== 'query' && T[state.lang].kinds[e.kind]) return T[state.lang].kinds[e.kind];
  const m = e.requester && state.reg.members.find((x) => x.id === e.requester);
  return e.requester_org || (m && m.organisation) || e.requester || '—';
}

function renderTimeline() {
  const tb = document.querySelector('#timeline tbody'); tb.replaceChildren();
  const rows = filtered();
  for (const e of rows) {
    const tr = document.createElement('tr');
    tr.dataset.provider = e.provider;
    const verif = !e.verified ? ['bad', 'mark-bad'] : e.pending ? ['pending', 'mark-pending'] : ['ok', 'mark-ok'];
    const decision = t(e.decision === 'allow' ? 'allow' : 'deny') + (e.code ? ` (${e.code})` : '') + (e.reasons && e.reasons.length ? ': ' + e.reasons.join(', ') : '');
    const cells = [fmtDate(new Date(e.time)), inquirer(e), e.purpose || '—', (e.categories || []).join(', ') || '—', decision, orgOf(e.provider), t(verif[0])];
    cells.forEach((c, i) => {
      const td = document.createElement('td'); td.textContent = c;
      if (i === 4 && e.decision !== 'allow') td.className = 'deny';
      if (i === 6) td.className = verif[1];
      tr.append(td);
    });
    tb.append(tr);
  }
  $('tl-caption').textContent = t('caption', { n: rows.length, t: state.entries.length });
}

function download(name, type, text) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name; document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
function csvCell(s) { s = String(s ?? ''); return /[",\n]/.test(s) ? '"' + s.replaceAll('"', '""') + '"' : s; }
function exportCSV() {
  const head = ['time', 'provider', 'index', 'kind', 'requester', 'organisation', 'purpose', 'categories', 'decision', 'code', 'reasons', 'verification'];
  const lines = [head.join(',')];
  for (const e of filtered()) {
    lines.push([e.time, e.provider, e.index, e.kind, e.requester, e.requester_org, e.purpose, (e.categories || []).join(';'), e.decision, e.code,
      (e.reasons || []).join(';'), !e.verified ? 'not_verified' : e.pending ? 'pending' : 'verified'].map(csvCell).join(','));
  }
  download('inquiries.csv', 'text/csv', lines.join('\n') + '\n');
}
function exportJSON() {
  const providers = Object.values(state.providers).map((p) => ({ provider: p.id, verified: !!(p.result && p.result.verified),
    failed_check: p.result && p.result.failed_check, error: p.error || (p.result && p.result.error_detail) || undefined }));
  download('inquiries.json', 'application/json', JSON.stringify({ format: 'creditexchange-portal-timeline/v1', subject: state.identity && state.identity.subject,
    exported_at: new Date().toISOString(), providers, entries: filtered() }, null, 2));
}

// --- credit report (each one spends a free report of the year at the provider)

// decodePayload reads a compact JWS's payload without checking it: only to
// show, marked not verified, what a provider sent when it does not verify.
function decodePayload(token) {
  try {
    const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (_) { return null; }
}

async function reportOne(m) {
  const id = state.identity;
  const r = { provider: m.id };
  let answer;
  try {
    const { token } = await callAsync('reportRequest', id.cert, id.x, m.id, Date.now(), signer());
    answer = await post(m, '/v1/subject/report', token);
  } catch (e) { r.state = 'refused'; r.code = e.code || ''; r.error = e.message; return r; }
  r.jws = answer;
  try {
    r.report = call('openReport', answer, m.id, id.subject);
    r.state = 'verified';
  } catch (e) {
    r.state = 'failed'; r.error = e.message;
    const p = decodePayload(answer);
    r.unverified = p && Array.isArray(p.records) ? p.records : [];
  }
  return r;
}

async function requestReports(ev) {
  ev.preventDefault();
  if (!state.identity) return;
  const pick = $('r-provider').value;
  const members = pick ? state.members.filter((m) => m.id === pick) : state.members;
  $('r-request').disabled = true;
  say('repAsking', { n: members.length });
  state.reports = await Promise.all(members.map(reportOne));
  renderReports();
  const n = (st) => state.reports.filter((r) => r.state === st).length;
  say('repDone', { ok: n('verified'), bad: n('failed'), ref: n('refused') });
  $('r-request').disabled = false;
  document.body.dataset.report = String(Date.now());
}

function recordTable(records, verified) {
  const frag = document.createDocumentFragment();
  const byCat = new Map();
  for (const rec of records) { if (!byCat.has(rec.category)) byCat.set(rec.category, []); byCat.get(rec.category).push(rec); }
  for (const [cat, recs] of [...byCat].sort((a, b) => String(a[0]).localeCompare(String(b[0])))) {
    const h = document.createElement('h4'); h.textContent = `${cat} (${recs.length})`;
    const table = document.createElement('table'); table.dataset.category = cat;
    const head = table.createTHead().insertRow();
    for (const k of ['record', 'details', 'disputed', 'verification']) {
      const th = document.createElement('th'); th.scope = 'col'; th.textContent = t(k); head.append(th);
    }
    const tb = table.createTBody();
    for (const rec of recs) {
      const tr = tb.insertRow(); tr.dataset.record = rec.id;
      const data = rec.data && typeof rec.data === 'object' ? Object.entries(rec.data).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('; ') : JSON.stringify(rec.data);
      const cells = [rec.id, data, rec.disputed ? t('yes') : t('no'), verified ? t('ok') : t('bad')];
      cells.forEach((c, i) => {
        const td = tr.insertCell(); td.textContent = c;
        if (i === 1) td.className = 'data';
        if (i === 2 && rec.disputed) td.className = 'mark-bad';
        if (i === 3) td.className = verified ? 'mark-ok' : 'mark-bad';
      });
    }
    frag.append(h, table);
  }
  return frag;
}

function fileLink(name, type, text, label) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name; a.textContent = t(label, { f: name });
  return a;
}

function renderReports() {
  const box = $('reports'); if (!box) return;
  box.replaceChildren();
  for (const r of state.reports || []) {
    const art = document.createElement('article');
    art.dataset.provider = r.provider; art.dataset.state = r.state;
    art.className = r.state === 'verified' ? 'ok' : 'fail';
    const hid = 'rep-' + r.provider.replace(/[^\w-]/g, '_');
    art.setAttribute('aria-labelledby', hid);
    const h = document.createElement('h3'); h.id = hid;
    const mark = document.createElement('span');
    mark.className = r.state === 'verified' ? 'mark-ok' : 'mark-bad';
    mark.textContent = r.state === 'verified' ? t('ok') : t('bad');
    h.append(mark, ' ', orgOf(r.provider));
    const detail = document.createElement('p'); detail.className = 'detail';
    art.append(h, detail);
    if (r.state === 'refused') {
      art.dataset.code = r.code;
      detail.textContent = t('repRefused', { c: r.code || '—', e: r.error });
      if (r.code === 'free_reports_exhausted') {
        const p = document.createElement('p'); p.className = 'mark-bad'; p.textContent = t('repExhausted', { p: orgOf(r.provider) }); art.append(p);
      }
    } else if (r.state === 'failed') {
      detail.className = 'detail mark-bad';
      detail.textContent = t('repFailed', { e: r.error });
      if (r.unverified.length) art.append(recordTable(r.unverified, false));
    } else {
      const rep = r.report;
      detail.textContent = t('repVerified', { p: orgOf(r.provider), n: rep.records.length, d: fmtDate(new Date(rep.iat * 1000)) });
      if (rep.receipt) detail.textContent += ' ' + t('repReceipt', { p: rep.receipt.provider, i: rep.receipt.log_index });
      if (rep.records.length) art.append(recordTable(rep.records, true));
      else { const p = document.createElement('p'); p.textContent = t('repNone'); art.append(p); }
    }
    if (r.jws) {
      const dl = document.createElement('p'); dl.className = 'downloads';
      const base = `credit-report-${r.provider}`;
      const jws = fileLink(base + '.jws', 'application/jose', r.jws, 'repJWS'); jws.dataset.kind = 'jws';
      dl.append(jws);
      if (r.state === 'verified') {
        const json = fileLink(base + '.json', 'application/json', JSON.stringify(r.report, null, 2) + '\n', 'repJSON'); json.dataset.kind = 'json';
        dl.append(' ', json);
      }
      art.append(dl);
    }
    box.append(art);
  }
}

// --- consents
async function grant(ev) {
  ev.preventDefault();
  const id = state.identity; if (!id) return;
  const requester = $('c-requester').value;
  const list = (id) => $(id).value.split(',').map((s) => s.trim()).filter(Boolean);
  const claims = { requester, purpose: $('c-purpose').value.trim(), categories: list('c-categories'), providers: list('c-providers'),
    exp: Math.floor(Date.now() / 1000) + 86400 * Number($('c-days').value), max_uses: Number($('c-uses').value) };
  try {
    const out = await callAsync('grant', id.cert, id.x, JSON.stringify(claims), Date.now(), signer());
    $('c-token').value = out.token;
    const a = $('c-download'); a.href = URL.createObjectURL(new Blob([out.token], { type: 'application/jose' })); a.hidden = false;
    await idb('consents', 'readwrite', (s) => s.put({ id: out.id, requester, purpose: claims.purpose, categories: claims.categories, exp: claims.exp, revoked: [] }));
    say('consentMade', { id: out.id, r: orgOf(requester) });
    renderConsents();
  } catch (e) { say('certBad', { e: e.message }); }
}

async function revokeConsent(c) {
  const id = state.identity;
  for (const m of state.members) {
    try {
      const { token } = await callAsync('revoke', id.cert, id.x, m.id, c.id, Date.now(), signer());
      await post(m, '/v1/consent/revoke', token);
      c.revoked = [...new Set([...(c.revoked || []), m.id])];
      say('revokedAt', { id: c.id, p: m.id });
    } catch (e) { say('revokeFailed', { id: c.id, p: m.id, e: e.message }); }
  }
  await idb('consents', 'readwrite', (s) => s.put(c));
  renderConsents();
}

async function renderConsents() {
  if (!state.reg) return;
  const list = await idb('consents', 'readonly', (s) => s.getAll()) || [];
  const ul = $('consents'); ul.replaceChildren();
  for (const c of list) {
    const li = document.createElement('li'); li.dataset.consent = c.id;
    li.append(`${c.id} — ${orgOf(c.requester)}, ${c.purpose}, ${c.categories.join(', ')} `);
    if (c.revoked && c.revoked.length) {
      const s = document.createElement('span'); s.className = 'mark-bad'; s.textContent = t('revoked') + ' (' + c.revoked.join(', ') + ')'; li.append(s);
    } else {
      const b = document.createElement('button'); b.type = 'button'; b.className = 'secondary'; b.textContent = t('revoke');
      b.addEventListener('click', () => revokeConsent(c)); li.append(b);
    }
    ul.append(li);
  }
}

// --- objections (art. 25: answered within 20 days)
async function fileObjection(ev) {
  ev.preventDefault();
  const id = state.identity; if (!id) return;
  const m = state.members.find((x) => x.id === $('o-provider').value);
  try {
    const repair = $('o-kind').value === 'repair';
    const { token } = await callAsync(repair ? 'repair' : 'object', id.cert, id.x, m.id, $('o-category').value.trim(), $('o-record').value.trim(), $('o-reason').value.trim(), Date.now(), signer());
    const filed = JSON.parse(await post(m, repair ? '/v1/subject/repairs' : '/v1/subject/objections', token));
    if (repair) say('repairFiled', { id: filed.id, p: m.id });
    else say('objFiled', { id: filed.id, p: m.id, d: fmtDate(new Date(filed.due_by)) });
    await refreshObjections();
  } catch (e) { say('objFailed', { e: e.message }); }
}

async function refreshObjections() {
  const id = state.identity; if (!id) return;
  const rows = [];
  await Promise.all(state.members.map(async (m) => {
    try {
      const { token } = await callAsync('rightsStatus', id.cert, id.x, m.id, Date.now(), signer());
      const r = call('openRights', await post(m, '/v1/subject/rights', token), m.id, id.subject);
      for (const o of r.objections) rows.push({ provider: m.id, kind: 'objection', ...o });
      for (const o of r.repairs) rows.push({ provider: m.id, kind: 'repair', ...o });
    } catch (e) { rows.push({ provider: m.id, error: e.message }); }
  }));
  state.objections = rows;
  renderObjections();
  document.body.dataset.objections = String(Date.now());
}

function renderObjections() {
  const tb = document.querySelector('#objections tbody'); if (!tb) return;
  tb.replaceChildren();
  for (const o of state.objections || []) {
    const tr = document.createElement('tr'); tr.dataset.provider = o.provider;
    if (o.error) {
      tr.className = 'mark-bad';
      const td = document.createElement('td'); td.colSpan = 7; td.textContent = `${orgOf(o.provider)}: ${t('unreachable', { e: o.error })}`; tr.append(td);
    } else {
      tr.dataset.objection = o.id; tr.dataset.status = o.status; tr.dataset.kind = o.kind;
      const due = o.due_by ? fmtDate(new Date(o.due_by)) + (o.overdue ? ' — ' + t('overdue') : '') : '—';
      for (const c of [t(o.kind === 'repair' ? 'kindRepair' : 'kindObjection'), orgOf(o.provider), `${o.category} / ${o.record_id}`, t('st_' + o.status), fmtDate(new Date(o.filed_at)), due, o.outcome || '—']) {
        const td = document.createElement('td'); td.textContent = c; tr.append(td);
      }
      if (o.overdue) tr.cells[5].className = 'mark-bad';
    }
    tb.append(tr);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('lang').addEventListener('click', () => { state.lang = state.lang === 'zh' ? 'en' : 'zh'; localStorage.setItem('portal-lang', state.lang); applyLang(); });
  $('import').addEventListener('click', importFiles);
  $('generate').addEventListener('click', generateKey);
  $('forget').addEventListener('click', forget);
  $('read').addEventListener('click', readAll);
  $('filters').addEventListener('input', renderTimeline);
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  $('export-csv').addEventListener('click', exportCSV);
  $('export-json').addEventListener('click', exportJSON);
  $('report').addEventListener('submit', requestReports);
  $('grant').addEventListener('submit', grant);
  $('object').addEventListener('submit', fileObjection);
  $('o-refresh').addEventListener('click', refreshObjections);
  $('c-copy').addEventListener('click', async () => { await navigator.clipboard.writeText($('c-token').value); say('copied'); });
  start().catch((e) => { $('status').textContent = String(e); document.body.dataset.ready = 'error'; });
});
