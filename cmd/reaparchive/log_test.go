package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestDurationsAsText(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: durationsAsText}))
	log.Info("recording ended", "elapsed", 64*time.Second, "stored", 62)
	if got := buf.String(); !strings.Contains(got, `"elapsed":"1m4s"`) || !strings.Contains(got, `"stored":62`) {
		t.Errorf("logged %s", got)
	}
}
