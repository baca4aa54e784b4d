// play.mjs plays an exported presentation to the end in headless Chromium
// with dash.js, Shaka Player or hls.js, and prints one JSON line:
//   {"player":..., "ok":bool, "ended":bool, "duration":s, "currentTime":s, "waiting":n,
//    "waitingAt":[s,...], "stalls":[{"at":s,"wall":s},...], "seeks":[{"from":s,"to":s},...],
//    "buffered":[[s,s],...], "licenceRequests":[url,...], "errors":[...]}
// waitingAt are the media times of the video element's 'waiting' events.
// A stall is a stretch of at least 0.25 s (wall clock) in which playback was
// on (after the first 'playing', not paused, not seeking, not ended) but
// currentTime did not advance: at is the media time, wall how long it lasted
// (a stall still going on when the result is taken is included). seeks are
// the seeks the player made by itself (gap jumping). buffered is the video
// element's buffered ranges at the end. licenceRequests are the URLs of the
// POST requests the page made to other origins than this harness (EME
// licence requests, e.g. to a ClearKey licence server).
// events are the timed-metadata events
// the player reported: {"kind","scheme","id","start","end","at"} — Shaka's
// 'timelineregionadded' (MPD EventStream, EXT-X-DATERANGE) and 'emsg',
// dash.js's events of the SCTE-35 schemes (fired on start: at is the media
// time then), hls.js's EXT-X-DATERANGEs of the loaded level; start/end are
// in presentation seconds.
// With --text LANG the player shows the subtitle track of that language, and
// cues lists the cues the video element's text tracks held:
// {"lang","label","start","end","text","shown"}, shown when the cue was
// active in a track in 'showing' mode (on screen) during playback.
// Usage: node play.mjs --player dashjs|shaka|hlsjs --root DIR --manifest PATH [--rate 8] [--timeout 180] [--text LANG]
// DIR is served at http://127.0.0.1:<port>/c/ ; PATH is relative to DIR.
// Live: node play.mjs --player P --url URL --watch S [--timeout T] plays the
// (CORS-enabled) manifest URL at rate 1 and watches it for S seconds of wall
// clock after the first 'playing'; ok when it played and no error came.
// The result then also has startTime (currentTime at the first 'playing'),
// advanced (currentTime now minus startTime) and watched (wall seconds since
// the first 'playing'). Shaka Player is then told to play right after its
// load, as a live page does.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const live = !!args.url;
for (const need of live ? ['player', 'watch'] : ['player', 'root', 'manifest']) {
  if (!args[need]) { console.error(`play.mjs: --${need} is required`); process.exit(2); }
}
const libs = {
  dashjs: 'node_modules/dashjs/dist/modern/umd/dash.all.min.js',
  shaka: 'node_modules/shaka-player/dist/shaka-player.compiled.js',
  hlsjs: 'node_modules/hls.js/dist/hls.min.js',
};
if (!libs[args.player]) { console.error(`play.mjs: unknown --player ${args.player}`); process.exit(2); }
const rate = live ? 1 : Number(args.rate || 8);
const watchS = Number(args.watch || 0);
const timeoutS = Number(args.timeout || 180);
const root = path.resolve(args.root || '.');
const types = { '.mpd': 'application/dash+xml', '.m3u8': 'application/vnd.apple.mpegurl', '.js': 'text/javascript', '.html': 'text/html' };

const page = `<!doctype html><html><body><video id="v" muted playsinline></video><div id="ttml"></div>
<script src="/lib.js"></script><script>
window.result = { errors: [], waiting: 0, waitingAt: [], stalls: [], seeks: [], ended: false, events: [], cues: [] };
const textLang = ${JSON.stringify(args.text || '')};
const cueSeen = new Map();
function pollCues() { // every cue of every text track, and whether it was on screen
  for (let i = 0; i < v.textTracks.length; i++) {
    const tr = v.textTracks[i];
    const active = new Set(tr.activeCues ? Array.from(tr.activeCues) : []);
    for (const c of (tr.cues ? Array.from(tr.cues) : [])) {
      const text = String(c.text || '');
      const key = [tr.language, tr.label, c.startTime, c.endTime, text].join('|');
      let e = cueSeen.get(key);
      if (!e) {
        if (cueSeen.size >= 1000) continue;
        e = { lang: tr.language, label: tr.label, start: c.startTime, end: c.endTime, text: text.slice(0, 200), shown: false };
        cueSeen.set(key, e);
        window.result.cues.push(e);
      }
      if (playing && tr.mode === 'showing' && active.has(c)) e.shown = true;
    }
  }
}
const ev = (kind, scheme, id, start, end) => window.result.events.push({ kind, scheme: String(scheme || ''), id: String(id), start, end: end === undefined ? null : end, at: v.currentTime });
const v = document.getElementById('v');
const url = ${live ? JSON.stringify(args.url) : "'/c/' + " + JSON.stringify(encodeURI(args.manifest || ''))};
let firstPlaying = null, startTime = null;
v.addEventListener('playing', () => { if (firstPlaying === null) { firstPlaying = performance.now(); startTime = v.currentTime; } });
let playing = false, lastT = -1, lastMove = 0, stall = null, seekFrom = null;
v.addEventListener('playing', () => { playing = true; });
v.addEventListener('ended', () => { window.result.ended = true; });
v.addEventListener('waiting', () => { window.result.waiting++; window.result.waitingAt.push(v.currentTime); });
v.addEventListener('seeking', () => { if (playing) seekFrom = lastT; });
v.addEventListener('seeked', () => { if (playing && seekFrom !== null) window.result.seeks.push({ from: seekFrom, to: v.currentTime }); seekFrom = null; });
function endStall(now) {
  if (stall) { window.result.stalls.push({ at: stall.at, wall: (now - stall.since) / 1000 }); stall = null; }
}
setInterval(() => {
  const now = performance.now();
  if (textLang) pollCues();
  if (!playing || v.paused || v.seeking || v.ended) { endStall(now); lastT = v.currentTime; lastMove = now; return; }
  if (v.currentTime !== lastT) { endStall(now); lastT = v.currentTime; lastMove = now; return; }
  if (!stall && now - lastMove >= 250) stall = { at: v.currentTime, since: lastMove };
}, 50);
window.snapshot = () => {
  const b = [];
  for (let i = 0; i < v.buffered.length; i++) b.push([v.buffered.start(i), v.buffered.end(i)]);
  const stalls = window.result.stalls.slice();
  if (stall) stalls.push({ at: stall.at, wall: (performance.now() - stall.since) / 1000, ongoing: true });
  const watched = firstPlaying === null ? 0 : (performance.now() - firstPlaying) / 1000;
  return { ...window.result, stalls, buffered: b, duration: v.duration, currentTime: v.currentTime,
    startTime, advanced: startTime === null ? 0 : v.currentTime - startTime, watched };
};
v.addEventListener('error', () => { window.result.errors.push('video element error ' + (v.error && v.error.message)); });
v.addEventListener('canplay', () => { v.playbackRate = ${rate}; v.play().catch(e => window.result.errors.push('play: ' + e)); }, { once: true });
async function start() {
  const p = '${args.player}';
  if (p === 'dashjs') {
    const pl = dashjs.MediaPlayer().create();
    pl.on(dashjs.MediaPlayer.events.ERROR, e => {
      const err = e.error || e;
      window.result.errors.push('dash.js: ' + (err.code !== undefined ? err.code + ' ' + err.message : JSON.stringify(err).slice(0, 300)));
    });
    for (const scheme of ['urn:scte:scte35:2014:xml+bin', 'urn:scte:scte35:2013:bin']) {
      pl.on(scheme, e => ev('dashjs', scheme, e.event.id, e.event.calculatedPresentationTime, e.event.calculatedPresentationTime + (e.event.duration || 0)),
        null, { mode: dashjs.MediaPlayer.events.EVENT_MODE_ON_START });
    }
    pl.initialize(v, null, false);
    if (textLang) {
      pl.attachTTMLRenderingDiv(document.getElementById('ttml')); // dash.js renders IMSC1 only into one
      pl.updateSettings({ streaming: { text: { defaultEnabled: true } } });
      pl.setInitialMediaSettingsFor('text', { lang: textLang });
    }
    pl.attachSource(url);
  } else if (p === 'shaka') {
    shaka.polyfill.installAll();
    const pl = new shaka.Player();
    await pl.attach(v);
    pl.addEventListener('error', e => window.result.errors.push('shaka: ' + JSON.stringify(e.detail).slice(0, 300)));
    pl.addEventListener('timelineregionadded', e => ev('region', e.detail.schemeIdUri, e.detail.id, e.detail.startTime, e.detail.endTime));
    pl.addEventListener('emsg', e => ev('emsg', e.detail.schemeIdUri, e.detail.id, e.detail.startTime, e.detail.endTime));
    // The preferred text track is streamed and shown from the start.
    if (textLang) pl.configure({ preferredText: [{ language: textLang }] });
    // Shaka 5.2 reuses an init-segment prefetch that a seek aborted, and
    // then never loads that stream again (shaka-project/shaka-player#10569,
    // fix pending in #10587). A text stream meets it when the player seeks
    // to the video's first frame at start: often in HLS, under load in DASH
    // too. Without prefetch it does not.
    if (textLang) pl.configure({ streaming: { segmentPrefetchLimit: 0 } });
    try { await pl.load(url); } catch (e) { window.result.errors.push('shaka load: ' + (e.code || e)); }
    // Live, play as a page does right after load (the timeline page does):
    // Shaka 5.2 does not jump a gap while the video is paused, so one that
    // starts in a gap and waits for 'canplay' there never plays.
    if (${live}) v.play().catch(() => {});
    if (textLang) {
      const tt = pl.getTextTracks().find(t => t.language === textLang);
      if (!tt) window.result.errors.push('shaka: no text track ' + textLang + ' in ' + JSON.stringify(pl.getTextTracks().map(t => t.language)));
      else if (!tt.active) pl.selectTextTrack(tt); // and shows it
    }
  } else {
    const hls = new Hls(textLang ? { subtitlePreference: { lang: textLang } } : {});
    const seen = new Set();
    hls.on(Hls.Events.LEVEL_LOADED, (_, d) => {
      for (const [id, dr] of Object.entries(d.details.dateRanges || {})) {
        if (seen.has(id)) continue;
        seen.add(id);
        ev('daterange', dr.attr['SCTE35-OUT'] ? 'SCTE35-OUT' : dr.attr['SCTE35-IN'] ? 'SCTE35-IN' : 'SCTE35-CMD', id, dr.startTime, dr.duration === null ? null : dr.startTime + dr.duration);
      }
    });
    if (textLang) {
      // A variant names one SUBTITLES group: play one whose group has the language.
      hls.on(Hls.Events.MANIFEST_PARSED, () => {
        const t = hls.allSubtitleTracks.find(t => t.lang === textLang);
        const i = t ? hls.levels.findIndex(l => (l.subtitleGroups || []).includes(t.groupId)) : -1;
        if (i >= 0) hls.currentLevel = i;
      });
      hls.subtitleDisplay = true;
      hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, (_, d) => {
        if (!d.subtitleTracks.some(t => t.lang === textLang)) window.result.errors.push('hls.js: no subtitle track ' + textLang + ' in ' + JSON.stringify(d.subtitleTracks.map(t => t.lang)));
      });
    }
    hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) window.result.errors.push('hls.js: ' + d.type + ' ' + d.details); });
    hls.loadSource(url); hls.attachMedia(v);
  }
}
start().catch(e => window.result.errors.push('start: ' + e));
</script></body></html>`;

const server = http.createServer((req, res) => {
  const u = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let file;
  if (u === '/') { res.writeHead(200, { 'content-type': 'text/html' }); res.end(page); return; }
  if (u === '/lib.js') file = path.join(here, libs[args.player]);
  else if (u.startsWith('/c/')) file = path.join(root, u.slice(3));
  if (!file || !file.startsWith(u === '/lib.js' ? here : root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    res.writeHead(404); res.end(); return;
  }
  res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream', 'access-control-allow-origin': '*' });
  fs.createReadStream(file).pipe(res);
});
await new Promise(r => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
});
let out = { player: args.player, ok: false };
try {
  const p = await browser.newPage();
  p.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') console.error('[page]', m.type(), m.text()); });
  const licenceRequests = [];
  p.on('request', r => {
    if (r.method() === 'POST' && new URL(r.url()).origin !== `http://127.0.0.1:${port}`) licenceRequests.push(r.url());
  });
  await p.goto(`http://127.0.0.1:${port}/`);
  const deadline = Date.now() + timeoutS * 1000;
  let r;
  while (Date.now() < deadline) {
    r = await p.evaluate(() => window.snapshot());
    if (r.ended || r.errors.length || (live && r.watched >= watchS)) break;
    await new Promise(res => setTimeout(res, 500));
  }
  out = { player: args.player, ...r, licenceRequests, ok: !!(r && (live ? r.watched >= watchS : r.ended) && r.errors.length === 0) };
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
