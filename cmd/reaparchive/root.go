package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is bad usage: exit code 2.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// app holds what every command shares: streams, global flags, config.
type app struct {
	stdout, stderr io.Writer
	configPath     string
	storeURL       string
	indexPath      string
	logFormat      string
	logLevel       string
	cfg            *Config
	log            *slog.Logger
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command ") {
		fmt.Fprintf(stderr, "reaparchive: %v\nRun 'reaparchive --help' for usage.\n", err)
		return exitUsage
	}
	var ec exitCodeError
	if errors.As(err, &ec) {
		if ec.msg != "" {
			fmt.Fprintf(stderr, "reaparchive: %s\n", ec.msg)
		}
		return ec.code
	}
	fmt.Fprintf(stderr, "reaparchive: %v\n", err)
	return exitFailure
}

// exitCodeError ends a command with a given code (e.g. 1 when a check found
// problems), after the command printed its own report.
type exitCodeError struct {
	code int
	msg  string
}

func (e exitCodeError) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.msg) }

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "reaparchive",
		Short: "Record redundant REaP encoders into one deduplicated archive and publish VoD from it",
		Long: `reaparchive records the outputs of redundant MPEG REaP (DASH part 9) encoders,
keeps exactly one copy of each interchangeable segment (deduplicated by epoch
index), stores it in a defined layout on disk, S3 or GCS with an SQLite index,
and publishes static DASH and HLS presentations for any time range.

Store URLs: file:///abs/dir, file://./rel/dir, s3://bucket?endpoint=...&region=...&use_path_style=true,
gs://bucket, mem://. Environment: REAPARCHIVE_STORE, REAPARCHIVE_INDEX.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: a.setup,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "YAML config file (store, index, channels and their sources)")
	pf.StringVar(&a.storeURL, "store", "", "archive store URL (env REAPARCHIVE_STORE)")
	pf.StringVar(&a.indexPath, "index", "", "SQLite index path (env REAPARCHIVE_INDEX)")
	pf.StringVar(&a.logFormat, "log-format", "", "log format: text or json (default: text on a terminal, json otherwise)")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.AddCommand(a.recordCmd(), a.statusCmd(), a.exportCmd(), a.simulateCmd(), a.demoCmd(), a.gapsCmd(), a.repairCmd())
	root.AddCommand(a.reindexCmd(), a.verifyCmd())
	root.AddCommand(a.spliceCmd(), a.eventsCmd(), a.pruneCmd())
	root.AddCommand(a.holdsCmd())
	root.AddCommand(a.serveCmd())
	return root
}

// setup resolves config, environment and flags (flags win), and the logger.
func (a *app) setup(cmd *cobra.Command, _ []string) error {
	if a.configPath != "" {
		cfg, err := LoadConfig(a.configPath)
		if err != nil {
			return usageError{err}
		}
		a.cfg = cfg
	} else {
		a.cfg = &Config{}
	}
	if a.storeURL == "" {
		a.storeURL = os.Getenv("REAPARCHIVE_STORE")
	}
	if a.storeURL == "" {
		a.storeURL = a.cfg.Store
	}
	if a.indexPath == "" {
		a.indexPath = os.Getenv("REAPARCHIVE_INDEX")
	}
	if a.indexPath == "" {
		a.indexPath = a.cfg.Index
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", a.logLevel)
	}
	hopts := &slog.HandlerOptions{Level: level, ReplaceAttr: durationsAsText}
	format := a.logFormat
	if format == "" {
		format = "json"
		if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	switch format {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.stderr, hopts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, hopts))
	default:
		return usagef("--log-format %q: want text or json", a.logFormat)
	}
	return nil
}

// archiveMode says what openArchive may create.
type archiveMode int

const (
	// readArchive: the store and the index must exist (status, gaps,
	// export-vod, verify, repair, splice): a mistyped store URL or index
	// path is an error, not a new empty archive.
	readArchive archiveMode = iota
	// rebuildIndex: the store must exist, the index may be new (reindex).
	rebuildIndex
	// writeArchive: both are created if missing (record).
	writeArchive
)

// openArchive opens the store and index named by flags/env/config. A store
// URL that is not valid is a usage error (exit 2).
func (a *app) openArchive(ctx context.Context, mode archiveMode) (*archive.Archive, func(), error) {
	if err := a.checkArchiveFlags(); err != nil {
		return nil, nil, err
	}
	if mode == readArchive {
		if _, err := os.Stat(a.indexPath); err != nil {
			return nil, nil, fmt.Errorf("index %s: %w (record into it first, or check --index)", a.indexPath, err)
		}
	}
	st, err := a.openStore(ctx, mode)
	if err != nil {
		return nil, nil, err
	}
	db, err := index.Open(ctx, a.indexPath)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("open index %s: %w", a.indexPath, err)
	}
	ar := archive.New(st, db, a.log)
	return ar, func() {
		if err := db.Close(); err != nil {
			a.log.Error("closing index", "err", err)
		}
		if err := st.Close(); err != nil {
			a.log.Error("closing store", "err", err)
		}
	}, nil
}

// openStore opens the store named by flags/env/config, which must exist
// unless mode is writeArchive. A store URL that is not valid is a usage
// error (exit 2).
func (a *app) openStore(ctx context.Context, mode archiveMode) (*cloud.Store, error) {
	if err := a.checkStoreFlag(); err != nil {
		return nil, err
	}
	open := cloud.OpenExisting
	if mode == writeArchive {
		open = cloud.Open
	}
	st, err := open(ctx, a.storeURL)
	if errors.Is(err, cloud.ErrInvalidURL) {
		return nil, usagef("--store: %w", err)
	}
	if errors.Is(err, cloud.ErrNoStore) {
		return nil, fmt.Errorf("%w (record into it first, or check --store)", err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}

// checkStoreFlag is a usage error unless a store is given.
func (a *app) checkStoreFlag() error {
	if a.storeURL == "" {
		return usagef("no store: give --store URL (or REAPARCHIVE_STORE, or store: in --config)")
	}
	return nil
}

// checkArchiveFlags is a usage error unless a store and an index are given.
func (a *app) checkArchiveFlags() error {
	if err := a.checkStoreFlag(); err != nil {
		return err
	}
	if a.indexPath == "" {
		return usagef("no index: give --index PATH (or REAPARCHIVE_INDEX, or index: in --config)")
	}
	return nil
}

// isTerminal reports whether w is a terminal (progress output).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// noArgs is cobra.NoArgs as a usage error (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}

func splitNameValue(flag, s string) (string, string, error) {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" || value == "" {
		return "", "", usagef("%s %q: want NAME=VALUE", flag, s)
	}
	return name, value, nil
}

// durationsAsText logs a time.Duration as "1m4s", not as nanoseconds (which
// the JSON handler would write).
func durationsAsText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// printJSON writes v to stdout as indented JSON (the --json output).
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
