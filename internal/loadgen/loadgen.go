// Package loadgen is the load generator of the push-ingest benchmark
// (archive/ingest BenchmarkIngestLoad): valid CMAF init and media segments
// for many channels of several video and audio tracks on the REaP epoch
// grid, and a concurrent HTTP pusher for them.
//
// The segments are the test asset (testdata/video.cmfv, audio.cmfa) as the
// simulate package re-times it: media segment K of every track has
// EPT = K·D·timescale (audio: the first AAC frame at or after K·D), a styp,
// one moof with a 64-bit tfdt and mfhd sequence number K, and one mdat. The
// video tracks form a bitrate ladder: each video sample gets an H.264 filler
// data NAL unit (nal_unit_type 12, ITU-T H.264 clause 7.3.2.7) appended, so
// that a media segment has the size asked for while staying a decodable
// AVC sample. Audio segments are the asset's AAC frames as they are.
//
// The media segments of one track are the same bytes in every channel (a
// channel is an independent archive directory and index scope), so the
// generator holds Segments × (video sizes + audio) bytes, not ×Channels.
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/simulate"
)

// Defaults of Options.
const (
	DefaultChannels        = 8
	DefaultAudioTracks     = 4
	DefaultSegments        = 8
	DefaultSegmentDuration = 4 * time.Second
	// DefaultK0 is the first epoch index: 2026-04-12 with D = 4 s, so tfdts
	// need 64 bits and K a uint32 (cmaf-ingest-receiver names files by the
	// mfhd sequence number).
	DefaultK0 = int64(444_000_000)
)

// DefaultVideoSizes is the video ladder: media segment sizes in bytes of the
// video tracks of a channel (4, 3, 2 and 1 Mbit/s at D = 4 s).
var DefaultVideoSizes = []int{2_000_000, 1_500_000, 1_000_000, 500_000}

// Options configure New. Video and Audio are required.
type Options struct {
	// Video and Audio are the asset (testdata/video.cmfv, audio.cmfa).
	Video, Audio []byte
	// Channels, default DefaultChannels.
	Channels int
	// VideoSizes: one video track per entry, whose media segments are
	// padded to that many bytes (at least the asset's size). Default
	// DefaultVideoSizes.
	VideoSizes []int
	// AudioTracks per channel, default DefaultAudioTracks.
	AudioTracks int
	// Segments per track, default DefaultSegments.
	Segments int
	// SegmentDuration D, a multiple of 2 s (the asset's GOP), default 4 s.
	SegmentDuration time.Duration
	// K0 is the epoch index of the first media segment, default DefaultK0.
	K0 int64
}

// Track is one track of one channel.
type Track struct {
	Channel string
	Rep     string // "v0", "v1", … then "a0", "a1", …
	Ext     string // "cmfv" or "cmfa"
	Video   bool
	Init    []byte
	// Segments[i] is media segment K0+i (shared with the same track of the
	// other channels: do not modify).
	Segments [][]byte
}

// K returns the epoch index of Segments[i].
func (l *Load) K(i int) int64 { return l.K0 + int64(i) }

// Load is a generated load.
type Load struct {
	Tracks          []Track
	SegmentDuration time.Duration
	K0              int64
	// MediaSegments and MediaBytes count the media segments of all tracks
	// (init segments excluded).
	MediaSegments int
	MediaBytes    int64
}

// Channels returns the channel names in order.
func (l *Load) Channels() []string {
	var out []string
	for _, t := range l.Tracks {
		if !slices.Contains(out, t.Channel) {
			out = append(out, t.Channel)
		}
	}
	return out
}

// ChannelName is the name of channel i.
func ChannelName(i int) string { return fmt.Sprintf("ch%d", i) }

// New generates a load.
func New(opts Options) (*Load, error) {
	if opts.Channels == 0 {
		opts.Channels = DefaultChannels
	}
	if opts.VideoSizes == nil {
		opts.VideoSizes = DefaultVideoSizes
	}
	if opts.AudioTracks == 0 {
		opts.AudioTracks = DefaultAudioTracks
	}
	if opts.Segments == 0 {
		opts.Segments = DefaultSegments
	}
	if opts.SegmentDuration == 0 {
		opts.SegmentDuration = DefaultSegmentDuration
	}
	if opts.K0 == 0 {
		opts.K0 = DefaultK0
	}
	if opts.Channels < 0 || opts.AudioTracks < 0 || opts.Segments < 0 || opts.K0 < 0 {
		return nil, errors.New("loadgen: negative count")
	}
	if opts.K0+int64(opts.Segments) > 1<<32-1 {
		return nil, errors.New("loadgen: K does not fit a 32-bit sequence number")
	}
	sim, err := simulate.New(simulate.Options{Video: opts.Video, Audio: opts.Audio, SegmentDuration: opts.SegmentDuration})
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	vInit, err := sim.Init(simulate.VideoRep)
	if err != nil {
		return nil, err
	}
	aInit, err := sim.Init(simulate.AudioRep)
	if err != nil {
		return nil, err
	}
	trex, err := trexOf(vInit)
	if err != nil {
		return nil, err
	}
	l := &Load{SegmentDuration: opts.SegmentDuration, K0: opts.K0}

	// One set of segments per track kind, shared by all channels.
	video := make([][][]byte, len(opts.VideoSizes))
	audio := make([][]byte, opts.Segments)
	for i := range opts.Segments {
		k := opts.K0 + int64(i)
		v, err := sim.Segment(simulate.VideoRep, k)
		if err != nil {
			return nil, err
		}
		if audio[i], err = sim.Segment(simulate.AudioRep, k); err != nil {
			return nil, err
		}
		for j, size := range opts.VideoSizes {
			p, err := padVideo(v, trex, size)
			if err != nil {
				return nil, fmt.Errorf("loadgen: video segment %d to %d bytes: %w", k, size, err)
			}
			video[j] = append(video[j], p)
		}
	}
	for c := range opts.Channels {
		ch := ChannelName(c)
		for j := range opts.VideoSizes {
			l.Tracks = append(l.Tracks, Track{Channel: ch, Rep: fmt.Sprintf("v%d", j), Ext: "cmfv", Video: true, Init: vInit, Segments: video[j]})
		}
		for j := range opts.AudioTracks {
			l.Tracks = append(l.Tracks, Track{Channel: ch, Rep: fmt.Sprintf("a%d", j), Ext: "cmfa", Init: aInit, Segments: audio})
		}
	}
	for _, t := range l.Tracks {
		for _, s := range t.Segments {
			l.MediaSegments++
			l.MediaBytes += int64(len(s))
		}
	}
	return l, nil
}

func trexOf(init []byte) (*mp4.TrexBox, error) {
	f, err := mp4.DecodeFile(bytes.NewReader(init))
	if err != nil {
		return nil, fmt.Errorf("loadgen: init: %w", err)
	}
	if f.Init == nil || f.Init.Moov == nil || f.Init.Moov.Mvex == nil || f.Init.Moov.Mvex.Trex == nil {
		return nil, errors.New("loadgen: init has no moov/mvex/trex")
	}
	return f.Init.Moov.Mvex.Trex, nil
}

// padVideo rebuilds a simulator video segment (styp, moof, mdat) with an
// H.264 filler data NAL unit appended to every sample, so that the segment
// is size bytes long.
func padVideo(seg []byte, trex *mp4.TrexBox, size int) ([]byte, error) {
	f, err := mp4.DecodeFile(bytes.NewReader(seg))
	if err != nil {
		return nil, err
	}
	if len(f.Segments) != 1 || len(f.Segments[0].Fragments) != 1 || f.Segments[0].Styp == nil {
		return nil, errors.New("not a styp+moof+mdat segment")
	}
	frag := f.Segments[0].Fragments[0]
	samples, err := frag.GetFullSamples(trex)
	if err != nil {
		return nil, err
	}
	for _, s := range samples {
		if err := checkNALUs(s.Data); err != nil {
			return nil, err
		}
	}
	extra := size - len(seg)
	// A filler NAL unit: 4-byte length, header, payload, trailing bits: at
	// least 6 bytes; samples that would get less get none.
	per := extra / len(samples)
	if extra < 0 || per < 6 {
		return nil, fmt.Errorf("asset segment is %d bytes already", len(seg))
	}
	rest := extra - per*len(samples)
	for i := range samples {
		n := per
		if i == 0 {
			n += rest // the sync sample takes the remainder
		}
		samples[i].Data = append(bytes.Clone(samples[i].Data), fillerNALU(n)...)
		samples[i].Size = uint32(len(samples[i].Data))
	}
	nf, err := mp4.CreateFragment(frag.Moof.Mfhd.SequenceNumber, trex.TrackID)
	if err != nil {
		return nil, err
	}
	for _, s := range samples {
		nf.AddFullSample(s)
	}
	nf.Moof.Traf.Tfdt.Version = 1
	nf.EncOptimize = mp4.OptimizeTrun
	var buf bytes.Buffer
	buf.Grow(size)
	if err := f.Segments[0].Styp.Encode(&buf); err != nil {
		return nil, err
	}
	if err := nf.Encode(&buf); err != nil {
		return nil, err
	}
	if buf.Len() != size {
		// The trun may have changed size (sample sizes no longer equal):
		// correct through the first sample's filler.
		diff := size - buf.Len()
		s0 := &samples[0]
		s0.Data = append(s0.Data[:len(s0.Data)-per-rest], fillerNALU(per+rest+diff)...)
		s0.Size = uint32(len(s0.Data))
		nf, _ = mp4.CreateFragment(frag.Moof.Mfhd.SequenceNumber, trex.TrackID)
		for _, s := range samples {
			nf.AddFullSample(s)
		}
		nf.Moof.Traf.Tfdt.Version = 1
		nf.EncOptimize = mp4.OptimizeTrun
		buf.Reset()
		if err := f.Segments[0].Styp.Encode(&buf); err != nil {
			return nil, err
		}
		if err := nf.Encode(&buf); err != nil {
			return nil, err
		}
		if buf.Len() != size {
			return nil, fmt.Errorf("padded segment is %d bytes, want %d", buf.Len(), size)
		}
	}
	return buf.Bytes(), nil
}

// checkNALUs checks that a sample is a sequence of 4-byte-length-prefixed
// NAL units (what the filler NAL unit is appended to).
func checkNALUs(b []byte) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return errors.New("sample is not 4-byte length-prefixed NAL units")
		}
		n := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if n == 0 || n > len(b)-4 {
			return errors.New("sample is not 4-byte length-prefixed NAL units")
		}
		b = b[4+n:]
	}
	return nil
}

// fillerNALU returns an n-byte (n >= 6) length-prefixed H.264 filler data
// NAL unit: forbidden_zero_bit 0, nal_ref_idc 0, nal_unit_type 12, 0xFF
// bytes, rbsp_trailing_bits.
func fillerNALU(n int) []byte {
	b := make([]byte, n)
	l := n - 4
	b[0], b[1], b[2], b[3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
	b[4] = 12
	for i := 5; i < n-1; i++ {
		b[i] = 0xFF
	}
	b[n-1] = 0x80
	return b
}

// PathFunc gives the URL path of a track's init segment (seg < 0) or of
// media segment seg (K = K0+seg).
type PathFunc func(l *Load, t *Track, seg int) string

// ReaparchivePath addresses reaparchive's receiver:
// /ingest/<channel>/<source>/<rep>/init.<ext> and …/<K>.<ext>.
func ReaparchivePath(source string) PathFunc {
	return func(l *Load, t *Track, seg int) string {
		name := "init"
		if seg >= 0 {
			name = fmt.Sprint(l.K(seg))
		}
		return "/ingest/" + t.Channel + "/" + source + "/" + t.Rep + "/" + name + "." + t.Ext
	}
}

// PrefixPath addresses receivers that take <prefix>/<channel>/<rep>/<name>.<ext>
// (livesim2's cmaf-ingest-receiver, prefix "/upload").
func PrefixPath(prefix string) PathFunc {
	return func(l *Load, t *Track, seg int) string {
		name := "init"
		if seg >= 0 {
			name = fmt.Sprint(l.K(seg))
		}
		return strings.TrimSuffix(prefix, "/") + "/" + t.Channel + "/" + t.Rep + "/" + name + "." + t.Ext
	}
}

// NewClient returns an HTTP client with a keep-alive connection per
// concurrent pusher.
func NewClient(conns int) *http.Client {
	return &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true,
		IdleConnTimeout: time.Minute, WriteBufferSize: 64 << 10, ReadBufferSize: 16 << 10,
	}}
}

// put sends one PUT and fails unless it is answered 2xx.
func put(ctx context.Context, c *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT %s: %s: %s", url, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// PushInits PUTs every track's init segment, one after the other (a real
// encoder sends its headers at the start of a session; some receivers
// register a new track without locking against concurrent requests).
func (l *Load) PushInits(ctx context.Context, c *http.Client, base string, path PathFunc) error {
	for i := range l.Tracks {
		t := &l.Tracks[i]
		if err := put(ctx, c, base+path(l, t, -1), t.Init); err != nil {
			return err
		}
	}
	return nil
}

// Stats of a push or write run.
type Stats struct {
	Segments  int
	Bytes     int64
	Elapsed   time.Duration
	Latencies []time.Duration // per media segment, sorted
}

// Quantile returns the q-quantile (0..1) of the latencies.
func (s Stats) Quantile(q float64) time.Duration {
	if len(s.Latencies) == 0 {
		return 0
	}
	i := int(q * float64(len(s.Latencies)-1))
	return s.Latencies[i]
}

// PushMedia pushes media segments [from, to) of every track (to < 0: all):
// one goroutine per track, as an encoder does, each PUTting its track's
// segments in K order, each as soon as the previous one is answered. It
// stops at the first error.
func (l *Load) PushMedia(ctx context.Context, c *http.Client, base string, path PathFunc, from, to int) (Stats, error) {
	return l.Run(ctx, from, to, func(ctx context.Context, t *Track, seg int) error {
		return put(ctx, c, base+path(l, t, seg), t.Segments[seg])
	})
}

// Run calls do for media segments [from, to) of every track (to < 0: all):
// one goroutine per track, in K order within a track, and times it. It
// stops at the first error.
func (l *Load) Run(ctx context.Context, from, to int, do func(ctx context.Context, t *Track, seg int) error) (Stats, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	lat := make([][]time.Duration, len(l.Tracks))
	var (
		wg    sync.WaitGroup
		count atomic.Int64
		size  atomic.Int64
	)
	start := time.Now()
	for i := range l.Tracks {
		t := &l.Tracks[i]
		end := len(t.Segments)
		if to >= 0 && to < end {
			end = to
		}
		wg.Go(func() {
			for j := from; j < end; j++ {
				if ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := do(ctx, t, j); err != nil {
					cancel(err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
				count.Add(1)
				size.Add(int64(len(t.Segments[j])))
			}
		})
	}
	wg.Wait()
	st := Stats{Elapsed: time.Since(start), Segments: int(count.Load()), Bytes: size.Load()}
	if err := context.Cause(ctx); err != nil {
		return st, err
	}
	for _, ls := range lat {
		st.Latencies = append(st.Latencies, ls...)
	}
	slices.Sort(st.Latencies)
	return st, nil
}

// Size returns the number and bytes of media segments [from, to) of all
// tracks (to < 0: all).
func (l *Load) Size(from, to int) (n int, bytes int64) {
	for _, t := range l.Tracks {
		end := len(t.Segments)
		if to >= 0 && to < end {
			end = to
		}
		for j := from; j < end; j++ {
			n++
			bytes += int64(len(t.Segments[j]))
		}
	}
	return n, bytes
}
