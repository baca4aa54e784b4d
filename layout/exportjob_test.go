package layout_test

import (
	"errors"
	"testing"

	"github.com/reaparchive/reaparchive/layout"
)

// TestExportJobKey: _jobs/<channel>/<id>.json for a valid channel name and
// a 16-hex-digit id; anything else (that could reach out of _jobs/) is
// ErrBadName.
func TestExportJobKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		channel, id, want string
	}{
		{"news", "0123456789abcdef", "_jobs/news/0123456789abcdef.json"},
		{"..", "0123456789abcdef", ""},
		{"news", "../../x", ""},
		{"news", "0123456789ABCDEF", ""},
		{"news", "0123", ""},
	} {
		got, err := layout.ExportJobKey(tc.channel, tc.id)
		if got != tc.want || (tc.want == "") != errors.Is(err, layout.ErrBadName) {
			t.Errorf("ExportJobKey(%q, %q) = %q, %v; want %q", tc.channel, tc.id, got, err, tc.want)
		}
	}
}
