package cmaf

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

// mdatOffset is the offset of seg's first top-level mdat.
func mdatOffset(t *testing.T, seg []byte) int {
	t.Helper()
	for off := 0; off+8 <= len(seg); off += int(binary.BigEndian.Uint32(seg[off:])) {
		if string(seg[off+4:off+8]) == "mdat" {
			return off
		}
	}
	t.Fatal("no mdat")
	return 0
}

// TestParseSegmentHead: the head of a segment (up to and including its
// mdat's header) parses to what the whole segment parses to, less the
// SHA-256; an mdat that is not the segment's last box or does not hold the
// moof's samples, or a head that does not end with an mdat header, is
// refused.
func TestParseSegmentHead(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"video.cmfv", "audio.cmfa"} {
		s := loadSplit(t, name)
		init, err := ParseInit(s.init)
		if err != nil {
			t.Fatal(err)
		}
		seg := s.segs[1]
		at := mdatOffset(t, seg)
		whole, err := ParseSegment(seg, init)
		if err != nil {
			t.Fatal(err)
		}
		short := bytes.Clone(seg[:at+8]) // the mdat declares 100 bytes fewer than the moof needs
		binary.BigEndian.PutUint32(short[at:], binary.BigEndian.Uint32(short[at:])-100)
		cases := []struct {
			name    string
			head    []byte
			total   int64
			wantErr string // "": parses like the whole segment
		}{
			{name: "head", head: seg[:at+8], total: int64(len(seg))},
			{name: "mdat shorter than the segment", head: seg[:at+8], total: int64(len(seg)) + 10, wantErr: "declares"},
			{name: "mdat short of the moof", head: short, total: int64(len(seg)) - 100, wantErr: "trun data offset outside mdat"},
			{name: "no mdat header at the end", head: seg[:at], total: int64(len(seg)), wantErr: "moof at offset"},
			{name: "total below the head", head: seg[:at+8], total: int64(at), wantErr: "segment head of"},
		}
		for _, tc := range cases {
			info, err := ParseSegmentHead(tc.head, tc.total, init)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("%s %s: %v; want an error saying %q", name, tc.name, err, tc.wantErr)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s %s: %v", name, tc.name, err)
			}
			want := *whole
			want.SHA256 = ""
			if got := *info; !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s: %+v; want %+v", name, tc.name, got, want)
			}
		}
	}
}
