package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/holds"
	"github.com/reaparchive/reaparchive/layout"
)

// holdsLong is holds --help.
const holdsLong = `holds manages hold records: wall-clock ranges of a channel that prune must
keep (LAYOUT.md, Holds). A hold is one small record in the store,
<channel>/hold-<id>.json, whatever the length of its range: use them for
legal holds and programmes to keep. A zero-copy export-vod writes one for
its range by default. A hold is active until it is released or, if it has
one, until its expiry. The commands need only the store (--store), not the
index.

  holds list [--channel NAME]     the holds of the channel (of every channel)
  holds add --channel NAME --from T --to T (or --last D) --reason TEXT [--expires D|T]
  holds release --channel NAME --id ID

T is an RFC 3339 time or Unix epoch seconds; --expires is a duration from now
(30d, 36h) or a time. --json prints snake_case JSON: list
{"holds":[HOLD]}, add HOLD, release {"channel","id"}, where HOLD is
{"id","channel","from","to","reason","created","expires","active"} (times
RFC 3339; expires absent for a hold until released; active whether it
holds now).`

func (a *app) holdsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "holds list|add|release",
		Short: "List, add and release holds: ranges of a channel that prune keeps",
		Long:  holdsLong,
		Example: `  reaparchive holds add --store file://./archive --channel news \
      --from 2026-11-21T10:00:00Z --to 2026-11-21T11:00:00Z --reason "legal hold 2026-17" --expires 90d
  reaparchive holds list --store file://./archive --channel news --json
  reaparchive holds release --store file://./archive --channel news --id 0123456789abcdef`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("holds: unknown subcommand %q: want list, add or release", args[0])
			}
			return usagef("holds: give a subcommand: list, add or release")
		},
	}
	cmd.AddCommand(a.holdsListCmd(), a.holdsAddCmd(), a.holdsReleaseCmd())
	return cmd
}

// holdJSON is a hold in holds --json and export-vod's output (README:
// holds).
type holdJSON struct {
	ID      string `json:"id"`
	Channel string `json:"channel"`
	From    string `json:"from"`
	To      string `json:"to"`
	Reason  string `json:"reason"`
	Created string `json:"created"`
	Expires string `json:"expires,omitempty"`
	Active  bool   `json:"active"`
}

func toHoldJSON(r *layout.HoldRecord, now time.Time) holdJSON {
	h := holdJSON{ID: r.ID, Channel: r.Channel, From: rfc3339(r.From), To: rfc3339(r.To), Reason: r.Reason,
		Created: rfc3339(r.Created), Active: r.Active(now)}
	if r.Expires != nil {
		h.Expires = rfc3339(*r.Expires)
	}
	return h
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// withStore opens the store (it must exist), runs fn with it and closes it.
func (a *app) withStore(ctx context.Context, fn func(*cloud.Store) error) error {
	st, err := a.openStore(ctx, readArchive)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			a.log.Error("closing store", "err", err)
		}
	}()
	return fn(st)
}

func (a *app) holdsListCmd() *cobra.Command {
	var (
		channel string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "list --store URL [--channel NAME] [--json]",
		Short: "List the holds of a channel (or of every channel), active and expired",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if channel != "" {
				if err := layout.ValidName("channel", channel); err != nil {
					return usagef("--channel: %v", err)
				}
			}
			return a.withStore(cmd.Context(), func(st *cloud.Store) error {
				recs, err := listHolds(cmd.Context(), st, channel)
				if err != nil {
					return err
				}
				return a.printHolds(recs, time.Now(), asJSON)
			})
		},
	}
	cmd.Flags().StringVar(&channel, "channel", "", "the channel (default: every channel)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// listHolds reads the hold records of channel, or of every channel of the
// store when channel is "".
func listHolds(ctx context.Context, st *cloud.Store, channel string) ([]*layout.HoldRecord, error) {
	channels := []string{channel}
	if channel == "" {
		channels = nil
		err := st.ListDir(ctx, "", func(a cloud.Attrs) error {
			if name := strings.TrimSuffix(a.Key, "/"); a.Dir && layout.ValidName("channel", name) == nil {
				channels = append(channels, name)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var out []*layout.HoldRecord
	for _, ch := range channels {
		recs, err := holds.List(ctx, st, ch)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

// printHolds prints holds list's output.
func (a *app) printHolds(recs []*layout.HoldRecord, now time.Time, asJSON bool) error {
	if asJSON {
		out := struct {
			Holds []holdJSON `json:"holds"`
		}{Holds: []holdJSON{}}
		for _, r := range recs {
			out.Holds = append(out.Holds, toHoldJSON(r, now))
		}
		return a.printJSON(out)
	}
	if len(recs) == 0 {
		fmt.Fprintln(a.stdout, "no holds")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANNEL\tID\tFROM\tTO\tEXPIRES\tSTATE\tREASON")
	for _, r := range recs {
		h := toHoldJSON(r, now)
		exp, state := h.Expires, "active"
		if exp == "" {
			exp = "never"
		}
		if !h.Active {
			state = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Channel, h.ID, h.From, h.To, exp, state, h.Reason)
	}
	return tw.Flush()
}

func (a *app) holdsAddCmd() *cobra.Command {
	var (
		cr      channelRange
		reason  string
		expires string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "add --store URL --channel NAME (--from T --to T | --last D) --reason TEXT [--expires D|T] [--json]",
		Short: "Hold a range of a channel: prune keeps it until the hold is released or expires",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			req, err := holdRequest(cr, reason, expires, now)
			if err != nil {
				return err
			}
			return a.withStore(cmd.Context(), func(st *cloud.Store) error {
				rec, err := holds.Add(cmd.Context(), st, req, now)
				if err != nil {
					return err
				}
				if asJSON {
					return a.printJSON(toHoldJSON(rec, now))
				}
				fmt.Fprintf(a.stdout, "added %s\n", describeHold(rec))
				return nil
			})
		},
	}
	cr.add(cmd, "the channel (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why the range is held (required)")
	cmd.Flags().StringVar(&expires, "expires", "", "when the hold ends: a duration from now (90d, 36h) or a time (default: until released)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// holdRequest checks holds add's flags and makes its request; what is
// wrong is a usage error naming the flag.
func holdRequest(cr channelRange, reason, expires string, now time.Time) (holds.Request, error) {
	if err := cr.requireChannel(); err != nil {
		return holds.Request{}, err
	}
	if err := layout.ValidName("channel", cr.channel); err != nil {
		return holds.Request{}, usagef("--channel: %v", err)
	}
	from, to, err := cr.times()
	if err != nil {
		return holds.Request{}, err
	}
	if from.IsZero() {
		return holds.Request{}, usagef("holds add needs a range: --from T --to T, or --last DURATION")
	}
	if strings.TrimSpace(reason) == "" {
		return holds.Request{}, usagef("--reason is required: say why the range is held")
	}
	req := holds.Request{Channel: cr.channel, From: from, To: to, Reason: reason}
	if expires != "" {
		exp, err := parseExpiry(expires, now)
		if err != nil {
			return holds.Request{}, err
		}
		req.Expires = &exp
	}
	return req, nil
}

// parseExpiry parses --expires: a duration from now or a time, in the
// future.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	var exp time.Time
	if d, err := parseDuration(s); err == nil {
		exp = now.Add(d)
	} else if exp, err = parseTimeFlag("expires", s); err != nil {
		return exp, usagef("--expires %q: want a duration from now such as 90d or 36h, or a time (RFC 3339 or epoch seconds)", s)
	}
	if !exp.After(now) {
		return exp, usagef("--expires %q: %s is not in the future", s, rfc3339(exp))
	}
	return exp, nil
}

// describeHold is a hold in one line of text.
func describeHold(r *layout.HoldRecord) string {
	until := "until released"
	if r.Expires != nil {
		until = "until " + rfc3339(*r.Expires)
	}
	return fmt.Sprintf("hold %s of %s [%s, %s) %s: %s", r.ID, r.Channel, rfc3339(r.From), rfc3339(r.To), until, r.Reason)
}

func (a *app) holdsReleaseCmd() *cobra.Command {
	var (
		channel, id string
		asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "release --store URL --channel NAME --id ID [--json]",
		Short: "Release a hold: prune may delete its range again",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case channel == "":
				return usagef("--channel is required")
			case layout.ValidName("channel", channel) != nil:
				return usagef("--channel: %v", layout.ValidName("channel", channel))
			case id == "":
				return usagef("--id is required (holds list shows the ids)")
			case layout.ValidHoldID(id) != nil:
				return usagef("--id: %v", layout.ValidHoldID(id))
			}
			return a.withStore(cmd.Context(), func(st *cloud.Store) error {
				if err := holds.Release(cmd.Context(), st, channel, id); err != nil {
					return err
				}
				if asJSON {
					return a.printJSON(struct {
						Channel string `json:"channel"`
						ID      string `json:"id"`
					}{channel, id})
				}
				fmt.Fprintf(a.stdout, "released hold %s of %s\n", id, channel)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&channel, "channel", "", "the channel (required)")
	cmd.Flags().StringVar(&id, "id", "", "the hold's id (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
