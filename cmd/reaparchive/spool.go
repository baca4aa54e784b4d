package main

import (
	"context"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/spool"
)

// spoolFlags are record's --spool and --spool-max.
type spoolFlags struct {
	dir string
	max string
}

// spoolDrainTimeout bounds the upload of what is still spooled when record
// stops.
const spoolDrainTimeout = 60 * time.Second

// startSpool opens --spool (if given), sets it as the archive's spool and
// starts uploading it in the background (first what an earlier run left).
// The returned stop ends the uploader, tries once more to upload what is
// left, and says what remains.
func (a *app) startSpool(ctx context.Context, ar *archive.Archive, f spoolFlags) (stop func(), err error) {
	if f.dir == "" {
		return func() {}, nil
	}
	limit, err := parseSize(f.max)
	if err != nil || limit <= 0 {
		return nil, usagef("--spool-max %q: want a positive size, e.g. 10GiB", f.max)
	}
	sp, err := spool.Open(f.dir, limit, a.log)
	if err != nil {
		return nil, err
	}
	ar.Spool = sp
	if n := sp.Len(); n > 0 {
		a.log.Warn("spool holds segments from an earlier run: uploading them first", "dir", f.dir, "segments", n, "bytes", sp.Bytes())
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		ar.RunSpool(sctx)
	}()
	return func() {
		cancel()
		<-done
		if sp.Len() == 0 {
			return
		}
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), spoolDrainTimeout)
		defer dcancel()
		if err := ar.DrainSpool(dctx); err != nil {
			a.log.Warn("segments remain spooled: the store did not take them; record uploads them on its next start with the same --spool",
				"dir", f.dir, "segments", sp.Len(), "bytes", sp.Bytes(), "err", err)
			return
		}
		a.log.Info("spool drained", "dir", f.dir)
	}, nil
}
