// timeline.mjs checks the origin's timeline page in headless Chromium: it
// loads the page, reads where the channel's track shows its gaps, clicks the
// track at a time and watches the embedded Shaka Player play from there.
// It prints one JSON line:
//   {"ok":bool, "view":{"from":s,"to":s}, "gaps":[{"start":s,"end":s,"from_k":K,"left":f,"width":f}],
//    "url":"...", "times":[s,...], "zoom":{"day":{"from","to"},"minute":{"from","to"}}, "minute_gaps":[...],
//    "errors":[...]}
// left and width are the gap element's place in the timeline area as
// fractions of its width; times are the video's currentTime, sampled each
// second after the click; ok when it advanced by at least --advance seconds
// and the page reported no player error. Then it zooms out to a day and in
// to a minute with the page's buttons: zoom is the view after each, and
// minute_gaps the gaps as drawn in the minute view.
// Usage: node timeline.mjs --url http://HOST:PORT/ --channel NAME --rep REP
//          [--click-at EPOCH_SECONDS] [--advance 2] [--timeout 60] [--shot PNG]
// Run it in the directory holding node_modules (scripts/player, npm ci).
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(path.join(process.cwd(), 'timeline.mjs'));
const { chromium } = require('playwright-core');
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
for (const need of ['url', 'channel', 'rep']) {
  if (!args[need]) { console.error(`timeline.mjs: --${need} is required`); process.exit(2); }
}
const timeoutMs = Number(args.timeout || 60) * 1000;
const advance = Number(args.advance || 2);
const out = { ok: false, gaps: [], times: [], errors: [] };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
});
try {
  const p = await browser.newPage({ viewport: { width: 1200, height: 700 } });
  p.on('console', m => { if (m.type() === 'error') out.errors.push('console: ' + m.text()); });
  p.on('pageerror', e => out.errors.push('page: ' + e.message));
  await p.goto(args.url, { timeout: timeoutMs });
  const ch = `.channel[data-channel="${args.channel}"]`;
  const lane = `${ch} .lane[data-rep="${args.rep}"]`;
  await p.waitForSelector(`${lane} .seg.run`, { timeout: timeoutMs });
  out.view = await p.evaluate(c => window.timelineState.loaded[c], args.channel);
  const gaps = () => p.$$eval(`${lane} .seg.gap`, (els, sel) => {
    const a = document.querySelector(sel).getBoundingClientRect();
    return els.map(el => {
      const r = el.getBoundingClientRect();
      return { start: +el.dataset.start, end: +el.dataset.end, from_k: +el.dataset.fromK, left: (r.left - a.left) / a.width, width: r.width / a.width };
    });
  }, `${ch} .area`);
  out.gaps = await gaps();
  const box = await p.$eval(lane, el => { const r = el.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width, h: r.height }; });
  const at = args['click-at'] ? Number(args['click-at']) : (out.view.from + out.view.to) / 2;
  await p.mouse.click(box.x + (at - out.view.from) / (out.view.to - out.view.from) * box.w, box.y + box.h / 2);
  const deadline = Date.now() + timeoutMs;
  let first = null;
  while (Date.now() < deadline) {
    await p.waitForTimeout(1000);
    const s = await p.evaluate(() => ({ t: document.querySelector('#player video').currentTime, url: window.timelineState.url, errors: window.timelineState.errors }));
    out.url = s.url;
    out.times.push(s.t);
    if (s.errors.length) { out.errors.push(...s.errors); break; }
    if (first === null && s.t > 0) first = s.t;
    if (first !== null && s.t - first >= advance) { out.ok = true; break; }
  }
  const zoomTo = async span => {
    await p.click(`${ch} button[data-span="${span}"]`);
    await p.waitForFunction(([c, w]) => { const l = window.timelineState.loaded[c]; return l && Math.abs(l.to - l.from - w) < 0.01; },
      [args.channel, span], { timeout: timeoutMs });
    return p.evaluate(c => window.timelineState.loaded[c], args.channel);
  };
  if (out.ok) {
    out.zoom = { day: await zoomTo(86400), minute: await zoomTo(60) };
    out.minute_gaps = await gaps();
  }
  if (args.shot) await p.screenshot({ path: args.shot, fullPage: true });
  if (out.errors.length) out.ok = false;
} catch (e) {
  out.errors.push(String(e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
