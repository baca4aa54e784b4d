package export

import (
	"context"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/manifest"
)

// An HLS export presents an fMP4 WebVTT (wvtt) text track as segmented
// WebVTT text, the HLS format for WebVTT (fMP4 WebVTT is none: hls.js
// reads a wvtt segment as WebVTT text and fails). Segment K of the track
// becomes <stem>-<rep>/seg-<K>.vtt beside the presentation's playlists,
// converted from the stored segment by cmaf.WebVTT; the DASH export keeps
// the fMP4 track. (Not "<K>.vtt": an export written into a channel's
// prefix would then hold keys of the form of the archive's media keys,
// <channel>/<rep>/<K>.<ext>, which reindex would take for segments.)

// IsWebVTT reports whether a track with codecs is fMP4 WebVTT (wvtt).
func IsWebVTT(codecs string) bool {
	return strings.EqualFold(strings.TrimSpace(codecs), "wvtt")
}

// hlsTextPattern is the template of the WebVTT text files of track rep in
// an export whose files are named after stem, relative to its media
// playlist <stem>-<rep>.m3u8: "<stem>-<rep>/seg-$Number$.vtt".
func hlsTextPattern(stem, rep string) string {
	return strings.ReplaceAll(path.Base(stem)+"-"+rep, "$", "$$") + "/seg-$Number$.vtt"
}

// SetHLSText gives every wvtt track of periods its HLSTextPattern,
// "<stem>-<rep>/seg-$Number$.vtt" (stem's last element), after checking
// that its segments can be converted: an HLS presentation (export-vod's,
// the origin's) then lists WebVTT text files of the track, each converted
// from the stored segment K by ConvertWebVTT.
func SetHLSText(periods []manifest.VoDPeriod, stem string) error {
	for pi := range periods {
		for ti := range periods[pi].Tracks {
			tr := &periods[pi].Tracks[ti]
			if tr.ContentType != "text" || !IsWebVTT(tr.Codecs) {
				continue
			}
			if tr.Protection != nil {
				return fmt.Errorf("%s: an encrypted WebVTT track cannot be exported as HLS WebVTT text", tr.Rep)
			}
			tr.HLSTextPattern = hlsTextPattern(stem, tr.Rep)
		}
	}
	return nil
}

// webVTTFiles converts every stored segment of the tracks of periods that
// have an HLSTextPattern to its WebVTT text file, a few at a time. dir is
// the directory of the playlists, relative to the export's store.
func (d Deps) webVTTFiles(ctx context.Context, periods []manifest.VoDPeriod, dir string) ([]File, error) {
	type job struct {
		tr  *manifest.VoDTrack
		k   int64
		out int // index into files
	}
	var jobs []job
	for pi := range periods {
		for ti := range periods[pi].Tracks {
			tr := &periods[pi].Tracks[ti]
			if tr.HLSTextPattern == "" {
				continue
			}
			for _, s := range tr.Segments {
				if !s.Gap {
					jobs = append(jobs, job{tr: tr, k: s.K, out: len(jobs)})
				}
			}
		}
	}
	files := make([]File, len(jobs))
	inits, err := d.textInits(ctx, periods)
	if err != nil {
		return nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, j := range jobs {
		g.Go(func() error {
			name, body, err := d.webVTTFile(gctx, j.tr, inits[j.tr.InitPath], j.k)
			if err != nil {
				return fmt.Errorf("%s K=%d: %w", j.tr.Rep, j.k, err)
			}
			files[j.out] = File{path.Join(dir, name), body}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return files, nil
}

// textInits parses the init of every track with an HLSTextPattern, by
// InitPath.
func (d Deps) textInits(ctx context.Context, periods []manifest.VoDPeriod) (map[string]*cmaf.InitInfo, error) {
	out := map[string]*cmaf.InitInfo{}
	for _, p := range periods {
		for _, tr := range p.Tracks {
			if tr.HLSTextPattern == "" || out[tr.InitPath] != nil {
				continue
			}
			data, err := d.Store.Get(ctx, tr.InitPath)
			if err != nil {
				return nil, fmt.Errorf("%s init: %w", tr.Rep, err)
			}
			info, err := cmaf.ParseInit(data)
			if err != nil {
				return nil, fmt.Errorf("%s init %s: %w", tr.Rep, tr.InitPath, err)
			}
			out[tr.InitPath] = info
		}
	}
	return out, nil
}

// webVTTFile reads segment K of tr (decoded with init) and converts it:
// the file's name (relative to the playlist) and its bytes.
func (d Deps) webVTTFile(ctx context.Context, tr *manifest.VoDTrack, init *cmaf.InitInfo, k int64) (string, []byte, error) {
	key, err := manifest.MediaPath(tr, k)
	if err != nil {
		return "", nil, err
	}
	name, err := manifest.HLSTextPath(tr, k)
	if err != nil {
		return "", nil, err
	}
	body, err := d.ConvertWebVTT(ctx, key, init)
	if err != nil {
		return "", nil, err
	}
	return name, body, nil
}

// ConvertWebVTT is the WebVTT text file of the wvtt segment stored at key,
// which decodes with init (cmaf.WebVTT).
func (d Deps) ConvertWebVTT(ctx context.Context, key string, init *cmaf.InitInfo) ([]byte, error) {
	data, err := d.Store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	body, err := cmaf.WebVTT(data, init)
	if err != nil {
		return nil, fmt.Errorf("segment %s: %w", key, err)
	}
	return body, nil
}

// putFiles writes files to out, a few at a time.
func putFiles(ctx context.Context, out *cloud.Store, files []File) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, f := range files {
		g.Go(func() error {
			if err := out.Put(gctx, f.Name, f.Body, nil); err != nil {
				return fmt.Errorf("export: write %s: %w", f.Name, err)
			}
			return nil
		})
	}
	return g.Wait()
}
