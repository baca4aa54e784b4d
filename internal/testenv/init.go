package testenv

import (
	"bytes"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
)

// WithCreationTime returns init with another mvhd creation time: different
// bytes, the same codec configuration (stsd), as two encoders of the same
// model produce.
func WithCreationTime(tb testing.TB, init []byte, ct uint64) []byte {
	tb.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(init))
	if err != nil {
		tb.Fatal(err)
	}
	f.Init.Moov.Mvhd.CreationTime = ct
	var buf bytes.Buffer
	if err := f.Init.Encode(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
