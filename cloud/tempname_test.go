package cloud

import "testing"

// TestIsTempName: fileblob's temporary files are <name>.<15 or 16
// lower-case hex digits>.tmp, and nothing else is taken for one.
func TestIsTempName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"6.m4s.18a3c0ffee123456.tmp", true},                  // 16 digits
		{"6.m4s.8a3c0ffee123456.tmp", true},                   // 15
		{"news/video/6.m4s.attrs.18a3c0ffee123457.tmp", true}, // a key, a sidecar's
		{".0123456789abcdef.tmp", true},
		{"6.m4s.a3c0ffee123456.tmp", false},    // 14
		{"6.m4s.118a3c0ffee123456.tmp", false}, // 17
		{"6.m4s.18A3C0FFEE123456.tmp", false},  // upper case
		{"6.m4s.18a3c0ffee12345g.tmp", false},
		{"6.m4s_18a3c0ffee123456.tmp", false}, // no dot before the digits
		{"18a3c0ffee123456.tmp", false},
		{"6.m4s.18a3c0ffee123456.tmp.m4s", false},
		{"6.m4s.18a3c0ffee123456tmp", false},
		{".tmp", false},
		{"seg.cafe.tmp", false},
		{"", false},
	} {
		if got := isTempName(tc.name); got != tc.want {
			t.Errorf("isTempName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
