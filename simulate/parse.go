package simulate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParseDrop parses a drop specification into an Options.Drop function.
//
// A specification is one or more rules separated by ';'; a segment is
// dropped if any rule matches it:
//
//	every:N       K%N == 0
//	every:N:R     K%N == R (0 <= R < N)
//	k:A,B,...     K is one of A, B, ...
//	rep:V:RULE    RULE, for Representation V only (e.g. rep:audio:every:5)
//
// An empty specification returns nil (drop nothing). Errors name the rule
// that is wrong.
func ParseDrop(spec string) (func(rep string, k int64) bool, error) {
	type rule struct {
		rep  string // "" for every representation
		n, r int64  // every:N:R when n > 0
		ks   []int64
	}
	var rules []rule
	for part := range strings.SplitSeq(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var ru rule
		body := part
		if rest, ok := strings.CutPrefix(body, "rep:"); ok {
			rep, tail, ok := strings.Cut(rest, ":")
			if !ok || rep == "" {
				return nil, fmt.Errorf("drop rule %q: want rep:NAME:RULE", part)
			}
			ru.rep, body = rep, tail
		}
		kind, args, _ := strings.Cut(body, ":")
		switch kind {
		case "every":
			fields := strings.Split(args, ":")
			if len(fields) > 2 {
				return nil, fmt.Errorf("drop rule %q: want every:N or every:N:R", part)
			}
			n, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("drop rule %q: N must be a positive integer, got %q", part, fields[0])
			}
			ru.n = n
			if len(fields) == 2 {
				r, err := strconv.ParseInt(fields[1], 10, 64)
				if err != nil || r < 0 || r >= n {
					return nil, fmt.Errorf("drop rule %q: R must be an integer in [0, %d), got %q", part, n, fields[1])
				}
				ru.r = r
			}
		case "k":
			for f := range strings.SplitSeq(args, ",") {
				k, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
				if err != nil || k < 0 {
					return nil, fmt.Errorf("drop rule %q: %q is not a segment number", part, f)
				}
				ru.ks = append(ru.ks, k)
			}
		default:
			return nil, fmt.Errorf("drop rule %q: unknown rule %q (want every:N, every:N:R, k:LIST or rep:NAME:RULE)", part, kind)
		}
		rules = append(rules, ru)
	}
	if len(rules) == 0 {
		return nil, nil
	}
	return func(rep string, k int64) bool {
		for _, ru := range rules {
			if ru.rep != "" && ru.rep != rep {
				continue
			}
			if ru.n > 0 && k%ru.n == ru.r || slices.Contains(ru.ks, k) {
				return true
			}
		}
		return false
	}, nil
}

// ParseIntervals parses a comma-separated list of FROM-TO intervals of Go
// durations, e.g. "20s-30s,1m-1m15s", into Options.Down. "" gives nil.
func ParseIntervals(spec string) ([]Interval, error) {
	var out []Interval
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, ok := strings.Cut(part, "-")
		if !ok {
			return nil, fmt.Errorf("interval %q: want FROM-TO, e.g. 20s-30s", part)
		}
		f, err := time.ParseDuration(strings.TrimSpace(from))
		if err != nil {
			return nil, fmt.Errorf("interval %q: start: %w", part, err)
		}
		t, err := time.ParseDuration(strings.TrimSpace(to))
		if err != nil {
			return nil, fmt.Errorf("interval %q: end: %w", part, err)
		}
		if f < 0 || t <= f {
			return nil, fmt.Errorf("interval %q: want 0 <= FROM < TO", part)
		}
		out = append(out, Interval{From: f, To: t})
	}
	return out, nil
}
