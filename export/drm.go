package export

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/manifest"
)

// exportDRM finds the encryption of an export's tracks: scheme, default
// KID and pssh boxes from each init, completed with the DRM systems (such
// as licence URLs) of the channel's newest stored I-MPD, read once and
// only when a track is encrypted.
type exportDRM struct {
	d       Deps
	channel string
	loaded  bool
	impd    map[string][]manifest.DRMSystem // by Representation id
}

// protection is the manifest signalling of a track (rep) whose init is
// info; nil for a track in the clear.
func (d *exportDRM) protection(ctx context.Context, rep string, info *cmaf.InitInfo) (*manifest.Protection, error) {
	if info == nil || info.Protection == nil {
		return nil, nil
	}
	if err := d.load(ctx); err != nil {
		return nil, err
	}
	p := info.Protection
	var fromInit []manifest.DRMSystem
	for _, x := range p.Pssh {
		fromInit = append(fromInit, manifest.DRMSystem{SystemID: x.SystemID, Pssh: x.Box})
	}
	return &manifest.Protection{Scheme: p.Scheme, DefaultKID: p.DefaultKID, Systems: manifest.MergeSystems(fromInit, d.impd[rep])}, nil
}

// load reads the DRM systems of the channel's newest I-MPD (none when no
// source sent one).
func (d *exportDRM) load(ctx context.Context) error {
	if d.loaded {
		return nil
	}
	key, err := d.newestIMPD(ctx)
	if err != nil {
		return err
	}
	d.loaded = true
	if key == "" {
		return nil
	}
	data, err := d.d.Store.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("I-MPD %s: %w", key, err)
	}
	if d.impd, err = manifest.IMPDSystems(ctx, data); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// newestIMPD is the key of the channel's most recently stored I-MPD, ""
// when there is none.
func (d *exportDRM) newestIMPD(ctx context.Context) (string, error) {
	var key string
	var newest time.Time
	err := d.d.Store.ListDir(ctx, d.channel+"/", func(a cloud.Attrs) error {
		if a.Dir || !strings.HasPrefix(a.Key, d.channel+"/impd-") {
			return nil
		}
		if o, err := layout.Parse(a.Key); err != nil || o.Kind != layout.KindIMPD {
			return nil
		}
		if key == "" || a.ModTime.After(newest) || (a.ModTime.Equal(newest) && a.Key > key) {
			key, newest = a.Key, a.ModTime
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("list I-MPDs of %s: %w", d.channel, err)
	}
	return key, nil
}
