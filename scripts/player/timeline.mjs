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
// With --drag-from and --drag-to (epoch seconds), after the click and
// before the zooms, it drags a selection
// over the track with the mouse (in the view the page opened with), and
// adds "drag":{"url","copied","range"}: the catch-up URL the page shows and
// what Copy URL put on the clipboard; clicks Play catch-up and adds
// "catchup":{"url","times","duration","ended","errors"} once the video
// ended (or --timeout passed); with --export it clicks Export and adds
// "export":{"job","percent_text","progress","text","percents"}: the job as
// the page last polled it, the percentage and bar value it showed then, and
// every percentage it showed on the way; with --fail-drag-from and
// --fail-drag-to it selects that range too, exports it, and adds
// "failed_export" (the same shape), which must have failed. ok needs those
// to have happened.
// --shot PNG is a screenshot of the page after the export (the selection
// and the job shown), or at the end without --drag-from.
// Usage: node timeline.mjs --url http://HOST:PORT/ --channel NAME --rep REP
//          [--click-at EPOCH_SECONDS] [--advance 2] [--timeout 60] [--shot PNG]
//          [--drag-from EPOCH_SECONDS --drag-to EPOCH_SECONDS [--export 1
//           [--fail-drag-from EPOCH_SECONDS --fail-drag-to EPOCH_SECONDS]]]
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
  const context = await browser.newContext({ viewport: { width: 1200, height: 700 }, permissions: ['clipboard-read', 'clipboard-write'] });
  const p = await context.newPage();
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
  let shot = false; // --shot: after the export, with the selection shown, else at the end
  if (out.ok && args['drag-from']) {
    out.ok = await dragPlayExport(p, ch, lane, out);
    if (args.shot) { await p.screenshot({ path: args.shot, fullPage: true }); shot = true; }
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
  if (args.shot && !shot) await p.screenshot({ path: args.shot, fullPage: true });
  if (out.errors.length) out.ok = false;
} catch (e) {
  out.errors.push(String(e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);

// dragPlayExport drags a selection from --drag-from to --drag-to over the
// lane (in the view out.view), copies its URL, plays it as catch-up to its
// end and, with --export, exports it and waits for the job to end; with
// --fail-drag-from/--fail-drag-to it then selects that range (one the
// archive has nothing of) and exports it, which must fail. It reports
// whether each step happened.
async function dragPlayExport(p, ch, lane, out) {
  await dragSelect(p, ch, lane, out.view, Number(args['drag-from']), Number(args['drag-to']));
  await p.click(`${ch} button[data-act="copy"]`);
  out.drag = {
    url: await p.$eval(`${ch} .range-bar .url`, el => el.value),
    range: await p.$eval(`${ch} .range-bar .range`, el => el.textContent),
    copied: await p.evaluate(() => navigator.clipboard.readText()),
  };
  await p.click(`${ch} button[data-act="catchup"]`);
  const c = out.catchup = { times: [], ended: false };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await p.waitForTimeout(500);
    const s = await p.evaluate(() => {
      const v = document.querySelector('#player video');
      return { t: v.currentTime, d: v.duration, ended: v.ended, url: window.timelineState.url, errors: window.timelineState.errors };
    });
    Object.assign(c, { url: s.url, duration: s.d, ended: s.ended, errors: s.errors });
    c.times.push(s.t);
    if (s.errors.length || s.ended) break;
  }
  if (!c.ended || c.errors.length) return false;
  if (!args.export) return true;
  out.export = await exportAndWait(p, ch);
  if (out.export.job?.state !== 'done') return false;
  if (!args['fail-drag-from']) return true;
  await dragSelect(p, ch, lane, out.view, Number(args['fail-drag-from']), Number(args['fail-drag-to']));
  out.failed_export = await exportAndWait(p, ch);
  return out.failed_export.job?.state === 'failed';
}

// dragSelect drags the mouse over the lane from time a to time b of view
// and waits for the page to show the selection.
async function dragSelect(p, ch, lane, view, a, b) {
  // The lane's box now: the playing video has moved the page down.
  const box = await p.$eval(lane, el => { const r = el.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width, h: r.height }; });
  const xAt = t => box.x + (t - view.from) / (view.to - view.from) * box.w;
  const y = box.y + box.h / 2;
  await p.mouse.move(xAt(a), y);
  await p.mouse.down();
  await p.mouse.move(xAt(b), y, { steps: 10 });
  await p.mouse.up();
  await p.waitForSelector(`${ch} .range-bar:not([hidden])`, { timeout: 5000 });
}

// exportAndWait clicks Export and watches the page until the job is no
// longer running: the job as the page last polled it, the percentage, bar
// value and text it showed then, and every percentage on the way.
async function exportAndWait(p, ch) {
  await p.evaluate(c => { delete window.timelineState.exports[c]; }, args.channel);
  await p.click(`${ch} button[data-act="export"]`);
  const x = { percents: [] };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = await p.evaluate(([c, sel]) => {
      const el = document.querySelector(sel);
      return { job: window.timelineState.exports[c], state: el.dataset.state, percent_text: el.querySelector('.percent').textContent,
        progress: el.querySelector('progress').value, text: el.querySelector('.text').textContent };
    }, [args.channel, `${ch} .export-status`]);
    Object.assign(x, s);
    if (s.percent_text && x.percents.at(-1) !== s.percent_text) x.percents.push(s.percent_text);
    if (s.job && s.job.state !== 'running') break;
    await p.waitForTimeout(100);
  }
  return x;
}
