// timeline.js draws each channel's timeline from /api/<channel>/timeline,
// zooms it from a day to a minute, plays a clicked point (start-over) or a
// selected range (catch-up) in Shaka Player, and starts exports.
'use strict';
(() => {
  const MIN_SPAN = 60, MAX_SPAN = 86400;
  // window.timelineState is what a test (or a curious operator) reads.
  const state = window.timelineState = { url: '', errors: [], loaded: {}, exports: {} };
  const video = document.querySelector('#player video');
  const statusEl = document.getElementById('player-status');
  let player = null;

  const iso = t => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
  const enc = encodeURIComponent;

  // play plays url; a start-over (dynamic) presentation from startTime (its
  // media time is seconds since the epoch), a catch-up one from its start.
  async function play(url, startTime) {
    state.url = url;
    state.errors = [];
    document.getElementById('playing-url').textContent = url;
    statusEl.textContent = 'loading';
    try {
      if (!player) {
        shaka.polyfill.installAll();
        player = new shaka.Player();
        await player.attach(video);
        player.addEventListener('error', e => fail(e.detail));
      }
      await player.load(url, startTime);
      statusEl.textContent = 'playing';
      await video.play().catch(() => {});
    } catch (e) {
      fail(e);
    }
  }

  function fail(e) {
    const msg = e && e.code !== undefined ? 'Shaka error ' + e.code : String(e);
    state.errors.push(msg);
    statusEl.textContent = msg;
  }

  // Channel is one channel's section: its view [from, to) and its data.
  class Channel {
    constructor(el) {
      this.el = el;
      this.name = el.dataset.channel;
      this.area = el.querySelector('.area');
      this.sel = el.querySelector('.selection');
      this.bar = el.querySelector('.range-bar');
      this.from = 0;
      this.to = 0;
      this.range = null;
      el.querySelectorAll('button[data-span]').forEach(b => b.onclick = () => this.setSpan(+b.dataset.span));
      el.querySelectorAll('button[data-zoom]').forEach(b => b.onclick = () => this.setSpan((this.to - this.from) * +b.dataset.zoom));
      el.querySelectorAll('button[data-pan]').forEach(b => b.onclick = () => this.pan((this.to - this.from) * +b.dataset.pan));
      el.querySelector('button[data-edge]').onclick = () => this.load('', '');
      this.bar.querySelectorAll('button[data-act]').forEach(b => b.onclick = () => this.act(b.dataset.act));
      this.area.addEventListener('mousedown', e => this.down(e));
      this.area.addEventListener('wheel', e => { e.preventDefault(); this.zoomAt(e); }, { passive: false });
    }

    async load(from, to) {
      let q = '';
      if (from !== '') q = `?from=${from}&to=${to}`;
      const res = await fetch(`/api/${enc(this.name)}/timeline${q}`);
      if (!res.ok) { this.el.querySelector('.view').textContent = await res.text(); return; }
      const d = await res.json();
      this.from = d.from;
      this.to = d.to;
      this.draw(d);
      state.loaded[this.name] = { from: d.from, to: d.to };
    }

    setSpan(span) {
      span = Math.min(MAX_SPAN, Math.max(MIN_SPAN, span));
      const mid = (this.from + this.to) / 2;
      this.load(mid - span / 2, mid + span / 2);
    }

    pan(dt) { this.load(this.from + dt, this.to + dt); }

    zoomAt(e) {
      const t = this.timeAt(e.clientX), f = e.deltaY > 0 ? 1.25 : 0.8;
      const span = Math.min(MAX_SPAN, Math.max(MIN_SPAN, (this.to - this.from) * f));
      const a = (t - this.from) / (this.to - this.from);
      this.load(t - a * span, t + (1 - a) * span);
    }

    // x is the left of time t in percent of the area.
    x(t) { return (t - this.from) / (this.to - this.from) * 100; }

    timeAt(clientX) {
      const r = this.area.getBoundingClientRect();
      const a = Math.min(1, Math.max(0, (clientX - r.left) / r.width));
      return this.from + a * (this.to - this.from);
    }

    draw(d) {
      this.el.querySelector('.view').textContent = `${iso(d.from)} – ${iso(d.to)}`;
      this.drawAxis();
      for (const tr of d.tracks) {
        const lane = this.el.querySelector(`.lane[data-rep="${CSS.escape(tr.rep)}"]`);
        if (!lane) continue;
        lane.replaceChildren();
        for (const kind of ['runs', 'gaps', 'fillers', 'splices']) {
          for (const s of tr[kind]) lane.append(this.seg(kind.slice(0, -1), s.start, s.end, s));
        }
        for (const m of tr.markers) lane.append(this.seg('marker', m.time, null, m));
      }
      this.hideRange();
    }

    seg(kind, start, end, s) {
      const el = document.createElement('div');
      el.className = 'seg ' + kind;
      const a = Math.max(0, this.x(start));
      el.style.left = a + '%';
      if (end !== null) el.style.width = (Math.min(100, this.x(end)) - a) + '%';
      el.dataset.start = start;
      if (end !== null) el.dataset.end = end;
      if (s.from_k !== undefined) { el.dataset.fromK = s.from_k; el.dataset.toK = s.to_k; }
      el.title = `${kind} ${iso(start)}` + (end !== null ? ` – ${iso(end)}` : '') +
        (s.from_k !== undefined ? ` (K ${s.from_k}–${s.to_k})` : '') + (s.command ? ` ${s.command}` : '') + (s.id !== undefined && kind !== 'run' ? ` id ${s.id}` : '');
      return el;
    }

    drawAxis() {
      const axis = this.el.querySelector('.axis');
      axis.replaceChildren();
      const span = this.to - this.from;
      const step = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 14400].find(s => span / s <= 8) || 21600;
      for (let t = Math.ceil(this.from / step) * step; t < this.to; t += step) {
        const l = document.createElement('span');
        l.style.left = this.x(t) + '%';
        l.textContent = iso(t).slice(11, step < 60 ? 19 : 16);
        axis.append(l);
      }
    }

    // down starts a click (play from there) or a drag (select a range).
    down(e) {
      const x0 = e.clientX, t0 = this.timeAt(x0);
      const move = m => { if (Math.abs(m.clientX - x0) > 3) this.showRange(t0, this.timeAt(m.clientX)); };
      const up = u => {
        window.removeEventListener('mousemove', move);
        window.removeEventListener('mouseup', up);
        if (Math.abs(u.clientX - x0) <= 3) {
          this.hideRange();
          const start = Math.floor(t0);
          play(`/${enc(this.name)}/manifest.mpd?start=${start}`, start);
        }
      };
      window.addEventListener('mousemove', move);
      window.addEventListener('mouseup', up);
    }

    showRange(a, b) {
      const from = Math.floor(Math.min(a, b)), to = Math.ceil(Math.max(a, b));
      this.range = { from, to };
      this.sel.hidden = false;
      this.sel.style.left = this.x(from) + '%';
      this.sel.style.width = (this.x(to) - this.x(from)) + '%';
      this.bar.hidden = false;
      this.bar.querySelector('.range').textContent = `${iso(from)} – ${iso(to)}`;
      this.bar.querySelector('.url').value = this.catchUpURL(true);
    }

    hideRange() { this.range = null; this.sel.hidden = true; this.bar.hidden = true; }

    catchUpURL(absolute) {
      const p = `/${enc(this.name)}/manifest.mpd?start=${this.range.from}&end=${this.range.to}`;
      return absolute ? location.origin + p : p;
    }

    act(what) {
      if (!this.range) return;
      if (what === 'catchup') play(this.catchUpURL(false));
      if (what === 'copy') {
        const u = this.bar.querySelector('.url');
        u.select();
        (navigator.clipboard ? navigator.clipboard.writeText(u.value) : Promise.reject()).catch(() => document.execCommand('copy'));
      }
      if (what === 'export') this.exportRange();
    }

    // exportRange starts an export of the range and shows its progress
    // (percent of the objects written) until it is done or failed.
    async exportRange() {
      const body = new URLSearchParams({ from: this.range.from, to: this.range.to });
      const res = await fetch(`/api/${enc(this.name)}/exports`, { method: 'POST', body });
      const text = await res.text();
      let job;
      try { job = JSON.parse(text); } catch (e) { job = { error: text.trim() }; }
      if (!res.ok) { this.showExport({ state: 'refused', error: `${job.error} (${res.status})` }); return; }
      const poll = async () => {
        const r = await fetch(`/api/${enc(this.name)}/exports/${job.id}`);
        const j = await r.json().catch(() => ({ error: `status ${r.status}` }));
        if (!r.ok) { this.showExport({ id: job.id, state: 'unknown', error: j.error }); return; }
        this.showExport(j);
        if (j.state === 'running') setTimeout(poll, 500);
      };
      this.showExport(job);
      poll();
    }

    // showExport shows export job j: a progress bar and percentage while
    // it runs, what it wrote when done, its error when it failed.
    showExport(j) {
      state.exports[this.name] = j;
      const el = this.el.querySelector('.export-status');
      el.hidden = false;
      el.dataset.state = j.state;
      const pct = j.percent || 0;
      el.querySelector('progress').value = pct;
      el.querySelector('.percent').textContent = j.state === 'running' || j.state === 'done' ? `${Math.floor(pct)} %` : '';
      let t = `export ${j.id || ''} ${j.state}`;
      if (j.elapsed_seconds !== undefined) t += ` (${j.elapsed_seconds.toFixed(1)} s)`;
      if (j.state === 'running' && j.total) t += `: ${j.step}, ${j.done} of ${j.total} objects`;
      if (j.state === 'done') t += `: ${j.segments} segments, ${j.copied} objects copied; MPD ${j.mpd}` + (j.hls ? `, HLS ${j.hls}` : '');
      if (j.error) t += ': ' + j.error;
      el.querySelector('.text').textContent = t;
    }
  }

  document.querySelectorAll('.channel').forEach(el => new Channel(el).load('', ''));
})();
