package layout

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// HoldRecordVersion is the version of the hold record format.
const HoldRecordVersion = 1

// HoldPrefix starts the name of every hold record in a channel's directory.
const HoldPrefix = "hold-"

// HoldRecord is the content of a hold record (HoldKey): a wall-clock range
// of a channel that prune must not delete while the hold is active (until
// Expires, or for ever when Expires is nil). Holds are range records, a few
// per channel, never one per segment.
type HoldRecord struct {
	Version int        `json:"version"`
	ID      string     `json:"id"`
	Channel string     `json:"channel"`
	From    time.Time  `json:"from"` // the held range, [from, to)
	To      time.Time  `json:"to"`   //
	Reason  string     `json:"reason"`
	Created time.Time  `json:"created"`
	Expires *time.Time `json:"expires,omitempty"` // nil: until released
}

// HoldKey is the key of hold id of a channel: <channel>/hold-<id>.json.
func HoldKey(channel, id string) string {
	return channel + "/" + HoldPrefix + id + ".json"
}

// HoldID parses the id out of the name of a hold record in a channel's
// directory ("hold-<id>.json"); ok is false for other names.
func HoldID(name string) (id string, ok bool) {
	id, ok = strings.CutPrefix(name, HoldPrefix)
	if !ok {
		return "", false
	}
	id, ok = strings.CutSuffix(id, ".json")
	if !ok || ValidHoldID(id) != nil {
		return "", false
	}
	return id, true
}

// ValidHoldID checks a hold id: HashLen lower-case hex digits, like a
// splice id.
func ValidHoldID(id string) error {
	if len(id) != HashLen || !isHex(id) {
		return fmt.Errorf("%w: hold id %q (want %d lower-case hex digits)", ErrBadName, id, HashLen)
	}
	return nil
}

// Active reports whether the hold protects anything at now.
func (r *HoldRecord) Active(now time.Time) bool {
	return r.Expires == nil || now.Before(*r.Expires)
}

// Marshal encodes the record (indented JSON).
func (r *HoldRecord) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseHoldRecord decodes and checks a hold record.
func ParseHoldRecord(data []byte) (*HoldRecord, error) {
	var r HoldRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("layout: hold record: %w", err)
	}
	if r.Version != HoldRecordVersion {
		return nil, fmt.Errorf("layout: hold record %s: version %d, want %d", r.ID, r.Version, HoldRecordVersion)
	}
	if err := ValidHoldID(r.ID); err != nil {
		return nil, fmt.Errorf("layout: hold record: %w", err)
	}
	if err := ValidName("channel", r.Channel); err != nil {
		return nil, fmt.Errorf("layout: hold record %s: %w", r.ID, err)
	}
	if r.Created.IsZero() || r.From.IsZero() || !r.To.After(r.From) {
		return nil, fmt.Errorf("layout: hold record %s: no creation time, or range [%s, %s) empty", r.ID, r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	}
	return &r, nil
}
