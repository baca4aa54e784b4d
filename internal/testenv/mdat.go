package testenv

import (
	"encoding/binary"
	"testing"
)

// MdatOffset is the offset of seg's first top-level mdat box (a segment
// of 32-bit box sizes); a streamed segment's head is seg[:MdatOffset+8].
func MdatOffset(tb testing.TB, seg []byte) int {
	tb.Helper()
	for off := 0; off+8 <= len(seg); {
		if string(seg[off+4:off+8]) == "mdat" {
			return off
		}
		size := int(binary.BigEndian.Uint32(seg[off:]))
		if size < 8 {
			break
		}
		off += size
	}
	tb.Fatal("no mdat in the segment")
	return 0
}
