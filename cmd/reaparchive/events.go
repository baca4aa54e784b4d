package main

import (
	"encoding/base64"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/reaparchive/reaparchive/events"
)

func (a *app) eventsCmd() *cobra.Command {
	var (
		cr     channelRange
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "events --store URL --index PATH --channel NAME [--from T --to T | --last D] [--json]",
		Short: "List a channel's timed-metadata events (emsg), with SCTE-35 decoded",
		Long: `events lists the events (emsg boxes) of a channel's stored segments, from the
index: per track, each event once (equal scheme, value and id is one event),
in time order, with its start, duration and message. SCTE-35 messages
(scheme urn:scte:scte35:2013:bin) are decoded: command type, splice event id,
out of network (out) or not (in), splice time, break duration, segmentation
type ids. A message that cannot be decoded is listed with the error.
--from/--to or --last keep the events that start in that range.

--json prints {"events":[{"channel","rep","scheme_id_uri","value","id","time",
"presentation_time","timescale","duration_seconds","k","emsg_version",
"message_base64","scte35":{"command","splice_event_id","out_of_network",
"cancel","immediate","pts","break_duration_seconds","auto_return",
"segmentation_type_ids"},"scte35_error"}]}.`,
		Example: `  reaparchive events --store file://./archive --index archive.db --channel news
  reaparchive events --store file://./archive --index archive.db --channel news --last 1h --json
  reaparchive events --store file://./archive --index archive.db --channel news \
      --from 2026-11-21T10:00:00Z --to 2026-11-21T11:00:00Z`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := cr.requireChannel(); err != nil {
				return err
			}
			from, to, err := cr.times()
			if err != nil {
				return err
			}
			ar, closeFn, err := a.openChannel(ctx, cr.channel)
			if err != nil {
				return err
			}
			defer closeFn()
			evs, err := events.List(ctx, ar.DB, cr.channel, from, to)
			if err != nil {
				return err
			}
			if asJSON {
				return a.printJSON(struct {
					Events []events.Event `json:"events"`
				}{evs})
			}
			printEvents(a, cr.channel, evs)
			return nil
		},
	}
	cr.add(cmd, "the channel (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printEvents(a *app, channel string, evs []events.Event) {
	if len(evs) == 0 {
		fmt.Fprintf(a.stdout, "channel %s: no events\n", channel)
		return
	}
	fmt.Fprintf(a.stdout, "channel %s: %s\n", channel, plural(int64(len(evs)), "event"))
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TIME\tREP\tSCHEME\tVALUE\tID\tDURATION\tDETAIL")
	for _, e := range evs {
		dur := "unknown"
		if e.DurationSeconds != nil {
			dur = fmt.Sprintf("%gs", *e.DurationSeconds)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.Time.Format(time.RFC3339Nano), e.Rep, e.SchemeIDURI, e.Value, e.ID, dur, eventDetail(e))
	}
	tw.Flush()
}

// eventDetail is the decoded SCTE-35 ("splice_insert id 5 out break 10s"),
// its error, or the message size.
func eventDetail(e events.Event) string {
	if e.SCTE35Error != "" {
		return "undecodable: " + e.SCTE35Error
	}
	s := e.SCTE35
	if s == nil {
		msg, _ := base64.StdEncoding.DecodeString(e.MessageBase64)
		return fmt.Sprintf("message of %s", plural(int64(len(msg)), "byte"))
	}
	parts := []string{s.Command}
	if s.SpliceEventID != nil {
		parts = append(parts, fmt.Sprintf("id %d", *s.SpliceEventID))
	}
	if s.OutOfNetwork != nil {
		parts = append(parts, map[bool]string{true: "out", false: "in"}[*s.OutOfNetwork])
	}
	if s.Cancel {
		parts = append(parts, "cancel")
	}
	if s.BreakDurationSeconds != nil {
		parts = append(parts, fmt.Sprintf("break %gs", *s.BreakDurationSeconds))
	}
	for _, id := range s.SegmentationTypeIDs {
		parts = append(parts, fmt.Sprintf("segmentation type 0x%02x", id))
	}
	return strings.Join(parts, " ")
}
