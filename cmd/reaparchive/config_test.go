package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, wantErr string
	}{
		{name: "ok", yaml: "store: file:///x\nindex: /x.db\nchannels:\n  - name: news\n    sources:\n      - name: a\n        mpd: http://127.0.0.1/a.mpd\n"},
		{name: "unknown key", yaml: "stor: file:///x\n", wantErr: "field stor not found"},
		{name: "channel without name", yaml: "channels:\n  - sources: []\n", wantErr: "channels[0] has no name"},
		{name: "duplicate channel", yaml: "channels:\n  - name: a\n  - name: a\n", wantErr: `channel "a" listed twice`},
		{name: "source without name", yaml: "channels:\n  - name: a\n    sources:\n      - mpd: http://x/\n", wantErr: "sources[0] has no name"},
		{name: "not yaml", yaml: "channels: [\n", wantErr: "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := LoadConfig(p)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Store != "file:///x" || len(c.Channels) != 1 || c.Channels[0].Sources[0].MPD != "http://127.0.0.1/a.mpd" {
					t.Fatalf("config = %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestConfigFileDrivesStatus: store and index come from --config when no
// flag or environment variable gives them.
func TestConfigFileDrivesStatus(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	cfg := "store: file://" + filepath.ToSlash(filepath.Join(dir, "store")) + "\nindex: " + filepath.Join(dir, "i.db") + "\n"
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("REAPARCHIVE_STORE", "")
	t.Setenv("REAPARCHIVE_INDEX", "")
	var out, errb bytes.Buffer
	// A missing index is an error for a read-only command, naming the path.
	if code := run(context.Background(), []string{"status", "--config", p}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "i.db") {
		t.Fatalf("status on a missing index: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if err := os.WriteFile(filepath.Join(dir, "i.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "store"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code := run(context.Background(), []string{"status", "--config", p, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.TrimSpace(out.String()) != "{\n  \"channels\": []\n}" {
		t.Fatalf("status = %q", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "i.db")); err != nil {
		t.Fatalf("index not created from config: %v", err)
	}
	// The environment wins over the config file.
	t.Setenv("REAPARCHIVE_INDEX", filepath.Join(dir, "env.db"))
	errb.Reset()
	if code := run(context.Background(), []string{"status", "--config", p}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "env.db") {
		t.Fatalf("REAPARCHIVE_INDEX not honoured: exit %d, stderr %q", code, errb.String())
	}
}

// TestMaxTimeSkew: --max-time-skew wins over the config's max_time_skew,
// which wins over the default; both take days, neither a negative value.
func TestMaxTimeSkew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		flag       time.Duration
		flagSet    bool
		want       time.Duration
		wantErr    string
	}{
		{name: "default", flag: archive.DefaultMaxTimeSkew, want: 24 * time.Hour},
		{name: "config in days", yaml: "max_time_skew: 2d\n", flag: archive.DefaultMaxTimeSkew, want: 48 * time.Hour},
		{name: "config off", yaml: "max_time_skew: 0s\n", flag: archive.DefaultMaxTimeSkew, want: 0},
		{name: "flag wins", yaml: "max_time_skew: 2d\n", flag: time.Hour, flagSet: true, want: time.Hour},
		{name: "config negative", yaml: "max_time_skew: -1h\n", wantErr: "max_time_skew -1h0m0s is negative"},
		{name: "config not a duration", yaml: "max_time_skew: soon\n", wantErr: "want a duration such as"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseConfig([]byte(tt.yaml), "c.yaml")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a := &app{cfg: cfg}
			if got := a.maxTimeSkew(tt.flag, tt.flagSet); got != tt.want {
				t.Errorf("max time skew %v, want %v", got, tt.want)
			}
		})
	}
	r := runCLI(t.Context(), "record", "--store", "mem://", "--index", filepath.Join(t.TempDir(), "i.db"), "--channel", "c",
		"--source", "a=http://127.0.0.1:1/x.mpd", "--max-time-skew", "-1h")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--max-time-skew") {
		t.Errorf("negative --max-time-skew: want exit 2 naming the flag; %s", r)
	}
}
