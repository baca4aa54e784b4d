package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "90s", want: 90 * time.Second},
		{in: "5m", want: 5 * time.Minute},
		{in: "24h", want: 24 * time.Hour},
		{in: "36h", want: 36 * time.Hour},
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "-1d", want: -24 * time.Hour},
		{in: "-5s", want: -5 * time.Second},
		{in: "0s", want: 0},
		{in: "", bad: true},
		{in: "5", bad: true},
		{in: "1.5d", bad: true},
		{in: "d", bad: true},
		{in: "1d-5s", bad: true},
		{in: "--5s", bad: true},
		{in: "99999999999d", bad: true},
		{in: "five minutes", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseDuration(tt.in)
			if tt.bad {
				if err == nil || !strings.Contains(err.Error(), "90s, 5m, 24h") {
					t.Fatalf("parseDuration(%q) = %v, %v; want an error with examples", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestDurationFlagsAreUsageErrors: a zero, negative or malformed duration
// is a usage error (exit 2) that shows an example, before anything runs
// (`record --for -5s` and `--for 0s` used to record forever).
func TestDurationFlagsAreUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := testenv.FileStoreURL(dir)
	idx := filepath.Join(dir, "i.db")
	rec := []string{"record", "--store", store, "--index", idx, "--channel", "c", "--source", "a=http://127.0.0.1:1/m.mpd"}
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("channels:\n  - name: c\n    grace: 2 days\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"for negative", append(rec, "--for", "-5s"), `--for`},
		{"for zero", append(rec, "--for", "0s"), "must be more than zero"},
		{"for bad unit", append(rec, "--for", "10x"), "7d"},
		{"segment-timeout zero", append(rec, "--segment-timeout", "0"), "must be more than zero"},
		{"grace negative", append(rec, "--grace", "-1s"), "must not be negative"},
		{"gaps last zero", []string{"gaps", "--store", store, "--index", idx, "--last", "0s"}, "must be more than zero"},
		{"export last negative", []string{"export-vod", "--store", store, "--index", idx, "--last", "-1h"}, "90s"},
		{"simulate for zero", []string{"simulate", "--for", "0s"}, "must be more than zero"},
		{"demo for zero", []string{"demo", "--for", "0s"}, "must be more than zero"},
		{"config grace", []string{"status", "--config", cfg}, "90s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r := runCLI(ctx, tt.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "90s") {
				t.Fatalf("want exit 2 naming %q with an example: %s", tt.want, r)
			}
		})
	}
	if _, err := os.Stat(idx); !os.IsNotExist(err) {
		t.Errorf("a usage error created the index: %v", err)
	}
}

// TestDurationDaysAccepted: "7d" is a valid --last.
func TestDurationDaysAccepted(t *testing.T) {
	t.Parallel()
	r := runCLI(context.Background(), "gaps", "--last", "7d")
	if r.code != exitUsage || !strings.Contains(r.stderr, "no store") {
		t.Fatalf("gaps --last 7d should get past flag parsing: %s", r)
	}
}
