package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// durationExamples is shown with every duration error.
const durationExamples = "want a duration such as 90s, 5m, 24h, 36h or 7d (d: days)"

// parseDuration parses a duration given on the command line or in the
// config file: a Go duration (90s, 5m, 1h30m, 24h) optionally preceded by a
// whole number of days (7d, 1d12h). It is the one parser of every duration
// flag and config value.
func parseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	body, neg := strings.CutPrefix(t, "-")
	if !neg {
		body = strings.TrimPrefix(body, "+")
	}
	var days int64
	if d, rest, ok := strings.Cut(body, "d"); ok {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < 0 || strings.ContainsAny(d, "+-") {
			return 0, fmt.Errorf("%q: %s", s, durationExamples)
		}
		days, body = n, rest
	}
	var rest time.Duration
	if body != "" {
		var err error
		if rest, err = time.ParseDuration(body); err != nil || strings.HasPrefix(body, "-") || strings.HasPrefix(body, "+") {
			return 0, fmt.Errorf("%q: %s", s, durationExamples)
		}
	} else if days == 0 && !strings.Contains(t, "d") {
		return 0, fmt.Errorf("%q: %s", s, durationExamples)
	}
	const day = 24 * time.Hour
	if days > (math.MaxInt64-int64(rest))/int64(day) {
		return 0, fmt.Errorf("%q: too long (%s)", s, durationExamples)
	}
	d := time.Duration(days)*day + rest
	if neg {
		d = -d
	}
	return d, nil
}

// durationSign is what a duration flag accepts.
type durationSign int

const (
	anySign     durationSign = iota // negative, zero or positive (a clock offset)
	nonNegative                     // zero or more
	positive                        // more than zero
)

// durationValue is a pflag.Value parsed by parseDuration.
type durationValue struct {
	d    *time.Duration
	sign durationSign
}

func (v durationValue) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	switch {
	case v.sign == positive && d <= 0:
		return fmt.Errorf("%q: must be more than zero: %s", s, durationExamples)
	case v.sign == nonNegative && d < 0:
		return fmt.Errorf("%q: must not be negative: %s", s, durationExamples)
	}
	*v.d = d
	return nil
}

func (v durationValue) String() string {
	if v.d == nil || *v.d == 0 {
		return "0"
	}
	return v.d.String()
}

func (v durationValue) Type() string { return "duration" }

// durationFlag defines a duration flag parsed by parseDuration; sign says
// which values it accepts (a bad one is a usage error, exit 2).
func durationFlag(f *pflag.FlagSet, p *time.Duration, name string, def time.Duration, sign durationSign, usage string) {
	*p = def
	f.Var(durationValue{d: p, sign: sign}, name, usage)
}

// configDuration is a duration in the config file, parsed by parseDuration.
type configDuration time.Duration

// UnmarshalYAML parses a YAML scalar such as "2s" or "1d".
func (c *configDuration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("line " + strconv.Itoa(n.Line) + ": " + durationExamples)
	}
	d, err := parseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*c = configDuration(d)
	return nil
}
