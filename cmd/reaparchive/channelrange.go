package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/reaparchive/reaparchive/archive"
)

// channelRange are the --channel (required) and --from/--to/--last flags
// of the commands that work on a range of one channel: events, repair,
// splice.
type channelRange struct {
	channel string
	rangeFlags
}

// add defines the flags on cmd; channelUsage is --channel's help.
func (c *channelRange) add(cmd *cobra.Command, channelUsage string) {
	cmd.Flags().StringVar(&c.channel, "channel", "", channelUsage)
	c.rangeFlags.add(cmd)
}

// requireChannel says --channel is required when it is not given.
func (c *channelRange) requireChannel() error {
	if c.channel == "" {
		return usagef("--channel is required")
	}
	return nil
}

// openChannel opens the archive for reading and checks that its index
// has the channel; the caller calls the returned func to close it.
func (a *app) openChannel(ctx context.Context, channel string) (*archive.Archive, func(), error) {
	ar, closeFn, err := a.openArchive(ctx, readArchive)
	if err != nil {
		return nil, nil, err
	}
	if err := checkChannel(ctx, ar.DB, channel); err != nil {
		closeFn()
		return nil, nil, err
	}
	return ar, closeFn, nil
}
