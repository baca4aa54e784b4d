package main

import (
	"testing"

	"github.com/spf13/pflag"

	"github.com/reaparchive/reaparchive/archive"
)

// TestServeExportToFlag: serve --export-to and record --serve-export-to set
// the origin's export destination (the timeline page's exports); without it
// exports are off.
func TestServeExportToFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		prefix string
		args   []string
		want   string
	}{
		{"", []string{"--export-to", "file:///srv/vod"}, "file:///srv/vod"},
		{"serve-", []string{"--serve-export-to", "s3://b/vod?region=x"}, "s3://b/vod?region=x"},
		{"", nil, ""},
	} {
		var sf serveFlags
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		sf.define(fs, tc.prefix)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if got := sf.config(&archive.Archive{}).ExportTo; got != tc.want {
			t.Errorf("%v: ExportTo %q, want %q", tc.args, got, tc.want)
		}
	}
}
