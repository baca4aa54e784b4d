package simulate

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseDrop(t *testing.T) {
	t.Parallel()
	type probe struct {
		rep  string
		k    int64
		want bool
	}
	for _, tc := range []struct {
		spec    string
		nilFunc bool
		probes  []probe
		err     string
	}{
		{spec: "", nilFunc: true},
		{spec: " ; ", nilFunc: true},
		{spec: "every:5", probes: []probe{{"video", 0, true}, {"audio", 10, true}, {"video", 11, false}, {"video", 886183195, true}}},
		{spec: "every:5:2", probes: []probe{{"video", 2, true}, {"audio", 7, true}, {"video", 5, false}, {"video", 3, false}}},
		{spec: "every:1", probes: []probe{{"video", 3, true}, {"audio", 4, true}}},
		{spec: "k:123,456", probes: []probe{{"video", 123, true}, {"audio", 456, true}, {"video", 124, false}}},
		{spec: "k: 7 , 9", probes: []probe{{"video", 7, true}, {"audio", 9, true}}},
		{spec: "rep:video:every:3", probes: []probe{{"video", 3, true}, {"audio", 3, false}, {"video", 4, false}}},
		{spec: "rep:audio:every:4:1;k:100", probes: []probe{{"audio", 5, true}, {"video", 5, false}, {"video", 100, true}, {"audio", 100, true}, {"audio", 6, false}}},
		{spec: "rep:audio:k:8;", probes: []probe{{"audio", 8, true}, {"video", 8, false}}},
		{spec: "every", err: `drop rule "every": N must be a positive integer`},
		{spec: "every:0", err: `drop rule "every:0": N must be a positive integer`},
		{spec: "every:-2", err: `"every:-2"`},
		{spec: "every:x", err: `"every:x"`},
		{spec: "every:5:5", err: `drop rule "every:5:5": R must be an integer in [0, 5)`},
		{spec: "every:5:-1", err: `"every:5:-1"`},
		{spec: "every:5:1:2", err: `drop rule "every:5:1:2": want every:N or every:N:R`},
		{spec: "k:", err: `drop rule "k:"`},
		{spec: "k:1,x", err: `drop rule "k:1,x": "x" is not a segment number`},
		{spec: "k:-3", err: `"-3" is not a segment number`},
		{spec: "rep:video", err: `drop rule "rep:video": want rep:NAME:RULE`},
		{spec: "rep::every:2", err: `want rep:NAME:RULE`},
		{spec: "rep:video:sometimes", err: `drop rule "rep:video:sometimes": unknown rule "sometimes"`},
		{spec: "every:2;nth:3", err: `drop rule "nth:3": unknown rule "nth"`},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			f, err := ParseDrop(tc.spec)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (f == nil) != tc.nilFunc {
				t.Fatalf("nil func = %v, want %v", f == nil, tc.nilFunc)
			}
			for _, p := range tc.probes {
				if got := f(p.rep, p.k); got != p.want {
					t.Errorf("drop(%s, %d) = %v, want %v", p.rep, p.k, got, p.want)
				}
			}
		})
	}
}

func TestParseIntervals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec string
		want []Interval
		err  string
	}{
		{spec: "", want: nil},
		{spec: "20s-30s", want: []Interval{{20 * time.Second, 30 * time.Second}}},
		{spec: "20s-30s,45s-50s", want: []Interval{{20 * time.Second, 30 * time.Second}, {45 * time.Second, 50 * time.Second}}},
		{spec: " 0s - 1m30s , 2m-2m500ms ", want: []Interval{{0, 90 * time.Second}, {2 * time.Minute, 2*time.Minute + 500*time.Millisecond}}},
		{spec: "20s", err: `interval "20s": want FROM-TO`},
		{spec: "20-30s", err: `interval "20-30s": start`},
		{spec: "20s-30", err: `interval "20s-30": end`},
		{spec: "30s-20s", err: `interval "30s-20s": want 0 <= FROM < TO`},
		{spec: "5s-5s", err: `want 0 <= FROM < TO`},
		{spec: "-5s-5s", err: `interval "-5s-5s": start`},
		{spec: "1s-2s,x", err: `interval "x"`},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			got, err := ParseIntervals(tc.spec)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
