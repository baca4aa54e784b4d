package testenv

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
)

// Box is an ISO BMFF box of type typ whose body is the concatenation of
// body: text cue boxes (vttc, payl, vtte) for TextSegment samples.
func Box(typ string, body ...[]byte) []byte {
	b := slices.Concat(body...)
	out := binary.BigEndian.AppendUint32(make([]byte, 0, 8+len(b)), uint32(8+len(b)))
	return append(append(out, typ...), b...)
}

// TextSegment is a media segment (one moof+mdat of track 1) of samples
// with the given durations and payloads, decoded back to back from tfdt:
// a text track's segment with whatever cues a test needs.
func TextSegment(tb testing.TB, tfdt uint64, durs []uint32, payloads ...[]byte) []byte {
	tb.Helper()
	frag, err := mp4.CreateFragment(1, 1)
	if err != nil {
		tb.Fatal(err)
	}
	for i, p := range payloads {
		frag.AddFullSample(mp4.FullSample{Sample: mp4.NewSample(mp4.SyncSampleFlags, durs[i], uint32(len(p)), 0), DecodeTime: tfdt, Data: p})
		tfdt += uint64(durs[i])
	}
	var buf bytes.Buffer
	if err := frag.Encode(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// LivesimTextK is the K of the livesim2 text segments LivesimText returns.
const LivesimTextK = 898227455

// LivesimText is the init and segment LivesimTextK of a livesim2 v1.9.0
// text track as cmaf/testdata holds them (its README.md): name is
// timesubs_stpp_en (IMSC1) or timesubs_wvtt_de (WebVTT).
func LivesimText(tb testing.TB, name string) (init, seg []byte) {
	tb.Helper()
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(self), "..", "..", "cmaf", "testdata")
	read := func(f string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	return read(name + "_init.mp4"), read(name + "_898227455.m4s")
}
