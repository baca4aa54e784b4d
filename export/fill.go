package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/manifest"
)

// SlateExts are the file extensions of slate track files.
var SlateExts = []string{"cmfv", "cmfa", "cmft", "mp4", "m4v", "m4a"}

// Slate is the asset `export-vod --gaps fill` splices over gaps: one CMAF
// track per content type (video, audio, text), each a single-track
// fragmented MP4 file (CMAF track file: ftyp, moov, then moof+mdat
// fragments), encoded with the channel's settings (same codec, timescale,
// frame rate, sample rate and channels). testdata/slate/ is one.
type Slate struct {
	URL    string
	tracks map[string]*slateTrack // by content type
}

// slateTrack is one track of a slate, decoded.
type slateTrack struct {
	file    string
	id      string // first HashLen hex digits of the SHA-256 of the file
	init    []byte // the init segment filler segments decode with
	info    *cmaf.InitInfo
	samples []mp4.Sample
	data    [][]byte
}

// LoadSlate reads a slate from a store URL (file://, s3://, gs://, mem://)
// or a local directory path: every object at its top level whose name ends
// in one of SlateExts is a track; others are ignored. There must be at most
// one track of each content type.
func LoadSlate(ctx context.Context, rawURL string) (*Slate, error) {
	u := rawURL
	if !strings.Contains(u, "://") {
		abs, err := filepath.Abs(u)
		if err != nil {
			return nil, fmt.Errorf("slate %s: %w", rawURL, err)
		}
		u = "file://" + filepath.ToSlash(abs)
	}
	st, err := cloud.Open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("slate: %w", err)
	}
	defer st.Close()
	var keys []string
	err = st.ListDir(ctx, "", func(a cloud.Attrs) error {
		ext := strings.TrimPrefix(path.Ext(a.Key), ".")
		if !a.Dir && slices.Contains(SlateExts, strings.ToLower(ext)) {
			keys = append(keys, a.Key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("slate %s: %w", rawURL, err)
	}
	sort.Strings(keys)
	s := &Slate{URL: rawURL, tracks: map[string]*slateTrack{}}
	for _, k := range keys {
		data, err := st.Get(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("slate %s: %w", rawURL, err)
		}
		t, err := decodeSlateTrack(k, data)
		if err != nil {
			return nil, fmt.Errorf("slate %s: %w", rawURL, err)
		}
		if o := s.tracks[t.info.ContentType]; o != nil {
			return nil, fmt.Errorf("slate %s: two %s tracks, %s and %s: want one per content type", rawURL, t.info.ContentType, o.file, k)
		}
		s.tracks[t.info.ContentType] = t
	}
	if len(s.tracks) == 0 {
		return nil, fmt.Errorf("slate %s: no track files (*.%s)", rawURL, strings.Join(SlateExts, ", *."))
	}
	return s, nil
}

// ContentTypes lists the slate's tracks, sorted.
func (s *Slate) ContentTypes() []string {
	var out []string
	for ct := range s.tracks {
		out = append(out, ct)
	}
	sort.Strings(out)
	return out
}

func decodeSlateTrack(name string, data []byte) (*slateTrack, error) {
	if err := cmaf.CheckStructure(data); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if f.Init == nil || f.Init.Moov == nil || len(f.Init.Moov.Traks) != 1 || f.Init.Moov.Mvex == nil {
		return nil, fmt.Errorf("%s: not a single-track fragmented MP4 file (CMAF track)", name)
	}
	moov := f.Init.Moov
	trex, ok := moov.Mvex.GetTrex(moov.Trak.Tkhd.TrackID)
	if !ok {
		return nil, fmt.Errorf("%s: no trex for its track", name)
	}
	t := &slateTrack{file: name}
	sum := sha256.Sum256(data)
	t.id = hex.EncodeToString(sum[:])[:layout.HashLen]
	for _, seg := range f.Segments {
		for _, frag := range seg.Fragments {
			fss, err := frag.GetFullSamples(trex)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			for _, fs := range fss {
				if fs.Dur == 0 {
					return nil, fmt.Errorf("%s: sample %d lasts 0 ticks", name, len(t.samples))
				}
				t.samples = append(t.samples, fs.Sample)
				t.data = append(t.data, fs.Data)
			}
		}
	}
	if len(t.samples) == 0 {
		return nil, fmt.Errorf("%s: no media samples", name)
	}
	if n := len(t.samples); n > 1 && t.samples[n-1].Dur < t.samples[0].Dur && moov.Trak.Mdia != nil && moov.Trak.Mdia.Hdlr != nil && moov.Trak.Mdia.Hdlr.HandlerType == "soun" {
		// An audio track whose duration is not a whole number of frames
		// ends in a shorter frame; fillers loop whole frames only.
		t.samples, t.data = t.samples[:n-1], t.data[:n-1]
	}
	// The filler init: the slate's, without edit list or durations (an
	// edit list would shift the fillers off the epoch timeline).
	trak := moov.Trak
	if moov.Mvhd != nil {
		moov.Mvhd.Duration = 0
	}
	if trak.Tkhd != nil {
		trak.Tkhd.Duration = 0
	}
	if trak.Mdia != nil && trak.Mdia.Mdhd != nil {
		trak.Mdia.Mdhd.Duration = 0
	}
	trak.Edts = nil
	trak.Children = withoutBox(trak.Children, "edts")
	moov.Mvex.Mehd = nil
	moov.Mvex.Children = withoutBox(moov.Mvex.Children, "mehd")
	var buf bytes.Buffer
	if err := f.Init.Encode(&buf); err != nil {
		return nil, fmt.Errorf("%s: encode init: %w", name, err)
	}
	t.init = buf.Bytes()
	if t.info, err = cmaf.ParseInit(t.init); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if t.info.ContentType == "video" && !t.samples[0].IsSync() {
		return nil, fmt.Errorf("%s: the first video sample is not a sync sample", name)
	}
	return t, nil
}

func withoutBox(boxes []mp4.Box, typ string) []mp4.Box {
	out := boxes[:0:0]
	for _, b := range boxes {
		if b.Type() != typ {
			out = append(out, b)
		}
	}
	return out
}

// forTrack returns the slate track that fills gaps of t, after checking that
// it can: same content type, timescale and, for audio, sample rate and
// channel count; same codec family.
func (s *Slate) forTrack(t index.Track) (*slateTrack, error) {
	st := s.tracks[t.ContentType]
	if st == nil {
		return nil, fmt.Errorf("slate %s has no %s track to fill gaps of %s (it has %s)", s.URL, t.ContentType, t.Rep, strings.Join(s.ContentTypes(), ", "))
	}
	in := st.info
	switch {
	case in.Timescale != t.Timescale:
		return nil, fmt.Errorf("slate %s: %s has timescale %d, track %s %d: encode the slate with the channel's settings", s.URL, st.file, in.Timescale, t.Rep, t.Timescale)
	case manifest.CodecFamily(in.Codecs) != manifest.CodecFamily(t.Codecs):
		return nil, fmt.Errorf("slate %s: %s has codecs %s, track %s %s: encode the slate with the channel's settings", s.URL, st.file, in.Codecs, t.Rep, t.Codecs)
	case t.ContentType == "audio" && ((t.SampleRate != 0 && in.SampleRate != t.SampleRate) || (t.Channels != 0 && in.Channels != t.Channels)):
		return nil, fmt.Errorf("slate %s: %s has %d Hz, %d channels, track %s %d Hz, %d channels", s.URL, st.file, in.SampleRate, in.Channels, t.Rep, t.SampleRate, t.Channels)
	}
	if t.ContentType == "audio" {
		d := st.samples[0].Dur
		for i, smp := range st.samples {
			if i == len(st.samples)-1 && i > 0 && smp.Dur < d {
				break // a shorter last frame: decodeSlateTrack leaves it out of fillers
			}
			if smp.Dur != d {
				return nil, fmt.Errorf("slate %s: %s sample %d lasts %d ticks, sample 0 %d: audio frames must all have the same duration", s.URL, st.file, i, smp.Dur, d)
			}
		}
	}
	return st, nil
}

// fillerSpan is [start, end) in ticks of the filler for K of track tr:
// video and text fillers are exactly where segment K sits on the grid,
// [tr.EPT(K), tr.EPT(K+1)); audio fillers start at the first frame boundary
// at or after tr.EPT(K) on the frame grid from the epoch (frame = the
// slate's frame duration), so consecutive fillers join without overlap.
func (t *slateTrack) fillerSpan(k int64, tr index.Track) (uint64, uint64) {
	start, end := uint64(tr.EPT(k)), uint64(tr.EPT(k+1))
	if t.info.ContentType != "audio" {
		return start, end
	}
	f := uint64(t.samples[0].Dur)
	up := func(x uint64) uint64 { return (x + f - 1) / f * f }
	return up(start), up(end)
}

// fillerSegment builds the filler media segment for epoch index K: slate
// samples, looped from the first, re-timed so that tfdt is the span's start
// (64-bit tfdt, mfhd sequence number K).
func (t *slateTrack) fillerSegment(k int64, tr index.Track) ([]byte, error) {
	segDur := tr.SegDur
	start, end := t.fillerSpan(k, tr)
	frag, err := mp4.CreateFragment(uint32(k), t.info.TrackID)
	if err != nil {
		return nil, err
	}
	dts, j := start, 0
	for dts < end {
		if j == len(t.samples) {
			j = 0
		}
		smp := t.samples[j]
		if j == 0 && t.info.ContentType == "video" && !smp.IsSync() {
			return nil, fmt.Errorf("slate %s: video does not start with a sync sample", t.file)
		}
		frag.AddFullSample(mp4.FullSample{Sample: smp, DecodeTime: dts, Data: t.data[j]})
		dts += uint64(smp.Dur)
		j++
	}
	if dts != end {
		return nil, fmt.Errorf("slate %s: its samples do not add up to the segment duration %d ticks (a sample ends at %d, not %d): make the slate a whole number of segments long with the channel's frame rate",
			t.file, segDur, dts-start, end-start)
	}
	if t.info.ContentType == "video" && j != len(t.samples) && !t.samples[j].IsSync() {
		return nil, fmt.Errorf("slate %s: the sample after the first segment duration (%d ticks) is not a sync sample: use a GOP that divides the segment duration", t.file, segDur)
	}
	frag.Moof.Traf.Tfdt.Version = 1
	frag.EncOptimize = mp4.OptimizeTrun
	var buf bytes.Buffer
	for _, b := range []interface{ Encode(w io.Writer) error }{mp4.NewStyp("msdh", 0, []string{"msdh", "msix"}), frag} {
		if err := b.Encode(&buf); err != nil {
			return nil, fmt.Errorf("slate %s: encode filler %d: %w", t.file, k, err)
		}
	}
	return buf.Bytes(), nil
}

// filler is an export's view of a filler object.
type filler struct {
	K        int64
	EPT      uint64
	Duration uint64
	Key      string
	Size     int64
}

// Fills are the fillers of an export's tracks (GapsFill), by track index:
// the filler objects of each track's missing Ks.
type Fills []trackFill

type trackFill struct {
	st      *slateTrack
	byK     map[int64]filler
	initKey string
}

// Fill makes sure every K the plan (GapsFill) has a filler for has its
// filler object made from slate, in the store and the index. It counts
// them in res.
func (d Deps) Fill(ctx context.Context, p *Plan, slate *Slate, res *Result) (Fills, error) {
	fs := make(Fills, len(p.loaded.tracks))
	if p.Mode != GapsFill {
		return fs, nil
	}
	for ti, ks := range p.missing {
		if len(ks) == 0 {
			continue
		}
		t := p.loaded.tracks[ti].t
		st, err := slate.forTrack(t)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		byK, initKey, created, err := d.ensureFillers(ctx, p.loaded.Channel, t, st, ks)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		fs[ti] = trackFill{st: st, byK: byK, initKey: initKey}
		res.Fillers += len(ks)
		res.FillersCreated += created
	}
	return fs, nil
}

// ensureFillers makes sure the filler objects for the Ks of a track exist
// in the store and the index, creating the missing ones (create-only: a
// rerun, or another export, reuses them). It returns them by K, and how
// many it created. The init they decode with is stored at initKey.
func (d Deps) ensureFillers(ctx context.Context, ch index.ChannelRow, t index.Track, st *slateTrack, ks []int64) (map[int64]filler, string, int, error) {
	out := map[int64]filler{}
	initKey := layout.FillerInitKey(ch.Name, t.Rep, st.info.SHA256)
	if len(ks) == 0 {
		return out, initKey, 0, nil
	}
	have, err := d.DB.Fillers(ctx, t.ID, st.id, ks[0], ks[len(ks)-1])
	if err != nil {
		return nil, "", 0, err
	}
	for _, f := range have {
		out[f.K] = filler{K: f.K, EPT: f.EPT, Duration: f.Duration, Key: f.Key, Size: f.Size}
	}
	created, initStored := 0, false
	for _, k := range ks {
		if _, ok := out[k]; ok {
			continue
		}
		// The init goes in before the first filler made: a filler the
		// index has is stored with it (prune deletes it with the last
		// filler), so a live origin's builds, which find theirs made,
		// write nothing.
		if !initStored {
			if err := d.Store.Create(ctx, initKey, st.init, layout.SourceAttrs("slate:"+st.id)); err != nil && !errors.Is(err, cloud.ErrExists) {
				return nil, "", 0, fmt.Errorf("store filler init %s: %w", initKey, err)
			}
			initStored = true
		}
		f, isNew, err := d.makeFiller(ctx, ch, t, st, initKey, k)
		if err != nil {
			return nil, "", 0, err
		}
		if isNew {
			created++
		}
		out[k] = f
	}
	return out, initKey, created, nil
}

// makeFiller stores the filler for K of t (create-only: an object with
// the same bytes is reused) and records it in the index; isNew says
// whether this call stored it.
func (d Deps) makeFiller(ctx context.Context, ch index.ChannelRow, t index.Track, st *slateTrack, initKey string, k int64) (f filler, isNew bool, err error) {
	data, err := st.fillerSegment(k, t)
	if err != nil {
		return filler{}, false, err
	}
	info, err := cmaf.ParseSegment(data, st.info)
	if err != nil {
		return filler{}, false, fmt.Errorf("filler %s K=%d: %w", t.Rep, k, err)
	}
	key := layout.FillerKey(ch.Name, t.Rep, k, st.id, t.Ext)
	attrs := layout.SegmentAttrs{EPT: info.EPT, Duration: info.Duration, Timescale: st.info.Timescale, SegDur: t.SegDur,
		SHA256: info.SHA256, Init: layout.InitID(st.info.SHA256), Source: "slate:" + st.id, Events: layout.EventsNotRecorded}
	err = d.Store.Create(ctx, key, data, attrs.Map())
	switch {
	case err == nil:
		isNew = true
	case errors.Is(err, cloud.ErrExists):
		old, gerr := d.Store.Get(ctx, key)
		if gerr != nil {
			return filler{}, false, fmt.Errorf("filler %s: %w", key, gerr)
		}
		if !bytes.Equal(old, data) {
			return filler{}, false, fmt.Errorf("filler %s already exists with other content", key)
		}
	default:
		return filler{}, false, fmt.Errorf("store filler %s: %w", key, err)
	}
	row, err := d.DB.AddFiller(context.WithoutCancel(ctx), index.Filler{TrackID: t.ID, K: k, Slate: st.id, EPT: info.EPT, Duration: info.Duration,
		Size: int64(len(data)), SHA256: info.SHA256, Key: key, InitKey: initKey, CreatedAt: d.now().UTC().Truncate(time.Microsecond)})
	if err != nil {
		return filler{}, false, err
	}
	return filler{K: k, EPT: row.EPT, Duration: row.Duration, Key: row.Key, Size: row.Size}, isNew, nil
}
