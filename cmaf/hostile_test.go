package cmaf

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// nest returns depth boxes nested in each other: box i has type typ(i),
// fields zero bytes before its child, and ends where the data ends; tail
// follows the innermost header. Built in one pass: 10⁶ levels are 8 MB.
func nest(depth int, typ func(i int) string, fields int, tail []byte) []byte {
	step := 8 + fields
	out := make([]byte, depth*step+len(tail))
	for i := range depth {
		start := i * step
		binary.BigEndian.PutUint32(out[start:], uint32(len(out)-start))
		copy(out[start+4:], typ(i))
	}
	copy(out[depth*step:], tail)
	return out
}

func always(t string) func(int) string { return func(int) string { return t } }

func firstThen(first, rest string) func(int) string {
	return func(i int) string {
		if i == 0 {
			return first
		}
		return rest
	}
}

// box encodes one box of type typ holding payload.
func box(typ string, payload ...[]byte) []byte {
	body := slices.Concat(payload...)
	out := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint32(out, uint32(8+len(body)))
	copy(out[4:], typ)
	return append(out, body...)
}

var ftypCMAF = box("ftyp", []byte("cmfc\x00\x00\x00\x00iso6cmfc"))

// hostileBodies are the reproductions of issue 10 items 1 and 2 and their
// relatives: each must be refused by the structure check before mp4ff
// decodes it.
func hostileBodies() []struct {
	name    string
	init    bool // parse as a CMAF header, else as a media segment
	data    []byte
	wantMsg string
} {
	zero8 := make([]byte, 8)
	return []struct {
		name    string
		init    bool
		data    []byte
		wantMsg string
	}{
		// Item 1: a stack overflow (fatal, not recoverable) in mp4ff.
		{"1e6 nested moof", false, nest(1_000_000, always("moof"), 0, nil), "not a box a moof may hold"},
		// Item 2: quadratic error text, GBs of memory.
		{"20k nested traf", false, nest(20_000, firstThen("moof", "traf"), 0, zero8), "not a box a traf may hold"},
		{"20k nested meta in traf", false, box("moof", box("traf", nest(20_000, always("meta"), 4, zero8))), "nested more than 12 deep"},
		{"moof inside traf", false, box("moof", box("traf", box("moof", box("mfhd", zero8)))), `"moof" box at offset 16 inside traf`},
		{"traf overruns moof", false, slices.Concat(box("moof", []byte("\x00\x00\x01\x00traf"), zero8), box("mdat")), "declares 256 bytes"},
		{"size 0 child", false, box("moof", []byte("\x00\x00\x00\x00mfhd")), "size field 0"},
		{"20k nested trak in moov", true, slices.Concat(ftypCMAF, nest(20_000, firstThen("moov", "trak"), 0, zero8)), "nested more than 12 deep"},
		{"1e5 nested moof in moov", true, slices.Concat(ftypCMAF, nest(100_000, firstThen("moov", "moof"), 0, nil)), "not a box a moof may hold"},
		{"1e5 nested udta in moov", true, slices.Concat(ftypCMAF, nest(100_000, firstThen("moov", "udta"), 0, nil)), "nested more than 12 deep"},
		{"nested sample entries", true, slices.Concat(ftypCMAF, box("moov", box("trak", box("mdia", box("minf", box("stbl",
			box("stsd", make([]byte, 8), nest(5_000, always("avc1"), 78, zero8)))))))), "nested more than 12 deep"},
		{"nested audio entries", true, slices.Concat(ftypCMAF, box("moov", nest(5_000, always("mp4a"), 28, zero8))), "nested more than 12 deep"},
		{"nested stpp", true, slices.Concat(ftypCMAF, box("moov", nest(5_000, always("stpp"), 11, nil))), "nested more than 12 deep"},
		{"nested meta", true, slices.Concat(ftypCMAF, box("moov", nest(5_000, always("meta"), 4, nil))), "nested more than 12 deep"},
		{"nested QuickTime meta", true, slices.Concat(ftypCMAF, box("moov", box("meta", box("hdlr", zero8), box("meta", box("hdlr", zero8),
			box("meta", box("hdlr", zero8), nest(20, always("udta"), 0, nil)))))), "nested more than 12 deep"},
		{"stsd too short", true, slices.Concat(ftypCMAF, box("moov", box("stsd"))), "too short for its fields"},
		{"stpp string unterminated", true, slices.Concat(ftypCMAF, box("moov", box("stpp", make([]byte, 8), []byte("urn:x")))), "terminating zero"},
	}
}

func TestHostileBoxStructure(t *testing.T) {
	t.Parallel()
	for _, tc := range hostileBodies() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var err error
			if tc.init {
				_, err = ParseInit(tc.data)
			} else {
				_, err = ParseSegment(tc.data, nil)
			}
			if !errors.Is(err, ErrBoxStructure) {
				t.Fatalf("err = %v, want ErrBoxStructure", err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err = %v, want it to say %q", err, tc.wantMsg)
			}
			if n := len(err.Error()); n > 300 {
				t.Errorf("error text of %d bytes: %.400s", n, err)
			}
		})
	}
}

// TestHostileBoxStructureCheap: refusing a hostile body costs a bounded,
// small amount of memory whatever its nesting (mp4ff v0.55.0 alone needs GBs
// for 20,000 levels). Not parallel: it measures the process's allocations.
func TestHostileBoxStructureCheap(t *testing.T) {
	for _, tc := range hostileBodies() {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if tc.init {
				_, _ = ParseInit(tc.data)
			} else {
				_, _ = ParseSegment(tc.data, nil)
			}
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > 256<<10 {
				t.Errorf("refusing a %d-byte body allocated %d bytes, want < 256 KiB", len(tc.data), n)
			}
		})
	}
}

// TestDecodeBox: the one-box decoder used by the ingest stream splitter
// applies the same checks, and needs exactly one box.
func TestDecodeBox(t *testing.T) {
	t.Parallel()
	s := loadSplit(t, "video.cmfv")
	moofEnd := int(binary.BigEndian.Uint32(s.segs[0]))
	moof := s.segs[0][:moofEnd]
	tests := []struct {
		name    string
		data    []byte
		wantErr error
		wantMsg string
	}{
		{"moof", moof, nil, ""},
		{"20k nested traf", nest(20_000, firstThen("moof", "traf"), 0, make([]byte, 8)), ErrBoxStructure, "not a box a traf may hold"},
		{"moof and more", s.segs[0], nil, "followed by"},
		{"not a box", []byte("<html>"), ErrNotMP4, "too short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := DecodeBox(tc.data)
			if tc.wantMsg == "" {
				if err != nil || b.Type() != "moof" {
					t.Fatalf("DecodeBox = %v, %v; want a moof", b, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("err = %v, want %v saying %q", err, tc.wantErr, tc.wantMsg)
			}
		})
	}
}

// TestCheckStructure: a whole file (a slate track) passes the same checks
// as its boxes would one at a time; a hostile body is refused.
func TestCheckStructure(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"video.cmfv", "audio.cmfa", "slate/video.cmfv", "slate/audio.cmfa"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckStructure(data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, tc := range hostileBodies() {
		if err := CheckStructure(tc.data); !errors.Is(err, ErrBoxStructure) {
			t.Errorf("%s: err = %v, want ErrBoxStructure", tc.name, err)
		}
	}
}
