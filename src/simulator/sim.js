// daftar phone simulator. Each key press becomes one request in the chosen aggregator's own
// wire format (DIALECTS.md; the same shapes as tests/fixtures/dialects/*.toml), sent to this
// server's /ussd/<dialect>; the reply is read back the way that aggregator reads it. The
// screen's encoding and length come from the server (/simulator/measure), its locale and pages
// from the catalogue (/simulator/catalogue.json). Nothing here is loaded from elsewhere.
'use strict';

const $ = (id) => document.getElementById(id);
let catalogue = { services: [], dialects: [] };
let session = null; // the call in progress, or null while the phone is idle
let typed = '';
let calls = 0;

// ---- the wire of each built-in dialect -------------------------------------------------

const form = (fields) => new URLSearchParams(fields).toString();
const json = (value) => JSON.stringify(value);
const digitsOf = (code) => code.replace(/^\*/, '').replace(/#$/, '');
const xmlText = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

function cumulative(s, input) {
  if (s.hop > 1) s.path.push(input);
  return s.path.join('*');
}

function conEnd(body) {
  if (body.startsWith('CON ')) return { goesOn: true, text: body.slice(4) };
  if (body.startsWith('END ')) return { goesOn: false, text: body.slice(4) };
  throw new Error('neither CON nor END');
}

function xmlField(body, tag) {
  const doc = new DOMParser().parseFromString(body, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) throw new Error('not XML');
  const node = doc.getElementsByTagName(tag)[0];
  if (!node) throw new Error(`no <${tag}>`);
  return node.textContent;
}

const DIALECTS = {
  africastalking: {
    wire: 'a form POST per key press; text is the whole path joined by *',
    request: (s, input) => ({
      method: 'POST', url: '/ussd/africastalking', type: FORM,
      body: form({ sessionId: s.id, serviceCode: s.code, phoneNumber: '+' + s.msisdn,
        networkCode: '00000', text: cumulative(s, input) }),
    }),
    read: conEnd,
  },
  safaricom: {
    wire: 'a GET with the fields in the query; USSD_PARAMS is the whole path',
    request: (s, input) => ({
      method: 'GET', type: null, body: null,
      url: '/ussd/safaricom?' + form({ ORIG: s.msisdn, DEST: digitsOf(s.code),
        SESSION_ID: s.id, USSD_PARAMS: cumulative(s, input) }),
    }),
    read: conEnd,
  },
  hubtel: {
    wire: 'a JSON POST per key press; Type Initiation, then Response with the latest input',
    request: (s, input) => ({
      method: 'POST', url: '/ussd/hubtel', type: JSON_TYPE,
      body: json({ Mobile: s.msisdn, SessionId: s.id, ServiceCode: digitsOf(s.code),
        Type: s.hop === 1 ? 'Initiation' : 'Response', Message: input, Operator: 'mtn',
        Sequence: s.hop, ClientState: '' }),
    }),
    read: (body) => {
      const r = JSON.parse(body);
      return { goesOn: r.Type === 'Response', text: r.Message };
    },
  },
  arkesel: {
    wire: 'a JSON POST per key press; newSession marks the first',
    request: (s, input) => ({
      method: 'POST', url: '/ussd/arkesel', type: JSON_TYPE,
      body: json({ sessionID: s.id, userID: 'SIMULATOR', newSession: s.hop === 1,
        msisdn: s.msisdn, userData: input, network: 'MTN' }),
    }),
    read: (body) => {
      const r = JSON.parse(body);
      return { goesOn: r.continueSession === true, text: r.message };
    },
  },
  nalo: {
    wire: 'a JSON POST per key press, upper-case keys; MSGTYPE true marks the first',
    request: (s, input) => ({
      method: 'POST', url: '/ussd/nalo', type: JSON_TYPE,
      body: json({ USERID: 'SIMULATOR', MSISDN: s.msisdn, USERDATA: input,
        MSGTYPE: s.hop === 1, NETWORK: 'MTN', SESSIONID: s.id }),
    }),
    read: (body) => {
      const r = JSON.parse(body);
      return { goesOn: r.MSGTYPE === true, text: r.MSG };
    },
  },
  beem: {
    wire: 'a JSON POST per key press, command initiate then continue; no service code',
    request: (s, input) => ({
      method: 'POST', url: '/ussd/beem', type: JSON_TYPE,
      body: json({ command: s.hop === 1 ? 'initiate' : 'continue', msisdn: s.msisdn,
        session_id: s.id, operator: 'vodacom',
        payload: { request_id: s.requestId || 0, response: s.hop === 1 ? '0' : input } }),
    }),
    read: (body, s) => {
      const r = JSON.parse(body);
      s.requestId = r.payload.request_id;
      return { goesOn: r.command === 'continue', text: r.payload.request };
    },
  },
  infobip: {
    wire: 'a JSON POST to …/session/{id}/start, then …/session/{id}/response',
    request: (s, input) => s.hop === 1
      ? { method: 'POST', url: `/ussd/infobip/session/${encodeURIComponent(s.id)}/start`,
        type: JSON_TYPE, body: json({ msisdn: s.msisdn, imsi: '', text: input,
          shortCode: s.code, language: null, optional: '', ussdGwId: 'simulator' }) }
      : { method: 'POST', url: `/ussd/infobip/session/${encodeURIComponent(s.id)}/response`,
        type: JSON_TYPE, body: json({ msisdn: s.msisdn, text: input }) },
    read: (body) => {
      const r = JSON.parse(body);
      return { goesOn: r.shouldClose === false, text: r.ussdMenu };
    },
  },
  comviva: {
    wire: 'an XML POST per key press (Flares HTTP pull); newRequest 1 marks the first',
    request: (s, input) => ({
      method: 'POST', url: '/ussd/comviva', type: 'text/xml; charset=UTF-8',
      body: '<?xml version="1.0" encoding="UTF-8"?><request type="pull">'
        + `<sessionId>${xmlText(s.id)}</sessionId><transactionId>tx-${s.hop}</transactionId>`
        + `<msisdn>${xmlText(s.msisdn)}</msisdn><newRequest>${s.hop === 1 ? 1 : 0}</newRequest>`
        + `<flowState>${s.hop === 1 ? 'FD' : 'FE'}</flowState>`
        + `<subscriberInput>${xmlText(input)}</subscriberInput></request>`,
    }),
    read: (body) => ({
      goesOn: xmlField(body, 'freeflowState') === 'FC',
      text: xmlField(body, 'applicationResponse'),
    }),
  },
  truroute: {
    wire: 'an XML POST per key press; type 1 new, 2 input',
    request: (s, input) => ({
      method: 'POST', url: '/ussd/truroute', type: 'text/xml',
      body: '<?xml version="1.0" encoding="UTF-8"?><ussd>'
        + `<msisdn>${xmlText(s.msisdn)}</msisdn><sessionid>${xmlText(s.id)}</sessionid>`
        + `<type>${s.hop === 1 ? 1 : 2}</type><msg>${xmlText(input)}</msg></ussd>`,
    }),
    read: (body) => ({ goesOn: xmlField(body, 'type') === '2', text: xmlField(body, 'msg') }),
  },
};

// ---- the catalogue and the settings ------------------------------------------------------

const selected = (id) => $(id).value;
const serviceOf = (id) => catalogue.services.find((s) => s.id === id);
const dialectOf = (name) => catalogue.dialects.find((d) => d.name === name);

function option(value, label, disabled) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label;
  o.disabled = Boolean(disabled);
  return o;
}

async function loadCatalogue() {
  const response = await fetch('/simulator/catalogue.json');
  catalogue = await response.json();
  for (const s of catalogue.services) $('service').append(option(s.id, `${s.id} (${s.codes[0]})`));
  for (const d of catalogue.dialects) {
    const drivable = d.built_in && DIALECTS[d.name];
    $('dialect').append(option(d.name, drivable ? d.name : `${d.name} (declared)`, !drivable));
  }
  serviceChanged();
  dialectChanged();
  document.body.dataset.ready = 'true';
}

function serviceChanged() {
  const s = serviceOf(selected('service'));
  if (!s) return;
  $('code').value = s.codes[0] || '';
  const locale = $('locale');
  locale.replaceChildren(option('', `as the server picks (default ${s.locales[0].locale})`));
  for (const l of s.locales) locale.append(option(l.locale, `${l.locale} (${l.dir})`));
  dialectChanged();
}

function dialectChanged() {
  const d = dialectOf(selected('dialect'));
  const notes = [];
  if (d) {
    const w = DIALECTS[d.name];
    if (w) notes.push(`${d.name}: ${w.wire}.`);
    if (!d.open) {
      notes.push(`[dialects.${d.name}] sets an allowlist, a secret or basic auth: the simulator `
        + 'sends none of them, so the server refuses its requests unless this browser\'s '
        + 'address is allowed.');
    }
    if (d.name === 'beem' && !d.default_service) {
      notes.push('Beem carries no service code: set [dialects.beem] default_service = '
        + '"<service>" in the configuration to use it.');
    } else if (d.default_service && d.default_service !== selected('service')) {
      notes.push(`Requests without a service code are served by ${d.default_service}.`);
    }
    notes.push(`Screen: ${d.screen_gsm7} GSM-7 septets or ${d.screen_ucs2} UCS-2 characters.`);
  }
  $('dialect-note').textContent = notes.join(' ');
}

// ---- the phone -----------------------------------------------------------------------------

function showEntry() {
  $('entry').textContent = typed;
}

function press(key) {
  if (typed.length < 182) typed += key;
  showEntry();
}

function erase() {
  typed = typed.slice(0, -1);
  showEntry();
}

function log(line, isError) {
  const li = document.createElement('li');
  li.textContent = line;
  if (isError) li.className = 'error';
  $('log').append(li);
}

function startCall() {
  const service = serviceOf(selected('service'));
  calls += 1;
  session = {
    dialect: selected('dialect'), id: `sim-${Date.now().toString(36)}-${calls}`,
    msisdn: selected('msisdn').replace(/[^0-9]/g, ''), code: typed || selected('code'),
    service, wantLocale: selected('locale'), path: [], hop: 0, page: 1, more: false,
    locale: null, switched: false,
  };
  $('log').replaceChildren();
  log(`dial ${session.code} from ${session.msisdn} over ${session.dialect}`);
  typed = '';
  showEntry();
  return hop(session.code);
}

// Every key that sends: the page says when the whole exchange (a locale switch included) is
// over, for a person watching and for the browser test (data-actions counts them).
let actions = 0;
async function act(step) {
  document.body.dataset.busy = 'true';
  try {
    await step();
  } finally {
    actions += 1;
    document.body.dataset.actions = String(actions);
    document.body.dataset.busy = 'false';
  }
}

function send() {
  if (document.body.dataset.busy === 'true') return undefined;
  return act(session ? sendTyped : startCall);
}

async function sendTyped() {
  const input = typed;
  typed = '';
  showEntry();
  log(`send ${JSON.stringify(input)}`);
  return hop(input);
}

function hangUp(why) {
  if (session) log(why || 'ended on the phone (no request is sent: the aggregator would drop it)');
  session = null;
  typed = '';
  showEntry();
  document.body.dataset.state = 'idle';
}

function describeRequest(r) {
  const head = `${r.method} ${r.url} HTTP/1.1\n` + (r.type ? `Content-Type: ${r.type}\n` : '');
  return head + '\n' + (r.body || '');
}

async function hop(input) {
  const s = session;
  const dialect = DIALECTS[s.dialect];
  s.hop += 1;
  const wasMore = s.more;
  const request = dialect.request(s, input);
  $('request').textContent = describeRequest(request);
  document.body.dataset.state = 'waiting';
  let status = 0;
  let body = '';
  let type = '';
  try {
    const init = { method: request.method, headers: {} };
    if (request.type) init.headers['Content-Type'] = request.type;
    if (request.body !== null) init.body = request.body;
    const response = await fetch(request.url, init);
    status = response.status;
    type = response.headers.get('content-type') || '';
    body = await response.text();
  } catch (error) {
    showScreen(`no answer: ${error.message}`, false);
    hangUp('the server did not answer');
    return;
  }
  $('response').textContent = `HTTP/1.1 ${status}\nContent-Type: ${type}\n\n${body}`;
  let reply;
  try {
    if (status !== 200) throw new Error(`HTTP ${status}`);
    reply = dialect.read(body, s);
  } catch (error) {
    showScreen(`the reply cannot be read: ${error.message}\n${body}`, false);
    log(`refused: ${error.message}`, true);
    hangUp('the session is over');
    return;
  }
  s.page = wasMore && input === '98' ? s.page + 1 : 1;
  await showReply(s, reply);
  if (s !== session) return;
  if (!reply.goesOn) {
    hangUp('the server ended the session (Send dials again)');
    return;
  }
  document.body.dataset.state = 'open';
  await switchLocaleIfAsked(s, reply.text);
}

function localeOfScreen(s, text) {
  const first = text.split('\n')[0];
  return s.service ? s.service.locales.find((l) => l.first_line === first) : undefined;
}

async function showReply(s, reply) {
  const seen = localeOfScreen(s, reply.text);
  if (seen) s.locale = seen;
  const lines = reply.text.split('\n');
  const last = lines[lines.length - 1];
  s.more = reply.goesOn && s.service
    && s.service.locales.some((l) => l.more === last);
  showScreen(reply.text, reply.goesOn, s.locale);
  const measured = await measure(s.dialect, reply.text);
  const pages = s.more ? `page ${s.page}, more follows (98)`
    : s.page > 1 ? `page ${s.page} of ${s.page}` : '1 page';
  $('meta').textContent = measured
    ? `${measured.encoding} · ${measured.length}/${measured.limit} · ${pages}`
      + (measured.fits ? '' : ' · over one message!')
    : pages;
  $('meta').dataset.encoding = measured ? measured.encoding : '';
}

function showScreen(text, goesOn, locale) {
  const screen = $('screen');
  screen.textContent = text;
  screen.dir = locale ? locale.dir : 'auto';
  screen.lang = locale ? locale.locale : '';
  screen.dataset.goesOn = String(goesOn);
}

async function measure(dialect, text) {
  try {
    const response = await fetch(`/simulator/measure?dialect=${encodeURIComponent(dialect)}`,
      { method: 'POST', headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: text });
    return response.ok ? await response.json() : null;
  } catch (_) {
    return null;
  }
}

// A locale chosen in the settings: the first screen came in another of the service's locales
// (the server's default, or the phone's remembered choice), so 9 is pressed, as a caller would.
async function switchLocaleIfAsked(s, text) {
  if (!s.wantLocale || s.switched || !s.locale || s.locale.locale === s.wantLocale) return;
  if (localeOfScreen(s, text) === undefined) return;
  s.switched = true;
  log(`send "9": the screen is in ${s.locale.locale}, ${s.wantLocale} was chosen`);
  await hop('9');
}

function keyboard(event) {
  if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) {
    return;
  }
  if (/^[0-9*#]$/.test(event.key)) press(event.key);
  else if (event.key === 'Backspace') erase();
  else if (event.key === 'Enter') send();
  else if (event.key === 'Escape') hangUp();
  else return;
  event.preventDefault();
}

document.addEventListener('DOMContentLoaded', () => {
  for (const b of document.querySelectorAll('#keypad [data-key]')) {
    b.addEventListener('click', () => press(b.dataset.key));
  }
  $('send').addEventListener('click', send);
  $('erase').addEventListener('click', erase);
  $('hangup').addEventListener('click', () => hangUp());
  $('service').addEventListener('change', serviceChanged);
  $('dialect').addEventListener('change', dialectChanged);
  document.addEventListener('keydown', keyboard);
  document.body.dataset.state = 'idle';
  loadCatalogue().catch((error) => {
    $('dialect-note').textContent = `the catalogue did not load: ${error.message}`;
  });
});
