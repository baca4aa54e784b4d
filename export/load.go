package export

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
)

// Deps are what an export reads and writes: the archive's store and index.
type Deps struct {
	Store *cloud.Store // the archived objects; GapsFill creates fillers here
	DB    *index.DB
	Log   *slog.Logger     // nil: no logging
	Now   func() time.Time // when a filler is created; nil: time.Now
}

func (d Deps) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

func (d Deps) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// Loaded is what the index (and the store's inits) hold of a channel's
// range: every track's segments in it, and the codec configuration of each
// distinct init they decode with.
type Loaded struct {
	Channel  index.ChannelRow
	From, To time.Time
	Gaps     int // holes (runs of missing K) inside the tracks' ranges

	tracks []trackSegs
	inits  map[int64]index.Init
	// configs names the codec configuration of each init (equal names:
	// interchangeable inits); infos holds the parsed init (nil:
	// configuration not known).
	configs map[int64]string
	infos   map[int64]*cmaf.InitInfo
}

// expSeg is what an export needs of an index row.
type expSeg struct {
	K        int64
	EPT      uint64
	Duration uint64
	Size     int64
	InitID   int64
}

type trackSegs struct {
	t    index.Track
	segs []expSeg
	runs []segRun // of segs; buildPlan works them out when nil
	// dirs are the media patterns of segments stored elsewhere than at
	// <ch>/<rep>/<K>.<ext>: a splice's replacements, under
	// <ch>/<rep>/splice-<id>/. dirOf maps the K of such a segment to 1 + the
	// index of its pattern (nil when there is none).
	dirs  []string
	dirOf map[int64]int
}

// addDir notes that segment g is stored at g.Key, not at its usual key:
// the directory of the key becomes a media pattern of its own, and the
// segments in it a Period of their own (an HLS discontinuity).
func (x *trackSegs) addDir(g index.Segment) error {
	dir, name := path.Split(g.Key)
	num, ext, _ := strings.Cut(name, ".")
	if dir == "" || num != strconv.FormatInt(g.K, 10) || ext == "" || strings.Contains(g.Key, "$") {
		return fmt.Errorf("%s K=%d is stored at %s, which a $Number$ template cannot address", x.t.Rep, g.K, g.Key)
	}
	pat := dir + "$Number$." + ext
	i := 0
	for i < len(x.dirs) && x.dirs[i] != pat {
		i++
	}
	if i == len(x.dirs) {
		x.dirs = append(x.dirs, pat)
	}
	if x.dirOf == nil {
		x.dirOf = map[int64]int{}
	}
	x.dirOf[g.K] = i + 1
	return nil
}

// Load reads the segments of channel's tracks that overlap [from, to), and
// each distinct init they decode with.
func (d Deps) Load(ctx context.Context, channel string, from, to time.Time) (*Loaded, error) {
	l, err := d.loadRows(ctx, channel, from, to)
	if err != nil {
		return nil, err
	}
	if err := l.checkNotEmpty(); err != nil {
		return nil, err
	}
	if err := d.loadInits(ctx, l); err != nil {
		return nil, err
	}
	return l, nil
}

// loadRows reads the index rows of the channel's tracks in [from, to).
func (d Deps) loadRows(ctx context.Context, channel string, from, to time.Time) (*Loaded, error) {
	ch, err := d.DB.Channel(ctx, channel)
	if err != nil {
		return nil, fmt.Errorf("export: channel %q: %w", channel, err)
	}
	tracks, err := d.DB.Tracks(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	l := &Loaded{Channel: ch, From: from, To: to, inits: map[int64]index.Init{}, configs: map[int64]string{}, infos: map[int64]*cmaf.InitInfo{}}
	for _, t := range tracks {
		if t.Timescale == 0 || t.SegDur == 0 {
			continue // a track that never got an init/segment
		}
		x, err := d.loadTrack(ctx, ch, t, from, to)
		if err != nil {
			return nil, err
		}
		if len(x.segs) == 0 {
			continue
		}
		l.tracks = append(l.tracks, x)
		l.Gaps += holes(x.runs)
	}
	return l, nil
}

// checkNotEmpty is an error when no track has a segment in the range.
func (l *Loaded) checkNotEmpty() error {
	if len(l.tracks) == 0 {
		return fmt.Errorf("export: channel %s has %w between %s and %s", l.Channel.Name, ErrNoSegments, l.From.UTC().Format(time.RFC3339), l.To.UTC().Format(time.RFC3339))
	}
	return nil
}

// loadTrack reads the segments of t that overlap [from, to): only what
// the manifests need, not whole index rows (a day of 8 tracks is 345,600
// segments).
func (d Deps) loadTrack(ctx context.Context, ch index.ChannelRow, t index.Track, from, to time.Time) (trackSegs, error) {
	fromK, _ := t.KAt(from)
	toK, exact := t.KAt(to)
	if exact {
		toK-- // [from, to): the segment starting at to is out
	}
	return d.loadTrackK(ctx, ch, t, fromK, toK)
}

// loadTrackK reads the segments of t with fromK <= K <= toK.
func (d Deps) loadTrackK(ctx context.Context, ch index.ChannelRow, t index.Track, fromK, toK int64) (trackSegs, error) {
	x, dir := trackSegs{t: t}, ch.Name+"/"+t.Rep+"/"
	err := d.DB.ForEachSegment(ctx, t.ID, fromK, toK, func(g index.Segment) error {
		x.segs = append(x.segs, expSeg{K: g.K, EPT: g.EPT, Duration: g.Duration, Size: g.Size, InitID: g.InitID})
		x.runs = extendRuns(x.runs, g.K, g.InitID)
		if movedKey(dir, g.Key) != "" {
			return x.addDir(g) // not <ch>/<rep>/<K>.<ext>: a splice's replacement
		}
		return nil
	})
	if err != nil {
		return trackSegs{}, fmt.Errorf("export: %s: %w", t.Rep, err)
	}
	return x, nil
}

// loadInits reads each distinct init of the loaded segments once, and
// names its codec configuration. Segments of one Period decode with one
// init: inits are interchangeable when they agree on what the recorder
// compares (OfferInit): the codec configuration, track_ID and timescale.
// The index keeps only the first, so each distinct init is read once. The
// protection is part of it: a new key ID (in the stsd's tenc) or pssh (in
// the moov) starts a new Period.
func (d Deps) loadInits(ctx context.Context, l *Loaded) error {
	for _, x := range l.tracks {
		for _, s := range x.segs {
			if _, ok := l.configs[s.InitID]; ok {
				continue
			}
			if err := d.loadInit(ctx, l, x.t.Rep, s.InitID); err != nil {
				return fmt.Errorf("export: %w", err)
			}
		}
	}
	return nil
}

func (d Deps) loadInit(ctx context.Context, l *Loaded, rep string, id int64) error {
	in, err := d.DB.InitByID(ctx, id)
	if err != nil {
		return fmt.Errorf("%s init %d: %w", rep, id, err)
	}
	return d.addInit(ctx, l, rep, in)
}

// addInit gives l the init row in and names its codec configuration,
// reading and parsing its bytes when the index knows its configuration.
func (d Deps) addInit(ctx context.Context, l *Loaded, rep string, in index.Init) error {
	id := in.ID
	l.inits[id] = in
	c := "init:" + strconv.FormatInt(id, 10) // unknown configuration: its own
	if in.ConfigHash != "" {
		data, err := d.Store.Get(ctx, in.Key)
		if err != nil {
			return fmt.Errorf("%s init %s: %w", rep, in.Key, err)
		}
		info, err := cmaf.ParseInit(data)
		if err != nil {
			return fmt.Errorf("%s init %s: %w", rep, in.Key, err)
		}
		c = fmt.Sprintf("%s/%d/%d/%s", info.ConfigHash, info.TrackID, info.Timescale, info.Protection.Key())
		l.infos[id] = info
	}
	l.configs[id] = c
	return nil
}
