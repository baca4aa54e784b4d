package archive

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

// InitResult says what OfferInit did.
type InitResult struct {
	Info    *cmaf.InitInfo
	Key     string
	New     bool // a new init version for the track
	Changed bool // the codec configuration differs from the track's earlier init
}

// OfferInit takes an init segment from a source for a representation. It is
// validated, stored create-only under its content address and becomes the
// source's current init for the track. With strict set, an init whose codec
// configuration differs from the one the track already has is refused with
// ErrInitMismatch (push ingest); otherwise it starts a new init version (an
// encoder restart with a new configuration, pull mode).
func (c *Channel) OfferInit(ctx context.Context, source, rep string, data []byte, strict bool) (InitResult, error) {
	info, err := cmaf.ParseInit(data)
	if err != nil {
		return InitResult{}, fmt.Errorf("%w: init from %s for %s: %w", ErrInvalid, source, rep, err)
	}
	state, err := c.trackState(ctx, rep)
	if err != nil {
		return InitResult{}, err
	}
	state.mu.Lock()
	defer state.mu.Unlock()
	res := InitResult{Info: info}
	if st, ok := state.inits[info.SHA256]; ok {
		state.current[source] = st
		state.latest = st
		res.Key = st.row.Key
		return res, nil
	}
	if res.Changed, err = state.checkInit(info, source, rep, strict); err != nil {
		return InitResult{}, err
	}
	res.Key = layout.InitKey(c.Info.Name, rep, info.SHA256)
	row, err := c.storeInit(ctx, state.track.ID, res.Key, data, info, source)
	if err != nil {
		return InitResult{}, err
	}
	t, err := c.a.DB.UpsertTrack(ctx, withInit(state.track, info, c.segDurSeconds()))
	if err != nil {
		return InitResult{}, fmt.Errorf("track %s: %w", rep, err)
	}
	state.track = t
	st := &initState{info: info, row: row}
	state.inits[info.SHA256] = st
	state.current[source] = st
	state.latest = st
	res.New = true
	if res.Changed {
		c.a.Log.Warn("init segment changed: new init version", "channel", c.Info.Name, "rep", rep, "source", source, "codecs", info.Codecs, "key", res.Key)
	}
	return res, nil
}

// checkInit compares info, a new init of the track from source, with the
// track's current configuration: the newest init version (after an
// encoder restart with new settings, the old ones are history, not the
// reference). changed says it differs; with strict that is refused, as is
// (always) an init of another content type.
func (state *trackState) checkInit(info *cmaf.InitInfo, source, rep string, strict bool) (changed bool, err error) {
	if st := state.latest; st != nil {
		if st.info.ConfigHash != info.ConfigHash || st.info.Timescale != info.Timescale || st.info.TrackID != info.TrackID {
			changed = true
			if strict {
				return changed, fmt.Errorf("%w: %s init from %s has codecs %s, timescale %d, track %d; the track has %s, timescale %d, track %d",
					ErrInitMismatch, rep, source, info.Codecs, info.Timescale, info.TrackID, st.info.Codecs, st.info.Timescale, st.info.TrackID)
			}
		}
	}
	if ct := state.track.ContentType; ct != "" && ct != info.ContentType {
		return changed, fmt.Errorf("%w: %s init from %s is %s, the track is %s", ErrInitMismatch, rep, source, info.ContentType, ct)
	}
	return changed, nil
}

// storeInit writes an init create-only under key (an existing object is
// the same bytes: the key is their hash) and indexes it.
func (c *Channel) storeInit(ctx context.Context, trackID int64, key string, data []byte, info *cmaf.InitInfo, source string) (index.Init, error) {
	if err := c.a.Store.Create(ctx, key, data, layout.SourceAttrs(source)); err != nil && !errors.Is(err, cloud.ErrExists) {
		return index.Init{}, fmt.Errorf("store init %s: %w", key, err)
	}
	row, err := c.a.DB.AddInit(ctx, index.Init{TrackID: trackID, Hash: info.SHA256, ConfigHash: info.ConfigHash, Key: key, Size: int64(len(data)), FirstK: math.MaxInt64})
	if err != nil {
		return index.Init{}, fmt.Errorf("index init %s: %w", key, err)
	}
	return row, nil
}

// withInit is track t with what its init info says: the init is the truth
// for codec and timing parameters; language and bandwidth only fill what
// t does not know. segDurS is the channel's D in seconds (0: unknown), which
// sets t's D·T if not set yet.
func withInit(t index.Track, info *cmaf.InitInfo, segDurS float64) index.Track {
	t.ContentType, t.Timescale, t.Ext = info.ContentType, info.Timescale, layout.Ext(info.ContentType)
	if info.Codecs != "" {
		t.Codecs = info.Codecs
	}
	if info.Width > 0 {
		t.Width, t.Height = info.Width, info.Height
	}
	if info.SampleRate > 0 {
		t.SampleRate = info.SampleRate
	}
	if info.Channels > 0 {
		t.Channels = info.Channels
	}
	if t.Lang == "" && info.Lang != "" && info.Lang != "und" {
		t.Lang = info.Lang
	}
	if t.Bandwidth == 0 && info.Bitrate > 0 {
		t.Bandwidth = info.Bitrate
	}
	if segDurS > 0 && t.SegDur == 0 {
		t.SegDur = uint64(math.Round(segDurS * float64(info.Timescale)))
	}
	return t
}
