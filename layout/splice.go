package layout

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// SpliceRecordVersion is the version of the splice record format.
const SpliceRecordVersion = 1

// SpliceRecord is the content of a splice record (SpliceRecordKey): what a
// splice replaced. Its presence in the store makes the splice active: for
// every (rep, K) it lists, the segment of K is SpliceKey(channel, rep, ID,
// K, ext) instead of MediaKey(channel, rep, K, ext), which stays in the
// store unchanged. Where active splices list the same (rep, K), the one
// created last (Created, then ID) holds it.
type SpliceRecord struct {
	Version    int       `json:"version"`
	ID         string    `json:"id"`
	Channel    string    `json:"channel"`
	FromK      int64     `json:"from_k"`      // the K range asked for
	ToK        int64     `json:"to_k"`        // inclusive
	From       time.Time `json:"from"`        // the wall-clock range asked for, [from, to)
	To         time.Time `json:"to"`          //
	Source     string    `json:"source"`      // where the replacements came from
	SourceName string    `json:"source_name"` // their reap-source
	Created    time.Time `json:"created"`
	// Tracks lists, per representation, the K replaced (ascending); the
	// K of the range the archive did not have are not replaced (gaps).
	Tracks []SpliceRecordTrack `json:"tracks"`
	// InitsCreated are the init segment keys the splice created (they did
	// not exist before it): undoing the splice deletes them.
	InitsCreated []string `json:"inits_created"`
}

// SpliceRecordTrack is one representation of a splice record.
type SpliceRecordTrack struct {
	Rep string  `json:"rep"`
	Ext string  `json:"ext"` // of the replacement objects, no dot
	Ks  []int64 `json:"ks"`
}

// Marshal encodes the record (indented JSON).
func (r *SpliceRecord) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseSpliceRecord decodes and checks a splice record.
func ParseSpliceRecord(data []byte) (*SpliceRecord, error) {
	var r SpliceRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("layout: splice record: %w", err)
	}
	if r.Version != SpliceRecordVersion {
		return nil, fmt.Errorf("layout: splice record %s: version %d, want %d", r.ID, r.Version, SpliceRecordVersion)
	}
	if err := ValidSpliceID(r.ID); err != nil {
		return nil, fmt.Errorf("layout: splice record: %w", err)
	}
	if err := ValidName("channel", r.Channel); err != nil {
		return nil, fmt.Errorf("layout: splice record %s: %w", r.ID, err)
	}
	if r.Created.IsZero() {
		return nil, fmt.Errorf("layout: splice record %s: no creation time", r.ID)
	}
	for _, t := range r.Tracks {
		if err := ValidName("representation", t.Rep); err != nil {
			return nil, fmt.Errorf("layout: splice record %s: %w", r.ID, err)
		}
		if t.Ext == "" || !slices.IsSorted(t.Ks) {
			return nil, fmt.Errorf("layout: splice record %s: track %s: no extension, or K not ascending", r.ID, t.Rep)
		}
	}
	return &r, nil
}
