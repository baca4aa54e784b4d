package manifest

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/Eyevinn/dash-mpd/mpd"
	"github.com/Eyevinn/hls-m3u8/m3u8"
)

// Common Encryption signalling (ISO/IEC 23001-7, DASH-IF IOP, RFC 8216bis).
const (
	MP4ProtectionScheme = "urn:mpeg:dash:mp4protection:2011"
	// ClearKeySystemID is the W3C ClearKey DRM system.
	ClearKeySystemID  = "e2719d58-a985-b3c9-781a-b030af78d30e"
	hlsClearKeyFormat = "org.w3.clearkey"
)

// Protection is the encryption of a track in an export: scheme and default
// KID from the init's sinf/tenc, and one entry per DRM system.
type Protection struct {
	Scheme     string // "cenc" or "cbcs" (schm scheme type)
	DefaultKID string // lower-case UUID
	Systems    []DRMSystem
}

// DRMSystem is one DRM system's signalling: its pssh box (from the init or
// the I-MPD) and what only an MPD carries, such as the licence URL.
type DRMSystem struct {
	SystemID    string // lower-case UUID
	Value       string // ContentProtection@value, e.g. "ClearKey1.0"
	Pssh        []byte // the whole pssh box; nil when none is known
	LaURL       string // dashif:Laurl
	LicenseType string // dashif:Laurl@licenseType
}

// Key identifies p for grouping: tracks with equal Keys share one
// AdaptationSet's ContentProtection.
func (p *Protection) Key() string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s", p.Scheme, p.DefaultKID)
	for _, s := range p.Systems {
		fmt.Fprintf(&b, "/%s|%s|%x|%s|%s", s.SystemID, s.Value, s.Pssh, s.LaURL, s.LicenseType)
	}
	return b.String()
}

// IMPDSystems reads the DRM systems an I-MPD signals for each
// Representation (by id): its own ContentProtection elements and its
// AdaptationSet's, mp4protection left out (the init's tenc is the truth).
func IMPDSystems(ctx context.Context, data []byte) (map[string][]DRMSystem, error) {
	m, err := decodeMPD(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("I-MPD: %w", err)
	}
	out := map[string][]DRMSystem{}
	for _, p := range m.Periods {
		for _, as := range p.AdaptationSets {
			for _, rep := range as.Representations {
				var sys []DRMSystem
				for _, cp := range slices.Concat(as.ContentProtections, rep.ContentProtections) {
					s, ok, err := drmSystem(cp)
					if err != nil {
						return nil, fmt.Errorf("I-MPD Representation %q: %w", rep.Id, err)
					}
					if ok {
						sys = addSystem(sys, s)
					}
				}
				for _, s := range sys {
					out[rep.Id] = addSystem(out[rep.Id], s)
				}
			}
		}
	}
	return out, nil
}

// drmSystem is the DRMSystem of a ContentProtection element whose scheme is
// urn:uuid:<SystemID>; ok is false for other schemes.
func drmSystem(cp *mpd.ContentProtectionType) (s DRMSystem, ok bool, err error) {
	id, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(string(cp.SchemeIdUri))), "urn:uuid:")
	if !ok {
		return DRMSystem{}, false, nil
	}
	if len(id) != 36 || strings.Count(id, "-") != 4 {
		return DRMSystem{}, false, fmt.Errorf("ContentProtection schemeIdUri %q: not urn:uuid:<UUID>", cp.SchemeIdUri)
	}
	s = DRMSystem{SystemID: id, Value: cp.Value}
	if cp.Pssh != nil && strings.TrimSpace(cp.Pssh.Value) != "" {
		if s.Pssh, err = base64.StdEncoding.DecodeString(strings.TrimSpace(cp.Pssh.Value)); err != nil {
			return DRMSystem{}, false, fmt.Errorf("ContentProtection %s cenc:pssh: %w", id, err)
		}
	}
	if cp.LaURL != nil {
		s.LaURL, s.LicenseType = strings.TrimSpace(string(cp.LaURL.Value)), cp.LaURL.LicenseType
	}
	return s, true, nil
}

// addSystem adds s to list, filling in what an entry of the same system
// lacks rather than listing the system twice.
func addSystem(list []DRMSystem, s DRMSystem) []DRMSystem {
	for i := range list {
		if list[i].SystemID != s.SystemID {
			continue
		}
		o := &list[i]
		o.Value = cmp.Or(o.Value, s.Value)
		o.LaURL = cmp.Or(o.LaURL, s.LaURL)
		o.LicenseType = cmp.Or(o.LicenseType, s.LicenseType)
		if o.Pssh == nil {
			o.Pssh = s.Pssh
		}
		return list
	}
	return append(list, s)
}

// MergeSystems is the DRM systems of a track: those of its init's pssh
// boxes (first, in order) completed by the I-MPD's for the same system,
// then the I-MPD's other systems.
func MergeSystems(fromInit, fromIMPD []DRMSystem) []DRMSystem {
	var out []DRMSystem
	for _, s := range slices.Concat(fromInit, fromIMPD) {
		out = addSystem(out, s)
	}
	return out
}

// contentProtections are the ContentProtection elements of p: mp4protection
// with cenc:default_KID, then one per DRM system with cenc:pssh and
// dashif:Laurl when known.
func contentProtections(p *Protection) []*mpd.ContentProtectionType {
	if p == nil {
		return nil
	}
	out := []*mpd.ContentProtectionType{{
		DescriptorType: mpd.DescriptorType{SchemeIdUri: MP4ProtectionScheme, Value: p.Scheme},
		DefaultKID:     p.DefaultKID,
	}}
	for _, s := range p.Systems {
		cp := &mpd.ContentProtectionType{DescriptorType: mpd.DescriptorType{SchemeIdUri: mpd.AnyURI("urn:uuid:" + s.SystemID), Value: s.Value}}
		if s.Pssh != nil {
			cp.Pssh = &mpd.PsshType{Value: base64.StdEncoding.EncodeToString(s.Pssh)}
		}
		if s.LaURL != "" {
			cp.LaURL = &mpd.LaURLType{LicenseType: s.LicenseType, Value: mpd.AnyURI(s.LaURL)}
		}
		out = append(out, cp)
	}
	return out
}

// hlsKeys are the EXT-X-KEY (or EXT-X-SESSION-KEY) tags of p: METHOD
// SAMPLE-AES for cbcs, SAMPLE-AES-CTR for cenc; per DRM system KEYFORMAT
// urn:uuid:<SystemID> with the pssh as a data URI, and for ClearKey
// org.w3.clearkey with the licence URL. A system with neither is left out.
// The KEYID travels in KEYFORMATVERSIONS until withKeyIDs rewrites it
// (hls-m3u8 v0.6.5's Key has no KEYID).
func hlsKeys(p *Protection) ([]m3u8.Key, error) {
	if p == nil {
		return nil, nil
	}
	var method string
	switch p.Scheme {
	case "cbcs":
		method = "SAMPLE-AES"
	case "cenc":
		method = "SAMPLE-AES-CTR"
	default:
		return nil, fmt.Errorf("encryption scheme %q has no HLS METHOD (want cenc or cbcs)", p.Scheme)
	}
	kid, err := kidHex(p.DefaultKID)
	if err != nil {
		return nil, err
	}
	versions := "1;kid=" + kid
	var keys []m3u8.Key
	for _, s := range p.Systems {
		k := m3u8.Key{Method: method, Keyformatversions: versions}
		switch {
		case s.SystemID == ClearKeySystemID && s.LaURL != "":
			k.Keyformat, k.URI = hlsClearKeyFormat, s.LaURL
		case s.Pssh != nil:
			k.Keyformat, k.URI = "urn:uuid:"+s.SystemID, "data:text/plain;base64,"+base64.StdEncoding.EncodeToString(s.Pssh)
		default:
			continue
		}
		keys = append(keys, k)
	}
	return keys, nil
}

var keyIDMarker = regexp.MustCompile(`KEYFORMATVERSIONS="1;kid=([0-9a-f]{32})"`)

// withKeyIDs turns the KEYID that hlsKeys put into KEYFORMATVERSIONS into
// its own attribute: KEYFORMATVERSIONS="1",KEYID=0x<kid>.
func withKeyIDs(playlist string) string {
	return keyIDMarker.ReplaceAllString(playlist, `KEYFORMATVERSIONS="1",KEYID=0x$1`)
}

// kidHex checks that a KID is a UUID and returns its 32 hex digits.
func kidHex(kid string) (string, error) {
	h := strings.ReplaceAll(kid, "-", "")
	if b, err := hex.DecodeString(h); err != nil || len(b) != 16 {
		return "", fmt.Errorf("default_KID %q is not a UUID", kid)
	}
	return h, nil
}
