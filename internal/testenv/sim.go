package testenv

import (
	"bytes"
	"io/fs"
	"sync"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive"
	"github.com/reaparchive/reaparchive/simulate"
)

var (
	assetsOnce             sync.Once
	videoAsset, audioAsset []byte
	assetsErr              error
)

// Assets returns the demo asset the simulator loops (testdata/video.cmfv and
// testdata/audio.cmfa), read once and shared: callers must not modify it.
func Assets(tb testing.TB) (video, audio []byte) {
	tb.Helper()
	assetsOnce.Do(func() {
		if videoAsset, assetsErr = fs.ReadFile(reaparchive.Assets, "testdata/video.cmfv"); assetsErr != nil {
			return
		}
		audioAsset, assetsErr = fs.ReadFile(reaparchive.Assets, "testdata/audio.cmfa")
	})
	if assetsErr != nil {
		tb.Fatal(assetsErr)
	}
	return videoAsset, audioAsset
}

// NewSim returns an in-process simulated encoder with opts (Video and Audio
// are filled in with the demo asset).
func NewSim(tb testing.TB, opts simulate.Options) *simulate.Server {
	tb.Helper()
	opts.Video, opts.Audio = Assets(tb)
	s, err := simulate.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// MustInit returns the init segment of rep from s.
func MustInit(tb testing.TB, s *simulate.Server, rep string) []byte {
	tb.Helper()
	b, err := s.Init(rep)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// MustSeg returns media segment K of rep from s.
func MustSeg(tb testing.TB, s *simulate.Server, rep string, k int64) []byte {
	tb.Helper()
	b, err := s.Segment(rep, k)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ModifiedVideoInit returns the video init segment init with another
// picture size (1280x720) in its sample entry: another codec configuration
// (stsd).
func ModifiedVideoInit(tb testing.TB, init []byte) []byte {
	tb.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(init))
	if err != nil {
		tb.Fatal(err)
	}
	avc := f.Init.Moov.Trak.Mdia.Minf.Stbl.Stsd.AvcX
	avc.Width, avc.Height = 1280, 720
	var buf bytes.Buffer
	if err := f.Init.Encode(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
