package testenv

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/simulate"
)

// MetaScheme is the scheme URI MetaInit writes into a urim sample entry.
const MetaScheme = "urn:reaparchive:test:meta"

// MetaInit returns the CMAF header of a timed-metadata track as the DASH-IF
// ingest specification defines it: handler "meta" with sample entry entry,
// "evte" (ISO/IEC 23001-18 event message track) or "urim" (ISO/IEC
// 14496-12 URIMetaSampleEntry: a "uri " box with MetaScheme and a "uriI"
// box). mp4ff v0.55 does not know urim: it is built from raw bytes.
func MetaInit(entry string, trackID, timescale uint32) ([]byte, error) {
	init := mp4.CreateEmptyInit()
	trak := init.AddEmptyTrack(timescale, "meta", "und")
	trak.Tkhd.TrackID = trackID
	init.Moov.Mvex.Trex.TrackID = trackID
	stsd := trak.Mdia.Minf.Stbl.Stsd
	switch entry {
	case "evte":
		evte := &mp4.EvteBox{DataReferenceIndex: 1}
		evte.AddChild(&mp4.SilbBox{Schemes: []mp4.SilbEntry{{SchemeIdURI: "urn:scte:scte35:2013:bin"}}})
		stsd.AddChild(evte)
	case "urim":
		box, err := mp4.DecodeBox(0, bytes.NewReader(urimEntry(MetaScheme, []byte{1, 2})))
		if err != nil {
			return nil, fmt.Errorf("decode urim: %w", err)
		}
		stsd.AddChild(box)
	default:
		return nil, fmt.Errorf("sample entry %q: want evte or urim", entry)
	}
	var buf bytes.Buffer
	if err := init.Encode(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// urimEntry is a URIMetaSampleEntry: the SampleEntry header (6 reserved
// bytes, data_reference_index 1), a "uri " full box with the
// NUL-terminated scheme URI and a "uriI" full box with init data.
func urimEntry(uri string, initData []byte) []byte {
	body := []byte{0, 0, 0, 0, 0, 0, 0, 1}
	body = append(body, fullBox("uri ", append([]byte(uri), 0))...)
	body = append(body, fullBox("uriI", initData)...)
	return rawBox("urim", body)
}

func fullBox(typ string, payload []byte) []byte {
	return rawBox(typ, append([]byte{0, 0, 0, 0}, payload...))
}

func rawBox(typ string, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(b, typ...), body...)
}

// MetaSegment returns a media segment of a MetaInit track: a styp and one
// fragment (sequence number seq) with one sync sample of dur ticks at
// decode time dt. An evte sample is an empty event box (emeb), a urim
// sample the bytes of payload.
func MetaSegment(entry string, trackID, seq uint32, dt uint64, dur uint32, payload []byte) ([]byte, error) {
	data := payload
	if entry == "evte" {
		data = rawBox("emeb", nil)
	}
	frag, err := mp4.CreateFragment(seq, trackID)
	if err != nil {
		return nil, err
	}
	frag.AddFullSample(mp4.FullSample{Sample: mp4.Sample{Flags: mp4.SyncSampleFlags, Dur: dur, Size: uint32(len(data))},
		DecodeTime: dt, Data: data})
	var buf bytes.Buffer
	if err := mp4.NewStyp("msdh", 0, []string{"msdh", "msix"}).Encode(&buf); err != nil {
		return nil, err
	}
	if err := frag.Encode(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MetaAdaptationSet is how a live MPD announces a timed-metadata track rep
// with sample entry entry (urim or evte) on the simulator's template (ISO
// 23009-1: contentType is a top-level MIME type).
func MetaAdaptationSet(rep, entry string) string {
	return `<AdaptationSet id="9" contentType="application" mimeType="application/mp4">` +
		`<SegmentTemplate media="` + simulate.MediaTemplate + `" initialization="` + simulate.InitTemplate +
		`" timescale="1000" duration="2000" startNumber="0"></SegmentTemplate>` +
		`<Representation id="` + rep + `" bandwidth="1000" codecs="` + entry + `"></Representation></AdaptationSet>`
}
