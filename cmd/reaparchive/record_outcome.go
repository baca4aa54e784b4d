package main

import (
	"fmt"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/reaparchive/reaparchive/archive/ingest"
	"github.com/reaparchive/reaparchive/archive/pull"
)

// channelOutcome is what one recorded channel got: the segments delivered
// (stored, duplicate or conflicting: the archive has them) and, per source,
// its latest error.
type channelOutcome struct {
	name      string
	delivered int64
	sources   map[string]string // source -> latest error ("" if none)
}

// recordedChannels gathers what every recorded channel got, from the pull
// recorders' stats and the push receiver's counters.
func recordedChannels(jobs []pull.Options, pulled map[string]*pull.Stats, iopts ingest.Options, srv *ingest.Server) []channelOutcome {
	byName := map[string]*channelOutcome{}
	get := func(name string) *channelOutcome {
		if c, ok := byName[name]; ok {
			return c
		}
		c := &channelOutcome{name: name, sources: map[string]string{}}
		byName[name] = c
		return c
	}
	for _, j := range jobs {
		c, st := get(j.Channel), pulled[j.Channel]
		c.delivered += st.Stored.Load() + st.Duplicates.Load() + st.Conflicts.Load()
		errs := st.SourceErrors()
		for _, s := range j.Sources {
			c.sources[s.Name] = errs[s.Name]
		}
	}
	if srv != nil {
		for _, ch := range iopts.Channels {
			get(ch.Name)
		}
		pushOutcomes(srv, get)
	}
	out := make([]channelOutcome, 0, len(byName))
	for _, c := range byName {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// pushOutcomes adds the push receiver's counters (its /metrics) to the
// channels get returns.
func pushOutcomes(srv *ingest.Server, get func(string) *channelOutcome) {
	fams, err := srv.Registry().Gather()
	if err != nil {
		return
	}
	rejected := map[[2]string]float64{}
	for _, f := range fams {
		name := strings.TrimPrefix(f.GetName(), "reaparchive_ingest_")
		for _, m := range f.GetMetric() {
			ch, src := label(m, "channel"), label(m, "source")
			if ch == "" || src == "" {
				continue
			}
			v := m.GetCounter().GetValue()
			switch name {
			case "segments_stored_total", "segments_duplicate_total", "segments_conflicting_total":
				c := get(ch)
				c.delivered += int64(v)
				if _, ok := c.sources[src]; !ok {
					c.sources[src] = ""
				}
			case "segments_rejected_total":
				rejected[[2]string{ch, src}] += v
			}
		}
	}
	for k, n := range rejected {
		c := get(k[0])
		if c.sources[k[1]] == "" {
			c.sources[k[1]] = fmt.Sprintf("pushed %s, all rejected (see the log)", plural(int64(n), "segment"))
		}
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// nothingRecorded is a failure (exit 1) naming every channel that got no
// segment, with each source's latest error; nil when every channel got
// some.
func nothingRecorded(chans []channelOutcome) error {
	var b strings.Builder
	for _, c := range chans {
		if c.delivered > 0 {
			continue
		}
		fmt.Fprintf(&b, "\n  channel %s: no segment recorded", c.name)
		if len(c.sources) == 0 {
			b.WriteString(" (no source pushed anything)")
		}
		names := make([]string, 0, len(c.sources))
		for n := range c.sources {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			e := c.sources[n]
			if e == "" {
				e = "delivered no segment"
			}
			fmt.Fprintf(&b, "\n    source %s: %s", n, e)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return exitCodeError{code: exitFailure, msg: "record stored nothing:" + b.String()}
}

// plural is "1 segment", "2 segments", "0 mismatches".
func plural[N int | int64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "ch") || strings.HasSuffix(noun, "s") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
