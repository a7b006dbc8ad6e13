// The browser test of daftar's /simulator: Debian's chromium, headless, driven by
// playwright-core (no browser is downloaded). It starts nothing: it is given the URL of a
// running server (tests/simulator.rs starts the real binary over the sample feed) and the
// path of the screenshot to save. It walks a tamin journey in Persian over Africa's Talking
// and an osms journey in Russian over Hubtel, asserting each screen, the wire and the measure.
//
//   node tests/browser/simulator.js http://127.0.0.1:8080 docs/simulator.png
'use strict';

const assert = require('node:assert/strict');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.DAFTAR_CHROMIUM || '/usr/lib/chromium/chromium';
const [base, screenshot] = process.argv.slice(2);
if (!base || !screenshot) {
  console.error('usage: node simulator.js <server URL> <screenshot.png>');
  process.exit(2);
}

let passed = 0;
let failed = 0;

async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`not ok - ${name}\n${error.stack || error}`);
  }
}

/// Runs `action` (a key press or click that sends) and waits until the page says the whole
/// exchange is over.
async function sending(page, action) {
  const before = Number(await page.evaluate(() => document.body.dataset.actions || '0'));
  await action();
  await page.waitForFunction(
    (n) => Number(document.body.dataset.actions || '0') > n && document.body.dataset.busy === 'false',
    before,
  );
}

const text = (page, id) => page.locator(`#${id}`).innerText();

async function tapDigits(page, digits) {
  for (const digit of digits) await page.click(`#keypad [data-key="${digit}"]`);
}

async function settings(page, { service, msisdn, dialect, locale }) {
  await page.selectOption('#service', service);
  await page.fill('#msisdn', msisdn);
  await page.selectOption('#dialect', dialect);
  await page.selectOption('#locale', locale);
  // The keys typed next go to the phone, not to the last field set.
  await page.evaluate(() => document.activeElement.blur());
}

async function tamin(page) {
  await settings(page, { service: 'tamin', msisdn: '989129999999', dialect: 'africastalking', locale: 'fa' });
  assert.match(await text(page, 'dialect-note'), /whole path joined by \*/);
  await sending(page, () => page.click('#send'));
  const first = await text(page, 'screen');
  assert.ok(first.includes('۲.') && first.includes('۹.'), first);
  assert.equal(await page.getAttribute('#screen', 'dir'), 'rtl');
  assert.match(await text(page, 'meta'), /^UCS-2 · \d+\/80 · 1 page$/);
  assert.match(await text(page, 'request'), /^POST \/ussd\/africastalking HTTP\/1\.1\nContent-Type: application\/x-www-form-urlencoded\n\nsessionId=sim-[^&]+&serviceCode=\*4\*1420%23&phoneNumber=%2B989129999999&networkCode=00000&text=$/);
  assert.match(await text(page, 'response'), /^HTTP\/1\.1 200\nContent-Type: text\/plain; charset=utf-8\n\nCON /);

  // 2, the general inquiry, typed on the keyboard.
  await page.keyboard.press('2');
  assert.equal(await text(page, 'entry'), '2');
  await sending(page, () => page.keyboard.press('Enter'));
  assert.match(await text(page, 'request'), /&text=2$/);
  assert.equal(await page.getAttribute('#screen', 'data-goes-on'), 'true');

  // A wrong check digit is asked again.
  await tapDigits(page, '0012345678');
  await sending(page, () => page.click('#send'));
  assert.match(await text(page, 'request'), /&text=2\*0012345678$/);
  assert.match(await text(page, 'response'), /\n\nCON /);

  // A covered national code, tapped on the keypad (with a slip erased).
  await tapDigits(page, '00123456799');
  await page.click('#erase');
  await sending(page, () => page.click('#send'));
  const answer = await text(page, 'screen');
  assert.ok(answer.includes('حمایت درمانی دارد'), answer);
  assert.ok(!answer.includes('حمایت درمانی ندارد'), answer);
  assert.equal(await page.getAttribute('#screen', 'dir'), 'rtl');
  assert.equal(await page.getAttribute('#screen', 'data-goes-on'), 'false');
  assert.match(await text(page, 'request'), /&text=2\*0012345678\*0012345679$/);
  assert.match(await text(page, 'response'), /\n\nEND [^]*حمایت درمانی دارد/);
  assert.match(await text(page, 'meta'), /^UCS-2 · \d+\/80 · 1 page$/);
  await page.screenshot({ path: screenshot, fullPage: true });
}

async function osms(page) {
  await settings(page, { service: 'osms', msisdn: '77010000001', dialect: 'hubtel', locale: 'ru' });
  await sending(page, () => page.click('#send'));
  // The first screen came in Kazakh (the default); the page pressed 9 for Russian.
  const log = await text(page, 'log');
  assert.match(log, /send "9": the screen is in kk, ru was chosen/);
  assert.equal(await page.getAttribute('#screen', 'lang'), 'ru');
  assert.equal(await page.getAttribute('#screen', 'dir'), 'ltr');
  assert.match(await text(page, 'request'), /"Type":"Response","Message":"9","Operator":"mtn","Sequence":2/);
  assert.match(await text(page, 'response'), /^HTTP\/1\.1 200\nContent-Type: application\/json\n\n\{"Type":"Response","Message":"/);

  await page.keyboard.type('1');
  await sending(page, () => page.keyboard.press('Enter'));
  await page.keyboard.type('850714300018');
  await sending(page, () => page.keyboard.press('Enter'));
  const first = await text(page, 'screen');
  assert.ok(first.includes('Застрахован') && !first.includes('Не застрахован'), first);
  assert.match(await text(page, 'meta'), /^UCS-2 · \d+\/80 · page 1, more follows \(98\)$/);
  assert.equal(await page.getAttribute('#screen', 'data-goes-on'), 'true');

  await page.keyboard.type('98');
  await sending(page, () => page.keyboard.press('Enter'));
  let meta = await text(page, 'meta');
  while (/more follows/.test(meta)) {
    await page.keyboard.type('98');
    await sending(page, () => page.keyboard.press('Enter'));
    meta = await text(page, 'meta');
  }
  assert.match(meta, /^UCS-2 · \d+\/80 · page (\d+) of \1$/);
  assert.notEqual(meta.match(/page (\d+)/)[1], '1');
  assert.equal(await page.getAttribute('#screen', 'data-goes-on'), 'false');
  assert.match(await text(page, 'response'), /\{"Type":"Release","Message":"/);
}

// One question deep in every built-in dialect: each dialect's wire, written by the page and
// read back by it, gives the same screens as Africa's Talking's (each from its own phone, so
// that no session is offered back to the next).
async function everyDialect(page) {
  const dialects = ['africastalking', 'hubtel', 'arkesel', 'nalo', 'beem', 'infobip',
    'safaricom', 'comviva', 'truroute'];
  let question = null;
  for (const [n, dialect] of dialects.entries()) {
    await settings(page, { service: 'tamin', msisdn: `98912888800${n}`, dialect, locale: '' });
    await sending(page, () => page.click('#send'));
    const first = await text(page, 'screen');
    assert.ok(first.includes('۲.') && first.includes('۹.'), `${dialect}: ${first}`);
    assert.equal(await page.getAttribute('#screen', 'dir'), 'rtl', dialect);
    assert.match(await text(page, 'response'), /^HTTP\/1\.1 200\n/, dialect);
    await page.keyboard.press('2');
    await sending(page, () => page.keyboard.press('Enter'));
    assert.equal(await page.getAttribute('#screen', 'data-goes-on'), 'true', dialect);
    const asked = await text(page, 'screen');
    if (question === null) question = asked;
    assert.equal(asked, question, dialect);
    assert.match(await text(page, 'meta'), /^UCS-2 · \d+\/80 · 1 page$/, dialect);
    await page.keyboard.press('Escape');
  }
}

async function main() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox'],
  });
  const page = await browser.newPage({ viewport: { width: 1180, height: 760 } });
  const outside = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(base)) outside.push(request.url());
  });
  const problems = [];
  page.on('pageerror', (error) => problems.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  await page.goto(`${base}/simulator`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');

  await check('the catalogue lists the services and every HTTP dialect', async () => {
    const services = await page.locator('#service option').allInnerTexts();
    assert.deepEqual(services.map((s) => s.split(' ')[0]).sort(), ['cnam', 'mutual', 'osms', 'tamin']);
    const dialects = await page.locator('#dialect option').allInnerTexts();
    for (const d of ['africastalking', 'hubtel', 'arkesel', 'nalo', 'beem', 'infobip', 'safaricom', 'comviva', 'truroute']) {
      assert.ok(dialects.includes(d), `${d} in ${dialects}`);
    }
  });
  await check('a tamin journey in Persian over Africa\'s Talking', () => tamin(page));
  await check('an osms journey in Russian over Hubtel, paged', () => osms(page));
  await check('one question deep in every built-in dialect', () => everyDialect(page));
  await check('a garbage MSISDN gets the server\'s refusal on the screen', async () => {
    await settings(page, { service: 'tamin', msisdn: 'abc', dialect: 'africastalking', locale: '' });
    await sending(page, () => page.click('#send'));
    assert.match(await text(page, 'response'), /^HTTP\/1\.1 400\n/);
    assert.match(await text(page, 'screen'), /^the reply cannot be read: HTTP 400\nbad request: /);
    assert.equal(await page.getAttribute('#screen', 'data-goes-on'), 'false');
    assert.match(await text(page, 'log'), /the session is over/);
    // The browser reports the refused request on its console: expected here, and only here.
    assert.match(problems.pop() || '', /status of 400/);
  });
  await check('nothing was fetched from elsewhere, no script error', async () => {
    assert.deepEqual(outside, []);
    assert.deepEqual(problems, []);
  });
  await browser.close();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
