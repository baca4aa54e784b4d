package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/ingest"
	"github.com/reaparchive/reaparchive/archive/pull"
	"github.com/reaparchive/reaparchive/index"
)

// ingestFlags are the push-ingest flags of record.
type ingestFlags struct {
	listen       string
	auth         []string
	insecure     bool
	maxSegSize   string
	maxRequests  int
	maxBuffer    string
	idleTimeout  time.Duration
	minRate      int64
	drainTimeout time.Duration
	segDur       time.Duration
}

// recordFlags are the flags of record.
type recordFlags struct {
	channel string
	sources []string
	dur     time.Duration
	timeout time.Duration
	inf     ingestFlags
	prefer  string
	grace   time.Duration
	spoolF  spoolFlags
	skew    time.Duration
	serve   serveFlags // --serve ADDR: an origin while recording
	retain  time.Duration
}

func (a *app) recordCmd() *cobra.Command {
	var rf recordFlags
	cmd := &cobra.Command{
		Use:   "record --store URL --index PATH --channel NAME [--source NAME=MPD_URL ...] [--listen ADDR [--ingest-auth SOURCE=TOKEN ...]] [--for DURATION] [--spool DIR] [--spool-max SIZE]",
		Short: "Record a channel from redundant REaP sources (pulled and/or pushed) into the archive",
		Long: `record follows the live MPD of every source of a channel, fetches each new
segment of every Representation from every source as it becomes available, and
keeps the first valid copy of each epoch index K. Later copies are counted as
duplicates (same timing) or conflicts (different timing); a segment a source
does not have within --segment-timeout is recorded as missing from it.

With --listen ADDR it is also (or, without --source, only) a DASH-IF Live
Media Ingest Interface 1 (CMAF ingest) receiver: encoders PUT or POST
  /ingest/<channel>/<source>/<rep>/<name>.cmfv|.cmfa|.cmft|.cmfm|.m4s|.mp4
  /ingest/<channel>/<source>/Streams(<rep>.<ext>)   (long-running, chunked)
  /ingest/<channel>/<source>/<name>.mpd             (the I-MPD)
with the same dedup, layout and index as pulled sources; GET /healthz and
GET /metrics (Prometheus) are served on the same address. --ingest-auth
SOURCE=TOKEN makes SOURCE send "Authorization: Bearer TOKEN"
(SOURCE=user:password: basic auth); once sources are listed, only they may
push. Without any credentials record only listens on loopback addresses,
unless --insecure-ingest.

It stops on SIGINT/SIGTERM or after --for, finishing in-flight segments.`,
		Example: `  reaparchive record --store file://./archive --index archive.db --channel news \
    --source a=http://enc-a.example/news/manifest.mpd --source b=http://enc-b.example/news/manifest.mpd --for 24h
  reaparchive record --store s3://archive?region=eu-west-1 --index news.db --channel news \
    --listen 0.0.0.0:8080 --ingest-auth enc1=s3cret
  reaparchive record --config reaparchive.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runRecord(cmd, &rf) },
	}
	rf.register(cmd.Flags())
	return cmd
}

// register defines record's flags on f.
func (rf *recordFlags) register(f *pflag.FlagSet) {
	f.StringVar(&rf.channel, "channel", "", "channel name (all channels of --config when omitted)")
	f.StringArrayVar(&rf.sources, "source", nil, "pull source NAME=MPD_URL (repeatable)")
	durationFlag(f, &rf.dur, "for", 0, positive, "record for this long, then stop (default: until SIGINT/SIGTERM)")
	durationFlag(f, &rf.timeout, "segment-timeout", 0, positive, "how long to retry a segment after it is due before recording it missing from a source (default 3×D, at least 6s)")
	f.StringVar(&rf.prefer, "prefer", "", "preferred source of --channel: its copy of a segment is kept when it arrives within --grace of the first delivery (config: preferred_source)")
	durationFlag(f, &rf.grace, "grace", defaultGrace, nonNegative, "how long after the first delivery of a segment to wait for the preferred source's copy (config: grace)")
	f.StringVar(&rf.inf.listen, "listen", "", "receive pushed CMAF ingest (DASH-IF Live Media Ingest Interface 1) on this address, e.g. 127.0.0.1:8080")
	f.StringArrayVar(&rf.inf.auth, "ingest-auth", nil, "push source credential SOURCE=TOKEN (Bearer) or SOURCE=user:password (basic auth) (repeatable); listed sources are the only ones that may push")
	f.BoolVar(&rf.inf.insecure, "insecure-ingest", false, "allow unauthenticated pushes on a non-loopback --listen address")
	f.StringVar(&rf.inf.maxSegSize, "max-segment-size", "64MiB", "largest init or media segment accepted (pushed or pulled), e.g. 64MiB, 1GB, 1048576")
	f.IntVar(&rf.inf.maxRequests, "max-ingest-requests", ingest.DefaultMaxRequests, "most concurrent ingest requests; more get 503 with Retry-After")
	f.StringVar(&rf.inf.maxBuffer, "ingest-max-buffer", "", "most bytes of segment data all ingest requests together hold in memory while their bodies arrive; a request that would go over it waits up to 1s, then gets 503 with Retry-After (default: the larger of 512MiB and --max-segment-size)")
	durationFlag(f, &rf.inf.idleTimeout, "ingest-idle-timeout", ingest.DefaultIdleTimeout, positive, "close an ingest connection whose headers take longer, or whose body brings less than --ingest-min-rate over such a window")
	f.Int64Var(&rf.inf.minRate, "ingest-min-rate", ingest.DefaultMinDataRate, "minimum ingest body data rate in bytes/s, averaged over --ingest-idle-timeout")
	durationFlag(f, &rf.inf.drainTimeout, "ingest-drain-timeout", ingest.DefaultDrainTimeout, positive, "on stop, how long in-flight ingest requests may take to finish")
	f.StringVar(&rf.spoolF.dir, "spool", "", "when the store is unreachable (after retries), keep segments in this local directory and upload them, in order, when it is back (default: no spool; deliveries then fail)")
	f.StringVar(&rf.spoolF.max, "spool-max", "10GiB", "largest size of --spool; once full, segments are refused (pushes get 503) until the store is back")
	durationFlag(f, &rf.inf.segDur, "ingest-segment-duration", 0, positive, "segment duration D of pushed channels that send no I-MPD (default: from the I-MPD, a pull source, the index or the first video segment)")
	f.StringVar(&rf.serve.listen, "serve", "", "also serve the archive on this address as serve --listen does (segments are served as soon as they are stored); see serve --help")
	rf.serve.define(f, "serve-")
	durationFlag(f, &rf.skew, "max-time-skew", archive.DefaultMaxTimeSkew, nonNegative, "refuse a pushed or pulled segment whose time (EPT) is further than this from the recorder's clock; 0 turns the check off (config: max_time_skew)")
	durationFlag(f, &rf.retain, "retention", 0, positive, "keep every recorded channel this long (7d, 36h, 2m) and prune while recording, as reaparchive prune does (config: retention per channel; default: keep for ever)")
}

// recording is what record sets up before it starts: the pull jobs, the
// push receiver's options and listener, the segment size limit.
type recording struct {
	jobs   []pull.Options
	iopts  ingest.Options
	ln     net.Listener // nil: no push ingest
	maxSeg int64        // 0: the default
}

// runRecord is record: set up (flags, listener), open the archive, then
// serve pushes and follow pull sources until the end, and say what was
// recorded.
func (a *app) runRecord(cmd *cobra.Command, rf *recordFlags) error {
	ctx := cmd.Context()
	rec, err := a.setUpRecording(rf)
	if err != nil {
		return err
	}
	if rec.ln != nil {
		defer rec.ln.Close()
	}
	ar, closeAll, err := a.openRecordArchive(ctx, cmd, rf, rec.jobs)
	if err != nil {
		return err
	}
	defer closeAll()
	g, gctx := errgroup.WithContext(ctx)
	pctx := a.watchIndex(gctx, ar, len(rec.jobs) > 0)
	defer a.startIndexObjects(gctx, ar)()
	defer a.startPruning(gctx, ar, a.recordedChannels(rf.channel, rec.jobs), rf.retain)()
	var srv *ingest.Server
	if rec.ln != nil {
		if srv, err = a.startIngest(gctx, g, ar, rec, rf.dur); err != nil {
			return err
		}
	}
	stopOrigin, err := a.serveWhileRecording(gctx, ar, &rf.serve)
	if err != nil {
		return err
	}
	pulled := a.startPulls(ctx, pctx, g, ar, rec, rf)
	err = g.Wait()
	if serr := stopOrigin(); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	return nothingRecorded(recordedChannels(rec.jobs, pulled, rec.iopts, srv))
}

// setUpRecording checks record's flags and, with --listen, opens the
// listener.
func (a *app) setUpRecording(rf *recordFlags) (recording, error) {
	var rec recording
	if rf.serve.listen != "" {
		if err := rf.serve.check(); err != nil {
			return rec, err
		}
	}
	if rf.inf.maxSegSize != "" {
		n, err := parseSize(rf.inf.maxSegSize)
		if err != nil {
			return rec, usagef("--max-segment-size %q: %v", rf.inf.maxSegSize, err)
		}
		rec.maxSeg = n
	}
	var err error
	if rec.jobs, err = a.pullJobs(rf.channel, rf.sources, rf.inf.listen != ""); err != nil {
		return rec, err
	}
	if rf.inf.listen == "" {
		return rec, nil
	}
	if rec.iopts, err = a.ingestOptions(rf.channel, rf.inf); err != nil {
		return rec, err
	}
	rec.iopts.MaxSegmentSize = rec.maxSeg
	if rf.inf.maxBuffer != "" {
		n, err := parseSize(rf.inf.maxBuffer)
		if err != nil || n < rec.maxSeg {
			return rec, usagef("--ingest-max-buffer %q: want a size of at least --max-segment-size (%d bytes)", rf.inf.maxBuffer, rec.maxSeg)
		}
		rec.iopts.MaxBuffer = n
	}
	if err := ingest.CheckListenAddr(rf.inf.listen, rec.iopts); err != nil {
		return rec, usageError{insecureListenFlags(err, rf.inf.listen)}
	}
	if rec.ln, err = net.Listen("tcp", rf.inf.listen); err != nil {
		return rec, fmt.Errorf("--listen: %w", err)
	}
	return rec, nil
}

// openRecordArchive locks and opens the archive for recording: index and
// store locks, leftover temporary files of the recorded channels removed,
// after an unclean stop their objects without index rows indexed,
// time skew and preferences applied, the spool started. closeAll undoes it
// all, in reverse order.
func (a *app) openRecordArchive(ctx context.Context, cmd *cobra.Command, rf *recordFlags, jobs []pull.Options) (_ *archive.Archive, closeAll func(), err error) {
	var undo []func()
	undoAll := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if err != nil {
			undoAll()
		}
	}()
	if err := a.checkArchiveFlags(); err != nil {
		return nil, nil, err
	}
	unlockIndex, dead, err := a.lockIndex("record")
	if err != nil {
		return nil, nil, err
	}
	undo = append(undo, unlockIndex)
	ar, closeFn, err := a.openArchive(ctx, writeArchive)
	if err != nil {
		return nil, nil, err
	}
	undo = append(undo, closeFn)
	unlockStore, err := a.lockStore(ar.Store, "record")
	if err != nil {
		return nil, nil, err
	}
	undo = append(undo, unlockStore)
	channels := a.recordedChannels(rf.channel, jobs)
	if err := a.removeTempFiles(ctx, ar.Store, channels, time.Now()); err != nil {
		return nil, nil, err
	}
	if err := a.recoverUnclean(ctx, ar, channels, dead); err != nil {
		return nil, nil, err
	}
	ar.MaxTimeSkew = a.maxTimeSkew(rf.skew, cmd.Flags().Changed("max-time-skew"))
	if err := a.applyPreferences(ctx, ar, rf.channel, jobs, rf.prefer, rf.grace, cmd.Flags().Changed("grace")); err != nil {
		return nil, nil, err
	}
	stopSpool, err := a.startSpool(ctx, ar, rf.spoolF)
	if err != nil {
		return nil, nil, err
	}
	undo = append(undo, stopSpool)
	return ar, undoAll, nil
}

// startIngest starts the push receiver on rec.ln in g, for dur if set.
func (a *app) startIngest(ctx context.Context, g *errgroup.Group, ar *archive.Archive, rec recording, dur time.Duration) (*ingest.Server, error) {
	iopts := rec.iopts
	iopts.Log = a.log
	srv, err := ingest.New(ar, iopts)
	if err != nil {
		return nil, usageError{err}
	}
	if ar.Spool != nil {
		srv.Registry().MustRegister(ar.Spool.Collectors()...)
	}
	var names []string
	for _, c := range iopts.Channels {
		names = append(names, c.Name)
	}
	a.log.Info("push ingest", "listen", rec.ln.Addr().String(), "channels", strings.Join(names, ","))
	g.Go(func() error {
		ictx := ctx
		if dur > 0 {
			var cancel context.CancelFunc
			ictx, cancel = context.WithTimeout(ctx, dur)
			defer cancel()
		}
		return srv.Serve(ictx, rec.ln)
	})
	return srv, nil
}

// startPulls starts one pull recording per job in g (pctx: ends when the
// index is lost); it returns each channel's counters. A recording stopped
// by a signal (ctx done) ends cleanly.
func (a *app) startPulls(ctx, pctx context.Context, g *errgroup.Group, ar *archive.Archive, rec recording, rf *recordFlags) map[string]*pull.Stats {
	pulled := map[string]*pull.Stats{}
	for _, j := range rec.jobs {
		j.For, j.SegmentTimeout = rf.dur, rf.timeout
		if rec.maxSeg > 0 {
			j.MaxSegmentSize = rec.maxSeg
		}
		stats := &pull.Stats{}
		j.Stats = stats
		pulled[j.Channel] = stats
		g.Go(func() error {
			start := time.Now()
			err := pull.Record(pctx, ar, j)
			a.log.Info("recording ended", "channel", j.Channel, "elapsed", time.Since(start).Round(time.Second),
				"stored", stats.Stored.Load(), "duplicates", stats.Duplicates.Load(), "conflicts", stats.Conflicts.Load(),
				"rejected", stats.Rejected.Load(), "missing_deliveries", stats.Missing.Load())
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return nil // stopped by a signal: a clean stop
			}
			if cause := context.Cause(pctx); errors.Is(cause, index.ErrLost) {
				return cause
			}
			return err
		})
	}
	return pulled
}

// maxTimeSkew is --max-time-skew, or the config's max_time_skew when the
// flag is not given.
func (a *app) maxTimeSkew(flag time.Duration, set bool) time.Duration {
	if !set && a.cfg.MaxTimeSkew != nil {
		return time.Duration(*a.cfg.MaxTimeSkew)
	}
	return flag
}

// insecureListenFlags says ingest.ErrInsecureListen in flag terms: the
// flags and config keys that lift the refusal.
func insecureListenFlags(err error, listen string) error {
	if !errors.Is(err, ingest.ErrInsecureListen) {
		return err
	}
	return fmt.Errorf("ingest: %w %q: give every push source credentials (--ingest-auth SOURCE=TOKEN or SOURCE=user:password, or ingest_auth/token/user/password in --config), listen on 127.0.0.1, or pass --insecure-ingest", ingest.ErrInsecureListen, listen)
}

// ingestOptions builds the receiver's channels, sources and credentials from
// flags and config: --channel (or every config channel); push sources are
// those with credentials (--ingest-auth, ingest_auth:, token/user/password)
// and config sources without an mpd. A channel without any accepts every
// source name, unauthenticated.
func (a *app) ingestOptions(channel string, inf ingestFlags) (ingest.Options, error) {
	opts := ingest.Options{
		AllowInsecure:   inf.insecure,
		SegmentDuration: inf.segDur,
		MaxRequests:     inf.maxRequests,
		IdleTimeout:     inf.idleTimeout,
		MinDataRate:     inf.minRate,
		DrainTimeout:    inf.drainTimeout,
	}
	if inf.maxRequests <= 0 {
		return opts, usagef("--max-ingest-requests must be positive")
	}
	if inf.idleTimeout <= 0 || inf.drainTimeout <= 0 || inf.minRate < 0 || inf.segDur < 0 {
		return opts, usagef("--ingest-idle-timeout and --ingest-drain-timeout must be positive, --ingest-min-rate and --ingest-segment-duration not negative")
	}
	opts.ReadHeaderTimeout = inf.idleTimeout
	common, err := a.ingestCredentials(inf.auth)
	if err != nil {
		return opts, err
	}
	names, err := a.pushChannelNames(channel)
	if err != nil {
		return opts, err
	}
	for _, name := range names {
		ch, err := a.pushChannel(name, common)
		if err != nil {
			return opts, err
		}
		opts.Channels = append(opts.Channels, ch)
	}
	return opts, nil
}

// ingestCredentials are the push credentials of every channel: --ingest-auth
// SOURCE=VALUE flags, then the config's ingest_auth (flags win).
func (a *app) ingestCredentials(auth []string) (map[string]ingest.Credential, error) {
	common := map[string]ingest.Credential{}
	add := func(where, src, value string) error {
		cred, err := ingest.ParseCredential(value)
		if err != nil {
			return usagef("%s %s: %v", where, src, err)
		}
		if _, dup := common[src]; dup {
			return usagef("%s: source %q given twice", where, src)
		}
		common[src] = cred
		return nil
	}
	for _, v := range auth {
		src, value, err := splitNameValue("--ingest-auth", v)
		if err != nil {
			return nil, err
		}
		if err := validName("--ingest-auth", "source", src); err != nil {
			return nil, err
		}
		if err := add("--ingest-auth", src, value); err != nil {
			return nil, err
		}
	}
	cfgSrcs := make([]string, 0, len(a.cfg.IngestAuth))
	for src := range a.cfg.IngestAuth {
		cfgSrcs = append(cfgSrcs, src)
	}
	sort.Strings(cfgSrcs)
	for _, src := range cfgSrcs {
		if _, byFlag := common[src]; byFlag {
			continue // flags win over the config
		}
		if err := add("config ingest_auth", src, a.cfg.IngestAuth[src]); err != nil {
			return nil, err
		}
	}
	return common, nil
}

// pushChannelNames are the channels that accept pushes: --channel, or
// every config channel.
func (a *app) pushChannelNames(channel string) ([]string, error) {
	if channel != "" {
		return []string{channel}, nil
	}
	var names []string
	for _, c := range a.cfg.Channels {
		names = append(names, c.Name)
	}
	if len(names) == 0 {
		return nil, usagef("--listen needs --channel NAME (or channels in --config)")
	}
	return names, nil
}

// pushChannel is channel name's push sources: its config sources with
// credentials or without an mpd, then the sources of common not among them.
func (a *app) pushChannel(name string, common map[string]ingest.Credential) (ingest.PushChannel, error) {
	ch := ingest.PushChannel{Name: name}
	seen := map[string]bool{}
	if cc, ok := a.cfg.channel(name); ok {
		for _, s := range cc.Sources {
			cred := ingest.Credential{Token: s.Token, User: s.User, Password: s.Password}
			if err := cred.Check(); err != nil {
				return ch, usagef("config channel %s source %s: %v", name, s.Name, err)
			}
			if c, ok := common[s.Name]; ok {
				cred = c // flags (and ingest_auth) win
			}
			if cred.IsZero() && s.MPD != "" {
				continue // a pull source only
			}
			ch.Sources = append(ch.Sources, ingest.PushSource{Name: s.Name, Credential: cred})
			seen[s.Name] = true
		}
	}
	for _, src := range sortedKeys(common) {
		if !seen[src] {
			ch.Sources = append(ch.Sources, ingest.PushSource{Name: src, Credential: common[src]})
		}
	}
	return ch, nil
}

func sortedKeys(m map[string]ingest.Credential) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// parseSize parses a byte count: 1048576, 64MiB, 64M, 1GB, 512KiB.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, errors.New("want a number of bytes, optionally with K, M, G (KiB, MiB, GiB, KB, MB, GB)")
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, err
	}
	var mul int64
	switch strings.ToUpper(strings.TrimSpace(t[i:])) {
	case "", "B":
		mul = 1
	case "K", "KIB":
		mul = 1 << 10
	case "M", "MIB":
		mul = 1 << 20
	case "G", "GIB":
		mul = 1 << 30
	case "KB":
		mul = 1000
	case "MB":
		mul = 1000 * 1000
	case "GB":
		mul = 1000 * 1000 * 1000
	default:
		return 0, fmt.Errorf("unknown unit %q", t[i:])
	}
	if n <= 0 || n > (1<<62)/mul {
		return 0, errors.New("out of range")
	}
	return n * mul, nil
}

// defaultGrace is how long the preferred source's copy is waited for.
const defaultGrace = 2 * time.Second

// applyPreferences sets each recorded channel's preferred source from
// --prefer (for --channel) or the config's preferred_source and grace.
func (a *app) applyPreferences(ctx context.Context, ar *archive.Archive, channel string, jobs []pull.Options, prefer string, grace time.Duration, graceSet bool) error {
	if grace < 0 {
		return usagef("--grace %v: must not be negative", grace)
	}
	if prefer != "" && channel == "" {
		return usagef("--prefer needs --channel")
	}
	names := map[string]bool{}
	if channel != "" {
		names[channel] = true
	}
	for _, j := range jobs {
		names[j.Channel] = true
	}
	for _, c := range a.cfg.Channels {
		if channel == "" {
			names[c.Name] = true
		}
	}
	for name := range names {
		src, g := prefer, grace
		if cc, ok := a.cfg.channel(name); ok {
			if src == "" {
				src = cc.PreferredSource
			}
			if !graceSet && cc.Grace > 0 {
				g = time.Duration(cc.Grace)
			}
		}
		ch, err := ar.OpenChannel(ctx, name, 0)
		if err != nil {
			return err
		}
		if err := ch.SetPreference(ctx, src, g); err != nil {
			return usagef("channel %s: preferred source: %v", name, err)
		}
		if src != "" {
			a.log.Info("preferred source", "channel", name, "source", src, "grace", g)
		}
	}
	return nil
}

// pullJobs resolves which channels to record from flags and config. With
// push (--listen) a channel may have no pull sources: it is then received
// only, and has no pull job.
func (a *app) pullJobs(channel string, sources []string, push bool) ([]pull.Options, error) {
	if channel != "" {
		if err := validName("--channel", "channel", channel); err != nil {
			return nil, err
		}
	}
	var jobs []pull.Options
	pullSources := func(cc ChannelConfig) []pull.MPDSource {
		var out []pull.MPDSource
		for _, s := range cc.Sources {
			if s.MPD == "" && push {
				continue // a push-only source
			}
			out = append(out, pull.MPDSource{Name: s.Name, MPDURL: s.MPD})
		}
		return out
	}
	if channel == "" {
		if len(sources) > 0 {
			return nil, usagef("--source needs --channel")
		}
		for _, ch := range a.cfg.Channels {
			jobs = append(jobs, pull.Options{Channel: ch.Name, Sources: pullSources(ch)})
		}
		if len(jobs) == 0 {
			if push {
				return nil, usagef("--listen needs --channel NAME (or channels in --config)")
			}
			return nil, usagef("no channel: give --channel NAME --source NAME=MPD_URL, or channels in --config")
		}
	} else {
		j := pull.Options{Channel: channel}
		if cc, ok := a.cfg.channel(channel); ok && len(sources) == 0 {
			j.Sources = pullSources(cc)
		}
		for _, s := range sources {
			name, u, err := splitNameValue("--source", s)
			if err != nil {
				return nil, err
			}
			if err := validName("--source", "source", name); err != nil {
				return nil, err
			}
			j.Sources = append(j.Sources, pull.MPDSource{Name: name, MPDURL: u})
		}
		jobs = append(jobs, j)
	}
	out := jobs[:0]
	for _, j := range jobs {
		if len(j.Sources) == 0 {
			if push {
				continue // received only
			}
			return nil, usagef("channel %q has no sources: give --source NAME=MPD_URL (or --listen ADDR for pushes)", j.Channel)
		}
		for _, s := range j.Sources {
			u, err := url.Parse(s.MPDURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, usagef("source %s: %q is not an http(s) MPD URL", s.Name, s.MPDURL)
			}
		}
		out = append(out, j)
	}
	return out, nil
}
