package testenv

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
)

// WithStypBrands returns the media segment seg with its styp replaced by
// one of major brand "msdh" and compatible brands msdh, msix and brands
// (a segment without styp gets one in front): an encoder's filler with
// "slat", a track's last segment with "lmsg" (DASH-IF ingest). Other boxes
// are kept byte for byte; their offsets are moof-relative, so they stay valid.
func WithStypBrands(seg []byte, brands ...string) ([]byte, error) {
	var buf bytes.Buffer
	if err := mp4.NewStyp("msdh", 0, append([]string{"msdh", "msix"}, brands...)).Encode(&buf); err != nil {
		return nil, err
	}
	for off := 0; off < len(seg); {
		if len(seg)-off < 8 {
			return nil, fmt.Errorf("truncated box header at offset %d", off)
		}
		size := int(binary.BigEndian.Uint32(seg[off:]))
		if size < 8 || off+size > len(seg) {
			return nil, fmt.Errorf("box at offset %d: size %d not supported here", off, size)
		}
		if string(seg[off+4:off+8]) != "styp" {
			buf.Write(seg[off : off+size])
		}
		off += size
	}
	return buf.Bytes(), nil
}

// WithEmsg returns the media segment seg with the emsg boxes inserted
// before its first moof (an encoder's in-band events); a segment without a
// moof fails tb.
func WithEmsg(tb testing.TB, seg []byte, boxes ...*mp4.EmsgBox) []byte {
	tb.Helper()
	out, err := withEmsg(seg, boxes...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func withEmsg(seg []byte, boxes ...*mp4.EmsgBox) ([]byte, error) {
	off := 0
	for off+8 <= len(seg) && string(seg[off+4:off+8]) != "moof" {
		size := int(binary.BigEndian.Uint32(seg[off:]))
		if size < 8 {
			return nil, fmt.Errorf("box at offset %d: size %d", off, size)
		}
		off += size
	}
	if off+8 > len(seg) {
		return nil, fmt.Errorf("no moof in the segment")
	}
	var buf bytes.Buffer
	buf.Write(seg[:off])
	for _, b := range boxes {
		if err := b.Encode(&buf); err != nil {
			return nil, err
		}
	}
	buf.Write(seg[off:])
	return buf.Bytes(), nil
}
