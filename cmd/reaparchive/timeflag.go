package main

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// timeExample is shown with every time error.
const timeExample = "want an RFC 3339 time such as 2026-11-21T10:00:00Z, or Unix epoch seconds such as 1763719200"

// parseTimeFlag parses the value of a time flag (--from, --to, --expires):
// an RFC 3339 time, or Unix epoch seconds (a fraction allowed). It is the
// one parser of every time flag; a bad value is a usage error naming the
// flag and the value.
func parseTimeFlag(flag, s string) (time.Time, error) {
	v := strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if sec, err := strconv.ParseFloat(v, 64); err == nil && !strings.ContainsAny(v, "eEinfINFxX") &&
		sec >= 0 && sec < math.MaxInt64/1e9 {
		whole, frac := math.Modf(sec)
		return time.Unix(int64(whole), int64(math.Round(frac*1e9))).UTC(), nil
	}
	return time.Time{}, usagef("--%s %q: %s", flag, s, timeExample)
}
