package cmaf

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/Eyevinn/mp4ff/av1"
	"github.com/Eyevinn/mp4ff/avc"
	"github.com/Eyevinn/mp4ff/hevc"
	"github.com/Eyevinn/mp4ff/mp4"
)

// split decodes a test file (init + moof/mdat pairs + mfra) with mp4ff and
// re-encodes the init and every fragment on its own.
type split struct {
	init  []byte
	segs  [][]byte
	frags []*mp4.Fragment // as decoded from the whole file
	trex  *mp4.TrexBox
}

func loadSplit(t *testing.T, name string) split {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	if f.Init == nil {
		t.Fatalf("%s: no init", name)
	}
	var s split
	s.init = encode(t, f.Init)
	s.trex = f.Init.Moov.Mvex.Trex
	for _, seg := range f.Segments {
		for _, frag := range seg.Fragments {
			s.segs = append(s.segs, encode(t, frag))
			s.frags = append(s.frags, frag)
		}
	}
	if len(s.segs) != 4 {
		t.Fatalf("%s: %d fragments, want 4", name, len(s.segs))
	}
	return s
}

func encode(t testing.TB, e interface{ Encode(w io.Writer) error }) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := e.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestParseInitVideo(t *testing.T) {
	t.Parallel()
	s := loadSplit(t, "video.cmfv")
	info, err := ParseInit(s.init)
	if err != nil {
		t.Fatal(err)
	}
	want := InitInfo{
		TrackID: 1, Handler: "vide", ContentType: "video", Timescale: 90000,
		Codecs: "avc1.4D401E", SampleEntry: "avc1", Lang: "und", Width: 640, Height: 360,
		Bitrate: 250000, SHA256: hexSum(s.init),
	}
	got := *info
	if len(got.ConfigHash) != 64 {
		t.Errorf("ConfigHash %q", got.ConfigHash)
	}
	got.ConfigHash = ""
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if !strings.HasPrefix(info.Codecs, "avc1.") {
		t.Errorf("codecs %q", info.Codecs)
	}
	c, err := Codecs(s.init)
	if err != nil || c != info.Codecs {
		t.Errorf("Codecs() = %q, %v", c, err)
	}
}

func TestParseInitAudio(t *testing.T) {
	t.Parallel()
	s := loadSplit(t, "audio.cmfa")
	info, err := ParseInit(s.init)
	if err != nil {
		t.Fatal(err)
	}
	if info.ContentType != "audio" || info.Handler != "soun" || info.Codecs != "mp4a.40.2" || info.SampleEntry != "mp4a" ||
		info.SampleRate != 48000 || info.Channels != 2 || info.Timescale != 48000 || info.Bitrate != 64000 ||
		info.Width != 0 || info.Lang != "und" {
		t.Errorf("got %+v", info)
	}
	v := loadSplit(t, "video.cmfv")
	vinfo, err := ParseInit(v.init)
	if err != nil {
		t.Fatal(err)
	}
	if vinfo.ConfigHash == info.ConfigHash {
		t.Error("audio and video share a ConfigHash")
	}
}

// truth computes what a segment should report straight from mp4ff's view of
// the fragment in the whole file.
func truth(t *testing.T, frag *mp4.Fragment, trex *mp4.TrexBox) (ept int64, dur uint64, n int, firstCTO int32) {
	t.Helper()
	samples, err := frag.GetFullSamples(trex)
	if err != nil {
		t.Fatal(err)
	}
	ept = samples[0].PresentationTime()
	for _, s := range samples {
		ept = min(ept, s.PresentationTime())
		dur += uint64(s.Dur)
	}
	return ept, dur, len(samples), samples[0].CompositionTimeOffset
}

func TestParseSegmentVideo(t *testing.T) {
	t.Parallel()
	s := loadSplit(t, "video.cmfv")
	init, err := ParseInit(s.init)
	if err != nil {
		t.Fatal(err)
	}
	for i, seg := range s.segs {
		info, err := ParseSegment(seg, init)
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		ept, dur, n, cto := truth(t, s.frags[i], s.trex)
		tfdt := s.frags[i].Moof.Traf.Tfdt.BaseMediaDecodeTime()
		if info.SampleCount != 50 || n != 50 || info.Duration != 180000 || dur != 180000 || !info.StartsWithSync ||
			info.Fragments != 1 || info.TrackID != 1 || info.SampleDuration != 3600 {
			t.Errorf("segment %d: %+v", i, info)
		}
		if cto != 0 || info.EPT != tfdt || int64(info.EPT) != ept || info.BaseMediaDecodeTime != tfdt {
			t.Errorf("segment %d: EPT %d tfdt %d, independent EPT %d, first cto %d", i, info.EPT, tfdt, ept, cto)
		}
		if info.BaseMediaDecodeTime != uint64(i)*180000 {
			t.Errorf("segment %d: tfdt %d", i, info.BaseMediaDecodeTime)
		}
		if info.Size != len(seg) || info.SHA256 != hexSum(seg) || len(info.EmsgSchemes) != 0 {
			t.Errorf("segment %d: size %d sha %s schemes %v", i, info.Size, info.SHA256, info.EmsgSchemes)
		}
		// Without the init, the tfhd defaults carry everything in this file.
		bare, err := ParseSegment(seg, nil)
		if err != nil || !reflect.DeepEqual(bare, info) {
			t.Errorf("segment %d without init: %+v, %v", i, bare, err)
		}
	}
}

func TestParseSegmentAudio(t *testing.T) {
	t.Parallel()
	s := loadSplit(t, "audio.cmfa")
	init, err := ParseInit(s.init)
	if err != nil {
		t.Fatal(err)
	}
	var next uint64
	for i, seg := range s.segs {
		info, err := ParseSegment(seg, init)
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		ept, dur, n, _ := truth(t, s.frags[i], s.trex)
		if info.SampleCount != n || info.Duration != dur || int64(info.EPT) != ept || !info.StartsWithSync ||
			info.SampleDuration != 1024 || info.Duration != uint64(1024*n) || info.BaseMediaDecodeTime != next {
			t.Errorf("segment %d: %+v (want %d samples, dur %d, EPT %d)", i, info, n, dur, ept)
		}
		next += info.Duration
	}
}

// All four fragments of a file in one segment.
func TestParseSegmentWholeFile(t *testing.T) {
	t.Parallel()
	s := loadSplit(t, "video.cmfv")
	init, err := ParseInit(s.init)
	if err != nil {
		t.Fatal(err)
	}
	info, err := ParseSegment(slices.Concat(s.segs...), init)
	if err != nil {
		t.Fatal(err)
	}
	if info.Fragments != 4 || info.SampleCount != 200 || info.Duration != 720000 || info.EPT != 0 || !info.StartsWithSync {
		t.Errorf("%+v", info)
	}
	// Dropping the second fragment breaks decode-time continuity.
	_, err = ParseSegment(slices.Concat(s.segs[0], s.segs[2]), init)
	if err == nil || !strings.Contains(err.Error(), "not contiguous") {
		t.Errorf("gap: %v", err)
	}
}

// synth builds a fragment of n samples of duration dur starting at tfdt, with
// composition offsets cto[i%len(cto)] and the first sample a sync sample.
func synth(t testing.TB, seq, trackID uint32, tfdt uint64, n int, dur uint32, cto []int32) []byte {
	t.Helper()
	frag, err := mp4.CreateFragment(seq, trackID)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		flags := mp4.NonSyncSampleFlags
		if i == 0 {
			flags = mp4.SyncSampleFlags
		}
		data := bytes.Repeat([]byte{byte(i)}, 10+i)
		frag.AddFullSample(mp4.FullSample{
			Sample:     mp4.NewSample(flags, dur, uint32(len(data)), cto[i%len(cto)]),
			DecodeTime: tfdt + uint64(i)*uint64(dur),
			Data:       data,
		})
	}
	return encode(t, frag)
}

func videoInit(t *testing.T) *InitInfo {
	t.Helper()
	info, err := ParseInit(loadSplit(t, "video.cmfv").init)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestSynthetic(t *testing.T) {
	t.Parallel()
	init := videoInit(t)
	const epoch2026 = uint64(1_790_000_000) * 90000 // does not fit 32 bits
	negative := []int32{0, 7200, -3600, -3600, 3600, -3600}
	cases := []struct {
		name      string
		seg       []byte
		tfdt, ept uint64
		n, frags  int
		schemes   []string
	}{
		{"64-bit tfdt, negative offsets", synth(t, 1, 1, epoch2026, 50, 3600, negative), epoch2026, epoch2026, 50, 1, nil},
		{"32-bit tfdt", synth(t, 1, 1, 90000, 25, 3600, negative), 90000, 90000, 25, 1, nil},
		// Version-0 style offsets: the first sample is presented after a B-frame.
		// I P B B with offsets 7200, 10800, 0, 0 -> presented at +7200, +14400, +7200, +10800.
		{"positive offsets", synth(t, 1, 1, epoch2026, 4, 3600, []int32{7200, 10800, 0, 0}),
			epoch2026, epoch2026 + 7200, 4, 1, nil},
		{"4 chunks", slices.Concat(
			synth(t, 1, 1, epoch2026, 10, 3600, negative),
			synth(t, 2, 1, epoch2026+36000, 10, 3600, negative),
			synth(t, 3, 1, epoch2026+72000, 10, 3600, negative),
			synth(t, 4, 1, epoch2026+108000, 10, 3600, negative)), epoch2026, epoch2026, 40, 4, nil},
		{"emsg", slices.Concat(
			encode(t, mp4.CreateStyp()),
			encode(t, &mp4.EmsgBox{Version: 1, TimeScale: 90000, PresentationTime: epoch2026, SchemeIDURI: "urn:scte:scte35:2013:bin"}),
			encode(t, &mp4.EmsgBox{Version: 1, TimeScale: 90000, PresentationTime: epoch2026, SchemeIDURI: "https://aomedia.org/emsg/ID3"}),
			encode(t, mp4.CreatePrftBox(1, 4, 1, mp4.NTP64(0xE8A1B2C300000000), epoch2026)),
			synth(t, 1, 1, epoch2026, 10, 3600, negative),
			encode(t, &mp4.EmsgBox{Version: 1, TimeScale: 90000, PresentationTime: epoch2026 + 36000, SchemeIDURI: "urn:scte:scte35:2013:bin"}),
			synth(t, 2, 1, epoch2026+36000, 10, 3600, negative)),
			epoch2026, epoch2026, 20, 2, []string{"https://aomedia.org/emsg/ID3", "urn:scte:scte35:2013:bin"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			info, err := ParseSegment(c.seg, init)
			if err != nil {
				t.Fatal(err)
			}
			if info.BaseMediaDecodeTime != c.tfdt || info.EPT != c.ept || info.SampleCount != c.n || info.Fragments != c.frags ||
				info.Duration != uint64(c.n)*3600 || !info.StartsWithSync || info.SampleDuration != 3600 ||
				!slices.Equal(info.EmsgSchemes, c.schemes) {
				t.Errorf("got %+v", info)
			}
		})
	}
}

func TestSegmentErrors(t *testing.T) {
	t.Parallel()
	s := loadSplit(t, "video.cmfv")
	init, err := ParseInit(s.init)
	if err != nil {
		t.Fatal(err)
	}
	seg := s.segs[0]
	rnd := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x02\x80\x00\x00\x01\x68\x08\x02\x00\x00\x00")

	// A trun that claims more sample bytes than the mdat holds.
	short, err := mp4.CreateFragment(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	short.AddFullSample(mp4.FullSample{Sample: mp4.NewSample(mp4.SyncSampleFlags, 3600, 100, 0), Data: make([]byte, 10)})
	// A fragment without tfdt.
	noTfdt, err := mp4.CreateFragment(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	noTfdt.AddFullSample(mp4.FullSample{Sample: mp4.NewSample(mp4.SyncSampleFlags, 3600, 10, 0), Data: make([]byte, 10)})
	traf := noTfdt.Moof.Traf
	traf.Children = slices.DeleteFunc(traf.Children, func(b mp4.Box) bool { return b.Type() == "tfdt" })
	traf.Tfdt = nil

	moofLen := int(s.frags[0].Moof.Size())
	cases := []struct {
		name string
		data []byte
		init *InitInfo
		is   error
		msg  string
	}{
		{"empty", nil, init, ErrNotMediaSegment, "empty"},
		{"random bytes", rnd, init, ErrNotMP4, "not a top-level ISOBMFF box"},
		{"png", png, init, ErrNotMP4, "not an MP4 file"},
		{"html page", []byte("<!DOCTYPE html><html><body>503</body></html>"), init, ErrNotMP4, `starts with "<!DOCTYPE html><"`},
		{"cut in mdat", seg[:len(seg)-100], init, ErrTruncated, "truncated: mdat declares"},
		{"cut in moof", seg[:moofLen/2], init, ErrTruncated, "truncated: moof declares"},
		{"cut after moof", seg[:moofLen], init, ErrTruncated, "has no mdat"},
		{"cut in header", seg[:moofLen+5], nil, nil, "trailing garbage"},
		{"mdat only", seg[moofLen:], nil, nil, "without a preceding moof"},
		{"trailing garbage", slices.Concat(seg, []byte{1, 2, 3}), init, nil, "trailing garbage"},
		{"trailing junk box", slices.Concat(seg, []byte("\x00\x00\x00\x08\x00\x01\x02\x03")), init, nil, "trailing garbage"},
		{"unknown box", slices.Concat(seg, []byte("\x00\x00\x00\x08junk")), init, nil, `unexpected top-level "junk" box`},
		{"init as segment", s.init, init, ErrNotMediaSegment, "ftyp box at offset 0"},
		{"no moof", encode(t, mp4.CreateStyp()), init, ErrNotMediaSegment, "not a media segment: no moof"},
		{"wrong track", synth(t, 1, 2, 0, 5, 3600, []int32{0}), init, nil, "tfhd track_ID 2, want 1"},
		{"mixed tracks", slices.Concat(synth(t, 1, 1, 0, 5, 3600, []int32{0}), synth(t, 2, 2, 18000, 5, 3600, []int32{0})),
			nil, nil, "tfhd track_ID 2, want 1"},
		{"no tfdt", encode(t, noTfdt), init, nil, "no tfdt in fragment 1"},
		{"data outside mdat", encode(t, short), init, nil, "trun data offset outside mdat"},
		{"negative presentation time", synth(t, 1, 1, 0, 5, 3600, []int32{-3600}), init, nil, "negative presentation time"},
		{"emsg between moof and mdat", slices.Concat(seg[:moofLen],
			encode(t, &mp4.EmsgBox{Version: 1, SchemeIDURI: "urn:x"}), seg[moofLen:]), init, nil, "followed by emsg, want mdat"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			info, err := ParseSegment(c.data, c.init)
			if err == nil {
				t.Fatalf("no error, got %+v", info)
			}
			if info != nil {
				t.Errorf("info %+v with error", info)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %q", err, c.is)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not contain %q", err, c.msg)
			}
		})
	}
}

func TestInitErrors(t *testing.T) {
	t.Parallel()
	s := loadSplit(t, "video.cmfv")
	initFile, err := mp4.DecodeFile(bytes.NewReader(s.init))
	if err != nil {
		t.Fatal(err)
	}
	noMvex := initFile.Init
	noMvex.Moov.Children = slices.DeleteFunc(slices.Clone(noMvex.Moov.Children), func(b mp4.Box) bool { return b.Type() == "mvex" })
	noMvex.Moov.Mvex = nil

	twoTracks := mp4.CreateEmptyInit()
	twoTracks.AddEmptyTrack(90000, "video", "und")
	twoTracks.AddEmptyTrack(48000, "audio", "und")

	cases := []struct {
		name string
		data []byte
		is   error
		msg  string
	}{
		{"empty", nil, ErrNotMP4, "empty"},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), ErrNotMP4, "not an MP4 file"},
		{"segment as init", s.segs[0], ErrNotInit, "no moov box (found moof"},
		{"whole file as init", slices.Concat(s.init, s.segs[0]), ErrNotInit, "moof box at offset"},
		{"cut in moov", s.init[:len(s.init)-10], ErrTruncated, "truncated: moov declares"},
		{"two tracks", encode(t, twoTracks), nil, "init has 2 tracks, want 1"},
		{"no mvex", encode(t, noMvex), nil, "no mvex: not a fragmented MP4 init"},
		{"no ftyp", encode(t, noMvex.Moov), ErrNotInit, "no ftyp"},
		{"trailing garbage", slices.Concat(s.init, []byte{0, 0}), nil, "trailing garbage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			info, err := ParseInit(c.data)
			if err == nil {
				t.Fatalf("no error, got %+v", info)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %q", err, c.is)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not contain %q", err, c.msg)
			}
		})
	}
}

func TestCodecStrings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(trak *mp4.TrakBox) error
		want  string
		rate  int
		ch    int
	}{
		{"aac-lc", func(trak *mp4.TrakBox) error { return trak.SetAACDescriptor(2, 48000) }, "mp4a.40.2", 48000, 2},
		// HE-AAC signals the 24 kHz core; the output rate is the SBR extension rate.
		{"he-aac", func(trak *mp4.TrakBox) error { return trak.SetAACDescriptor(5, 24000) }, "mp4a.40.5", 48000, 2},
		{"he-aacv2", func(trak *mp4.TrakBox) error { return trak.SetAACDescriptor(29, 24000) }, "mp4a.40.29", 48000, 2},
		{"ac-3", func(trak *mp4.TrakBox) error { return trak.SetAC3Descriptor(&mp4.Dac3Box{FSCod: 0, BSID: 8, ACMod: 2}) },
			"ac-3", 48000, 2},
		{"ec-3", func(trak *mp4.TrakBox) error {
			return trak.SetEC3Descriptor(&mp4.Dec3Box{DataRate: 192, EC3Subs: []mp4.EC3Sub{{ACMod: 7, LFEOn: 1}}})
		}, "ec-3", 48000, 6},
		{"wvtt", func(trak *mp4.TrakBox) error { return trak.SetWvttDescriptor("WEBVTT") }, "wvtt", 0, 0},
		{"stpp", func(trak *mp4.TrakBox) error {
			return trak.SetStppDescriptor("http://www.w3.org/ns/ttml", "", "")
		}, "stpp", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			init := mp4.CreateEmptyInit()
			media := map[string]string{"wvtt": "text", "stpp": "subtitle"}[c.name]
			if media == "" {
				media = "audio"
			}
			init.AddEmptyTrack(48000, media, "swe")
			if err := c.setup(init.Moov.Trak); err != nil {
				t.Fatal(err)
			}
			info, err := ParseInit(encode(t, init))
			if err != nil {
				t.Fatal(err)
			}
			if info.Codecs != c.want || info.Lang != "swe" {
				t.Errorf("got %+v", info)
			}
			if media == "audio" && (info.ContentType != "audio" || info.SampleRate != c.rate || info.Channels != c.ch) {
				t.Errorf("got %+v", info)
			}
			if media != "audio" && info.ContentType != "text" {
				t.Errorf("got %+v", info)
			}
		})
	}
}

// Sample entries built directly, for codecs the test media does not cover.
func TestCodecStringEntries(t *testing.T) {
	t.Parallel()
	visual := func(name string, child mp4.Box) *mp4.VisualSampleEntryBox {
		return mp4.CreateVisualSampleEntryBox(name, 1920, 1080, child)
	}
	audio := func(name string, child mp4.Box) *mp4.AudioSampleEntryBox {
		return mp4.CreateAudioSampleEntryBox(name, 2, 16, 48000, child)
	}
	avcC := &mp4.AvcCBox{DecConfRec: avc.DecConfRec{AVCProfileIndication: 100, AVCLevelIndication: 40}}
	hvcC := &mp4.HvcCBox{DecConfRec: hevc.DecConfRec{GeneralProfileIDC: 1, GeneralProfileCompatibilityFlags: 0x60000000,
		GeneralConstraintIndicatorFlags: 0x900000000000, GeneralLevelIDC: 120}}
	encv := visual("encv", avcC)
	encv.AddChild(&mp4.SinfBox{Frma: &mp4.FrmaBox{DataFormat: "avc1"}})
	cases := []struct {
		entry mp4.Box
		want  string
	}{
		{visual("avc3", avcC), "avc3.640028"},
		{encv, "avc1.640028"},
		{visual("hvc1", hvcC), "hvc1.1.6.L120.90"},
		{visual("hev1", hvcC), "hev1.1.6.L120.90"},
		{visual("av01", &mp4.Av1CBox{CodecConfRec: av1.CodecConfRec{SeqLevelIdx0: 8}}), "av01.0.08M.08"},
		{visual("vp09", &mp4.VppCBox{Profile: 0, Level: 31, BitDepth: 8}), "vp09.00.31.08"},
		{audio("mp4a", mp4.CreateEsdsBox([]byte{0xf8, 0x9e, 0x20})), "mp4a.40.36"}, // escaped audioObjectType
		{audio("Opus", &mp4.DopsBox{OutputChannelCount: 2, InputSampleRate: 48000}), "opus"},
		{audio("ac-4", nil), "ac-4"},
	}
	for _, c := range cases {
		got, err := codecString(c.entry)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.entry.Type(), got, err, c.want)
		}
	}
	if _, err := codecString(visual("avc1", nil)); err == nil {
		t.Error("avc1 without avcC: no error")
	}
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"swe", "en-GB", "und"} {
		init := mp4.CreateEmptyInit()
		init.AddEmptyTrack(48000, "audio", lang)
		if err := init.Moov.Trak.SetAACDescriptor(2, 48000); err != nil {
			t.Fatal(err)
		}
		info, err := ParseInit(encode(t, init))
		if err != nil || info.Lang != lang {
			t.Errorf("%s: got %+v, %v", lang, info, err)
		}
	}
}

// TestConfigHashIgnoresBtrt: a rewritten or added btrt (bit rate) box, as
// livesim2's CMAF ingester adds, keeps the ConfigHash; a change the decoder
// sees (the coded width) changes it.
func TestConfigHashIgnoresBtrt(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"video.cmfv", "audio.cmfa"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := loadSplit(t, name)
			orig, err := ParseInit(s.init)
			if err != nil {
				t.Fatal(err)
			}
			variant := func(change func(mp4.Box)) *InitInfo {
				t.Helper()
				f, err := mp4.DecodeFile(bytes.NewReader(s.init))
				if err != nil {
					t.Fatal(err)
				}
				change(f.Init.Moov.Trak.Mdia.Minf.Stbl.Stsd.Children[0])
				info, err := ParseInit(encode(t, f.Init))
				if err != nil {
					t.Fatal(err)
				}
				return info
			}
			setBtrt := func(e mp4.Box) {
				b := &mp4.BtrtBox{BufferSizeDB: 1, MaxBitrate: 123456, AvgBitrate: 99999}
				switch e := e.(type) {
				case *mp4.VisualSampleEntryBox:
					e.Children = slices.DeleteFunc(e.Children, func(c mp4.Box) bool { return c.Type() == "btrt" })
					e.AddChild(b)
				case *mp4.AudioSampleEntryBox:
					e.Children = slices.DeleteFunc(e.Children, func(c mp4.Box) bool { return c.Type() == "btrt" })
					e.AddChild(b)
				}
			}
			withBtrt := variant(setBtrt)
			if withBtrt.SHA256 == orig.SHA256 {
				t.Fatal("the btrt change did not change the bytes")
			}
			if withBtrt.ConfigHash != orig.ConfigHash {
				t.Errorf("a new btrt changed the ConfigHash")
			}
			other := variant(func(e mp4.Box) {
				switch e := e.(type) {
				case *mp4.VisualSampleEntryBox:
					e.Width += 16
				case *mp4.AudioSampleEntryBox:
					e.SampleRate /= 2
				}
			})
			if other.ConfigHash == orig.ConfigHash {
				t.Errorf("a changed sample entry kept the ConfigHash")
			}
		})
	}
}

// TestSegmentBrands: the styp brands slat (major or compatible) and lmsg
// of the DASH-IF ingest spec make a segment a filler or a track's last.
func TestSegmentBrands(t *testing.T) {
	t.Parallel()
	init := videoInit(t)
	moof := synth(t, 1, 1, 90000, 10, 3600, []int32{0})
	styp := func(major string, compat ...string) []byte { return encode(t, mp4.NewStyp(major, 0, compat)) }
	cases := []struct {
		name         string
		seg          []byte
		filler, last bool
	}{
		{"no styp", moof, false, false},
		{"plain styp", slices.Concat(styp("msdh", "msdh", "msix"), moof), false, false},
		{"slat compatible", slices.Concat(styp("msdh", "msdh", "slat"), moof), true, false},
		{"slat major", slices.Concat(styp("slat", "msdh"), moof), true, false},
		{"lmsg", slices.Concat(styp("msdh", "msdh", "lmsg"), moof), false, true},
		{"slat and lmsg", slices.Concat(styp("msdh", "lmsg", "slat"), moof), true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			info, err := ParseSegment(c.seg, init)
			if err != nil {
				t.Fatal(err)
			}
			if info.Filler != c.filler || info.LastSegment != c.last {
				t.Errorf("Filler %v, LastSegment %v; want %v, %v", info.Filler, info.LastSegment, c.filler, c.last)
			}
		})
	}
}
