package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reaparchive/reaparchive/reconcile"
)

func (a *app) verifyCmd() *cobra.Command {
	var (
		channel  string
		readData bool
		repair   bool
		asJSON   bool
		workers  int
	)
	cmd := &cobra.Command{
		Use:   "verify --store URL --index PATH [--channel NAME] [--read-data] [--repair-index] [--json]",
		Short: "Compare the index with the store; exit 1 on any mismatch",
		Long: `verify compares the index with the store, channel by channel: segment rows
whose object is missing, archive objects without a row, sizes, and init
references (every row names an indexed init segment whose object exists,
every init object is indexed). --read-data also reads every object and
compares the SHA-256 of its bytes with the index (and, where they differ,
with the object's own reap-sha256, which tells a corrupt object from a stale
index row).

--repair-index then fixes the index side: rows of missing objects are
deleted (their K become gaps, which repair can fill), rows that disagree
with their object are made again from it, objects and init segments without
rows are indexed. The store is never written: a corrupt object stays there,
its row is deleted, and verify reports it as not indexed until it is removed
or replaced.

A segment row whose object is gone and whose K is before the archive's
start (the channel's newest expiry marker, which prune writes, or now minus
retention: of the channel in --config, whichever is later) and in no active
hold is expired, not missing: retention (prune, or a bucket lifecycle rule)
deleted it. It is listed as expired and is no mismatch; the next prune, or
--repair-index, removes the row. --json counts them in "expired".

It also lists what the cue check found in text tracks while recording
(text_issue: order, alignment, malformed or cue_time, with K and detail;
status counts them): those segments are stored as sent.

It prints a summary (--json: a report, text_issues counting those) and
exits 1 when it found any mismatch (repaired or not) or text issue, 0 when
the index and the store agree and no text track has an issue.`,
		Example: `  reaparchive verify --store file://./archive --index archive.db
  reaparchive verify --store file://./archive --index archive.db --channel news --read-data --repair-index`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if workers < 1 {
				return usagef("--workers %d: want at least 1", workers)
			}
			ar, closeFn, err := a.openArchive(ctx, readArchive)
			if err != nil {
				return err
			}
			defer closeFn()
			opts := reconcile.VerifyOptions{Options: reconcile.Options{Channel: channel, Workers: workers, Retention: a.cfg.retentions()},
				ReadData: readData, RepairIndex: repair}
			if isTerminal(a.stderr) {
				opts.Progress = progressLine(a.stderr, "verify")
			}
			rep, err := reconcile.Verify(ctx, ar.Store, ar.DB, opts)
			if err != nil {
				return err
			}
			if asJSON {
				if err := a.printJSON(rep); err != nil {
					return err
				}
			} else {
				printVerify(a, rep, repair)
			}
			return verifyExit(rep, repair)
		},
	}
	f := cmd.Flags()
	f.StringVar(&channel, "channel", "", "only this channel (default: every channel in the store or the index)")
	f.BoolVar(&readData, "read-data", false, "read every object and compare the SHA-256 of its bytes")
	f.BoolVar(&repair, "repair-index", false, "fix the index side of every mismatch (the store is never written)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.IntVar(&workers, "workers", 16, "objects read at once")
	return cmd
}

// verifyExit is nil when the index and the store agree and no text
// track has an issue, else an exit code 1 that counts what verify found.
func verifyExit(rep reconcile.Report, repaired bool) error {
	if rep.Mismatches == 0 && rep.TextIssues == 0 {
		return nil
	}
	var msgs []string
	if rep.Mismatches > 0 {
		msg := mismatches(rep.Mismatches) + " between the index and the store"
		if repaired {
			msg += fmt.Sprintf(", %d repaired in the index", rep.Repaired)
		}
		msgs = append(msgs, msg)
	}
	if rep.TextIssues > 0 {
		msgs = append(msgs, textIssues(rep.TextIssues)+" in text tracks")
	}
	return exitCodeError{code: exitFailure, msg: strings.Join(msgs, "; ")}
}

func printVerify(a *app, rep reconcile.Report, repair bool) {
	if len(rep.Channels) == 0 {
		fmt.Fprintln(a.stdout, "no channels in the store or the index")
	}
	for _, c := range rep.Channels {
		fmt.Fprintf(a.stdout, "channel %s: %s, %s, %s, %s", c.Name, plural(int64(c.Tracks), "track"), plural(int64(c.Segments), "segment row"),
			plural(int64(c.Objects), "media object"), plural(int64(c.Inits), "init segment"))
		if rep.ReadData {
			fmt.Fprintf(a.stdout, ", %s read", plural(c.BytesRead, "byte"))
		}
		texts, expired := 0, 0
		for _, p := range c.Problems {
			switch p.Kind {
			case reconcile.TextIssue:
				texts++
			case reconcile.Expired:
				expired++
			}
		}
		fmt.Fprintf(a.stdout, ": %s", mismatches(len(c.Problems)-texts-expired))
		if texts > 0 {
			fmt.Fprintf(a.stdout, ", %s", textIssues(texts))
		}
		fmt.Fprintln(a.stdout)
		for _, p := range c.Problems {
			if p.Kind != reconcile.Expired {
				fmt.Fprintf(a.stdout, "  %s\n", p)
			}
		}
		if expired > 0 {
			fmt.Fprintf(a.stdout, "  expired: %s whose objects retention deleted (before the archive's start); the next prune removes them (--json lists them)\n", plural(int64(expired), "index row"))
		}
	}
	if rep.TextIssues > 0 {
		fmt.Fprintf(a.stdout, "%s in text tracks (found by the cue check while recording; the segments are stored as sent)\n", textIssues(rep.TextIssues))
	}
	switch {
	case rep.Mismatches == 0:
		fmt.Fprintln(a.stdout, "the index and the store agree")
	case repair:
		fmt.Fprintf(a.stdout, "%s, %d repaired in the index\n", mismatches(rep.Mismatches), rep.Repaired)
	default:
		fmt.Fprintln(a.stdout, mismatches(rep.Mismatches))
	}
}

func mismatches(n int) string { return plural(int64(n), "mismatch") }

func textIssues(n int) string { return plural(int64(n), "text issue") }
