package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
)

// newIndexWithChannels makes an empty store directory and an index that
// knows the given channels.
func newIndexWithChannels(t *testing.T, names ...string) (store, idx string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "store"), 0o755); err != nil {
		t.Fatal(err)
	}
	idx = filepath.Join(dir, "index.db")
	db, err := index.Open(context.Background(), idx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := db.EnsureChannel(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return testenv.FileStoreURL(dir), idx
}

// TestUnknownChannelNamedOnce: an unknown channel is named once, with the
// channels the index has (it used to say `channel "nope": index: channel
// "nope": index: not found`).
func TestUnknownChannelNamedOnce(t *testing.T) {
	t.Parallel()
	store, idx := newIndexWithChannels(t, "news", "sports")
	base := []string{"--store", store, "--index", idx, "--channel", "nope"}
	tests := []struct {
		name string
		args []string
	}{
		{"status", append([]string{"status"}, base...)},
		{"status --json", append([]string{"status", "--json"}, base...)},
		{"gaps", append([]string{"gaps"}, base...)},
		{"export-vod", append([]string{"export-vod", "--last", "1h", "--out", store + "/vod/x.mpd"}, base...)},
		{"repair", append([]string{"repair", "--fill-from", "http://127.0.0.1:1/x.mpd"}, base...)},
		{"splice", append([]string{"splice", "--last", "1h", "--with", "http://127.0.0.1:1/x.mpd"}, base...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t.Context(), tt.args...)
			if r.code != exitFailure || strings.Count(r.stderr, "nope") != 1 || strings.Contains(r.stderr, "index: not found") ||
				!strings.Contains(r.stderr, `channel "nope" is not in the index`) || !strings.Contains(r.stderr, "its channels: news, sports") {
				t.Fatalf("want exit 1 naming the channel once and listing news, sports; %s", r)
			}
		})
	}
}

// TestReadersRefuseMissingStore: read-only commands refuse a store that
// does not exist, and do not create it (status used to create the
// directory and print an empty report).
func TestReadersRefuseMissingStore(t *testing.T) {
	t.Parallel()
	_, idx := newIndexWithChannels(t, "news")
	typo := filepath.Join(t.TempDir(), "typo")
	store := "file://" + filepath.ToSlash(typo)
	tests := [][]string{
		{"status"},
		{"gaps"},
		{"verify"},
		{"reindex"},
		{"export-vod", "--channel", "news", "--last", "1h", "--out", "file://" + filepath.ToSlash(filepath.Join(t.TempDir(), "x.mpd"))},
		{"repair", "--channel", "news", "--fill-from", "http://127.0.0.1:1/x.mpd"},
	}
	for _, args := range tests {
		t.Run(args[0], func(t *testing.T) {
			t.Parallel()
			r := runCLI(t.Context(), append(args, "--store", store, "--index", idx)...)
			if r.code != exitFailure || !strings.Contains(r.stderr, "store does not exist") || !strings.Contains(r.stderr, typo) {
				t.Fatalf("want exit 1 saying the store %s does not exist; %s", typo, r)
			}
		})
	}
	if _, err := os.Stat(typo); !os.IsNotExist(err) {
		t.Errorf("a read-only command created the store directory: %v", err)
	}
}

// TestBadStoreURLAndNamesAreUsageErrors: a store URL with a bad scheme and
// an invalid channel or source name are usage errors (exit 2; they exited
// 1).
func TestBadStoreURLAndNamesAreUsageErrors(t *testing.T) {
	t.Parallel()
	store, idx := newIndexWithChannels(t, "news")
	dir := t.TempDir()
	recIdx := filepath.Join(dir, "rec.db")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"status ftp store", []string{"status", "--store", "ftp://host/x", "--index", idx}, "supported schemes are"},
		{"record bogus store", []string{"record", "--store", "bogus://x", "--index", recIdx, "--channel", "c", "--source", "a=http://127.0.0.1:1/m.mpd", "--for", "1s"}, "supported schemes are"},
		{"store without scheme", []string{"gaps", "--store", "/var/x", "--index", idx}, "no scheme"},
		{"record bad channel", []string{"record", "--store", store, "--index", recIdx, "--channel", "bad name", "--source", "a=http://127.0.0.1:1/m.mpd", "--for", "1s"}, `channel "bad name"`},
		{"record bad source", []string{"record", "--store", store, "--index", recIdx, "--channel", "c", "--source", "a/b=http://127.0.0.1:1/m.mpd", "--for", "1s"}, `source "a/b"`},
		{"record bad push source", []string{"record", "--store", store, "--index", recIdx, "--channel", "c", "--listen", "127.0.0.1:0", "--ingest-auth", "a b=tok", "--for", "1s"}, `source "a b"`},
		{"status bad channel", []string{"status", "--store", store, "--index", idx, "--channel", "../x"}, `channel "../x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t.Context(), tt.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("want exit 2 saying %q; %s", tt.want, r)
			}
		})
	}
	if _, err := os.Stat(recIdx); !os.IsNotExist(err) {
		t.Errorf("a usage error created the index: %v", err)
	}
}
