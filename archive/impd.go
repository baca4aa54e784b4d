package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/manifest"
)

// MPDResult says what OfferMPD did.
type MPDResult struct {
	Key string // the I-MPD's object key
	New bool   // stored now, not found stored already
}

// OfferMPD takes an I-MPD a source delivered (data as received, live
// parsed from it): StoreMPD, then DescribeMPD. An error of the first step
// is returned before the second.
func (c *Channel) OfferMPD(ctx context.Context, source string, data []byte, live *manifest.Live) (MPDResult, error) {
	res, err := c.StoreMPD(ctx, source, data)
	if err != nil {
		return res, err
	}
	return res, c.DescribeMPD(ctx, live)
}

// StoreMPD keeps an I-MPD of source as received: create-only under its
// content address (LAYOUT.md). An I-MPD stored already is not new.
func (c *Channel) StoreMPD(ctx context.Context, source string, data []byte) (MPDResult, error) {
	sum := sha256.Sum256(data)
	res := MPDResult{Key: layout.IMPDKey(c.Info.Name, hex.EncodeToString(sum[:])), New: true}
	err := c.a.Store.Create(ctx, res.Key, data, layout.SourceAttrs(source))
	if errors.Is(err, cloud.ErrExists) {
		res.New, err = false, nil
	}
	if err != nil {
		return res, fmt.Errorf("store I-MPD %s: %w", res.Key, err)
	}
	return res, nil
}

// DescribeMPD takes what an I-MPD says: its nominal segment duration
// becomes the channel's D if that is not known yet (a different one is
// logged), and the metadata of each of its tracks is merged into the
// track's index row (DescribeTrack).
func (c *Channel) DescribeMPD(ctx context.Context, live *manifest.Live) error {
	if live.SegDurSeconds > 0 {
		d := time.Duration(live.SegDurSeconds * float64(time.Second))
		if cur := c.SegmentDuration(); cur > 0 && cur != d {
			c.a.Log.Warn("I-MPD segment duration differs from the channel's", "channel", c.Info.Name, "mpd", d, "segment_duration", cur)
		}
		c.SetSegmentDuration(d)
	}
	for i := range live.Tracks {
		lt := &live.Tracks[i]
		if err := c.DescribeTrack(ctx, TrackMetaOf(lt)); err != nil {
			return fmt.Errorf("I-MPD representation %q: %w", lt.Rep, err)
		}
	}
	return nil
}

// TrackMeta is what a manifest says about a track (index.TrackMeta).
type TrackMeta = index.TrackMeta

// TrackMetaOf is what the live MPD's track lt says of it.
func TrackMetaOf(lt *manifest.LiveTrack) TrackMeta { return index.TrackMetaOf(lt) }

// DescribeTrack merges manifest metadata into the track's index row.
func (c *Channel) DescribeTrack(ctx context.Context, m TrackMeta) error {
	if err := layout.ValidName("representation", m.Rep); err != nil {
		return err
	}
	state, err := c.trackState(ctx, m.Rep)
	if err != nil {
		return err
	}
	state.mu.Lock()
	defer state.mu.Unlock()
	row, err := c.a.DB.UpsertTrack(ctx, m.Apply(state.track))
	if err != nil {
		return fmt.Errorf("track %s: %w", m.Rep, err)
	}
	state.track = row
	return nil
}
