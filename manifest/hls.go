package manifest

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Eyevinn/hls-m3u8/m3u8"
)

// HLSVersion is the EXT-X-VERSION of the playlists BuildHLS writes: 6 for
// EXT-X-MAP in a playlist that is not I-frames only.
const HLSVersion = 6

// HLS group ids of the renditions in the multivariant playlist.
const (
	hlsAudioGroup = "audio"
	hlsSubsGroup  = "subs"
)

// HLSPlaylist is one written playlist.
type HLSPlaylist struct {
	Rep  string // the track of a media playlist; "" for the multivariant playlist
	Name string // file name, relative to the multivariant playlist
	Body []byte
}

// BuildHLS writes in as HLS with fMP4 segments: a multivariant playlist and
// one media playlist per track. mediaName gives each track's media playlist
// name; it lives beside the multivariant playlist (no "/"), so in.BaseURL,
// relative to it, prefixes every segment and init URI as the MPD's BaseURL
// does. The result is the multivariant playlist first, then the media
// playlists in its order (video, audio, text). A track InHLS has no place
// for (timed metadata) is left out. The output is a pure function of in:
// the same input gives the same bytes.
//
// The Periods of in are the discontinuities: every media playlist has an
// EXT-X-DISCONTINUITY, an EXT-X-MAP and an EXT-X-PROGRAM-DATE-TIME at the
// first segment of each Period (EXT-X-DATERANGE needs one). The date is that segment's place on the
// epoch timeline, K*D seconds since 1970 (for every track the same instant,
// as the Period start is in the MPD). EXTINF is every segment's slot on the
// grid, D: an audio segment's samples may start and end up to a frame off
// it, which players take from its tfdt. A segment with Gap set is an EXT-X-GAP segment (its
// URI is the one the segment would have; players do not load it); gap
// entries after a track's last segment are left out. Video tracks are
// variants (EXT-X-STREAM-INF) that refer to every audio track as an AUDIO
// rendition and to the text tracks as SUBTITLES renditions: each text
// format is a group of its own (see subtitleGroups), and each video track
// is one variant per group, whose CODECS names the group's format (see
// hlsCodec). Without video, the audio tracks are the variants.
//
// A live presentation (in.Dynamic) numbers its segments and
// discontinuities from in.Dynamic's Holes and DiscontinuitySequence.
//
// Each of in.SCTE35 in the track's range is an EXT-X-DATERANGE before the
// segment whose slot on the grid holds its start (see dateRange).
func BuildHLS(in VoDInput, mediaName func(rep string) string) ([]HLSPlaylist, error) {
	if len(in.Periods) == 0 {
		return nil, errors.New("manifest: HLS: no Period")
	}
	tracks, err := hlsTracks(in)
	if err != nil {
		return nil, err
	}
	names, err := mediaPlaylistNames(tracks, mediaName)
	if err != nil {
		return nil, err
	}
	var out []HLSPlaylist
	for _, t := range tracks {
		body, err := mediaPlaylist(in, t.desc)
		if err != nil {
			return nil, fmt.Errorf("manifest: HLS: track %q: %w", t.desc.Rep, err)
		}
		out = append(out, HLSPlaylist{Rep: t.desc.Rep, Name: names[t.desc.Rep], Body: body})
	}
	mv, err := multivariantPlaylist(in, tracks, names)
	if err != nil {
		return nil, err
	}
	return append([]HLSPlaylist{{Name: "", Body: []byte(withKeyIDs(mv.String()))}}, out...), nil
}

// hlsTrack is a track of the HLS presentation with its first description.
type hlsTrack struct {
	desc   *VoDTrack
	order  int      // of first appearance in in.Periods
	codecs []string // of every Period, in order, without repeats
}

// hlsTracks returns the tracks of in that HLS has a place for, in
// multivariant order (video, audio, text; else first appearance).
func hlsTracks(in VoDInput) ([]*hlsTrack, error) {
	byRep := map[string]*hlsTrack{}
	var tracks []*hlsTrack
	for pi := range in.Periods {
		vp := &in.Periods[pi]
		if len(vp.Tracks) == 0 {
			return nil, fmt.Errorf("manifest: HLS: Period %d: no tracks", pi)
		}
		for ti := range vp.Tracks {
			tr := &vp.Tracks[ti]
			if !InHLS(tr.ContentType) {
				continue
			}
			if err := checkVoDTrack(tr); err != nil {
				return nil, fmt.Errorf("manifest: HLS: Period %d track %q: %w", pi, tr.Rep, err)
			}
			ht := byRep[tr.Rep]
			if ht == nil {
				ht = &hlsTrack{desc: tr, order: len(tracks)}
				byRep[tr.Rep] = ht
				tracks = append(tracks, ht)
			}
			if c := hlsCodec(tr); c != "" && !slices.Contains(ht.codecs, c) {
				ht.codecs = append(ht.codecs, c)
			}
		}
	}
	slices.SortStableFunc(tracks, func(a, b *hlsTrack) int {
		if ra, rb := contentRank(a.desc.ContentType), contentRank(b.desc.ContentType); ra != rb {
			return ra - rb
		}
		return a.order - b.order
	})
	return tracks, nil
}

// mediaPlaylistNames returns each track's media playlist name by Rep,
// checking that each is a unique file name.
func mediaPlaylistNames(tracks []*hlsTrack, mediaName func(rep string) string) (map[string]string, error) {
	names := map[string]string{}
	used := map[string]bool{}
	for _, t := range tracks {
		n := mediaName(t.desc.Rep)
		if n == "" || strings.ContainsAny(n, "/\\?#") || used[n] {
			return nil, fmt.Errorf("manifest: HLS: media playlist name %q for track %q: want a unique file name", n, t.desc.Rep)
		}
		used[n] = true
		names[t.desc.Rep] = n
	}
	return names, nil
}

// hlsKinds is the HLS tracks by content type, with every Period's codecs
// of each track: CODECS names every format of every Period (RFC 8216bis
// 4.4.6.2).
type hlsKinds struct {
	video, audio, text []*VoDTrack
	codecsOf           map[string][]string
}

func kindsOf(tracks []*hlsTrack) hlsKinds {
	k := hlsKinds{codecsOf: map[string][]string{}}
	for _, t := range tracks {
		k.codecsOf[t.desc.Rep] = t.codecs
		switch t.desc.ContentType {
		case "video":
			k.video = append(k.video, t.desc)
		case "audio":
			k.audio = append(k.audio, t.desc)
		case "text":
			k.text = append(k.text, t.desc)
		}
	}
	return k
}

// addCodecs appends to list the codecs of track rep it does not hold yet.
func (k hlsKinds) addCodecs(list []string, rep string) []string {
	for _, c := range k.codecsOf[rep] {
		if !slices.Contains(list, c) {
			list = append(list, c)
		}
	}
	return list
}

// multivariantPlaylist writes the variants and renditions of the tracks,
// whose media playlists are names by Rep, and in's session keys.
func multivariantPlaylist(in VoDInput, tracks []*hlsTrack, names map[string]string) (*m3u8.MasterPlaylist, error) {
	mv := m3u8.NewMasterPlaylist()
	mv.SetVersion(HLSVersion)
	mv.SetIndependentSegments(true)
	k := kindsOf(tracks)
	alts, maxAudio, audioCodecs := k.audioRenditions(names)
	subs := subtitleGroups(k.text, k.codecsOf)
	for _, g := range subs {
		textNames := renditionNames(g.tracks)
		for _, s := range g.tracks {
			alts = append(alts, subtitleRendition(s, g.id, textNames[s.Rep], names[s.Rep]))
		}
	}
	switch {
	case len(k.video) > 0:
		k.appendVideoVariants(mv, subs, alts, maxAudio, audioCodecs, names)
	case len(k.audio) > 0:
		for _, a := range k.audio {
			mv.Append(names[a.Rep], nil, m3u8.VariantParams{Bandwidth: uint32(a.Bandwidth), Codecs: strings.Join(k.addCodecs(nil, a.Rep), ",")})
		}
	default:
		return nil, errors.New("manifest: HLS: no video or audio track")
	}
	mv.SetVersion(HLSVersion) // Append raises it to 4 for renditions
	sk, err := sessionKeys(in)
	if err != nil {
		return nil, fmt.Errorf("manifest: HLS: %w", err)
	}
	mv.SessionKeys = sk
	return mv, nil
}

// audioRenditions returns the AUDIO renditions, the highest audio
// bandwidth and the codecs of all audio tracks.
func (k hlsKinds) audioRenditions(names map[string]string) (alts []*m3u8.Alternative, maxAudio int, audioCodecs []string) {
	audioCodecs = []string{}
	audioNames := renditionNames(k.audio)
	for i, a := range k.audio {
		alt := &m3u8.Alternative{Type: "AUDIO", GroupId: hlsAudioGroup, Name: audioNames[a.Rep], Language: a.Lang,
			Default: i == 0, Autoselect: true, URI: names[a.Rep]}
		if a.Channels > 0 {
			alt.Channels = &m3u8.Channels{Amount: a.Channels}
		}
		alts = append(alts, alt)
		maxAudio = max(maxAudio, a.Bandwidth)
		audioCodecs = k.addCodecs(audioCodecs, a.Rep)
	}
	return alts, maxAudio, audioCodecs
}

// appendVideoVariants appends one variant per video track and subtitle
// group: a variant names one SUBTITLES group, and a group holds one text
// format (players take a group's format from its variants' CODECS).
func (k hlsKinds) appendVideoVariants(mv *m3u8.MasterPlaylist, subs []subsGroup, alts []*m3u8.Alternative,
	maxAudio int, audioCodecs []string, names map[string]string) {
	if len(subs) == 0 {
		subs = []subsGroup{{}}
	}
	for _, v := range k.video {
		for _, g := range subs {
			vp := m3u8.VariantParams{Bandwidth: uint32(min(v.Bandwidth+maxAudio, math.MaxUint32)), Alternatives: alts}
			codecs := k.addCodecs(nil, v.Rep)
			codecs = append(append(codecs, audioCodecs...), g.codecs...)
			vp.Codecs = strings.Join(codecs, ",")
			if v.Width > 0 && v.Height > 0 {
				vp.Resolution = fmt.Sprintf("%dx%d", v.Width, v.Height)
			}
			vp.FrameRate = frameRate(v.FrameRate)
			if len(k.audio) > 0 {
				vp.Audio = hlsAudioGroup
			}
			vp.Subtitles = g.id
			mv.Append(names[v.Rep], nil, vp)
		}
	}
}

// InHLS reports whether an HLS presentation has a place for a track of
// content type ct: video and audio as variants and renditions, text as
// SUBTITLES. A timed-metadata track (urim, evte) has none (HLS carries
// timed metadata as ID3 in the media segments or as EXT-X-DATERANGE), so
// BuildHLS leaves it out.
func InHLS(ct string) bool {
	return ct == "video" || ct == "audio" || ct == "text"
}

// mediaPlaylist writes the media playlist of one track over every Period.
func mediaPlaylist(in VoDInput, desc *VoDTrack) ([]byte, error) {
	entries := hlsEntries(in, desc)
	if len(entries) == 0 {
		return nil, errors.New("no segments")
	}
	p, err := m3u8.NewMediaPlaylist(0, uint(len(entries)))
	if err != nil {
		return nil, err
	}
	p.SetVersion(HLSVersion)
	p.SetWritePrecision(6)
	p.MediaType = m3u8.VOD
	if in.Dynamic != nil {
		p.MediaType = m3u8.EVENT
		p.SeqNo = uint64(max(entries[0].seg.K, 0)) - in.Dynamic.Holes // the sliding window's first K less the holes before it
		p.DiscontinuitySeq = in.Dynamic.DiscontinuitySequence
	}
	p.SetIndependentSegments(true)
	target := uint(1)
	encrypted := false // an earlier Period was
	last := entries[len(entries)-1]
	spans, err := placeSCTE35(in.SCTE35, []*big.Rat{entries[0].slot()}, []*big.Rat{ticksRat(uint64(last.seg.K+1)*last.tr.SegDur, last.tr.Timescale)})
	if err != nil {
		return nil, err
	}
	for i, e := range entries {
		uri, err := hlsSegmentURI(e.tr, e.seg.K, in.BaseURL)
		if err != nil {
			return nil, err
		}
		// EXTINF is the segment's slot on the epoch grid, D, not its exact
		// duration: audio segments are up to a frame longer or shorter
		// than D, and exact durations would shift each discontinuity run
		// of an audio playlist against the video's (the players place a
		// run by the EXTINF sum before it; Shaka Player then never reaches
		// the end of a gap-filled presentation). On the grid every
		// playlist agrees, and with EXT-X-PROGRAM-DATE-TIME = K*D.
		dur := float64(e.tr.SegDur) / float64(e.tr.Timescale)
		ms := &m3u8.MediaSegment{URI: uri, Duration: dur, Gap: e.seg.Gap, Discontinuity: e.disc}
		for len(spans) > 0 && (i+1 == len(entries) || ticksRat(spans[0].ev.Time, spans[0].ev.Timescale).Cmp(entries[i+1].slot()) < 0) {
			ms.SCTE35DateRanges = append(ms.SCTE35DateRanges, dateRange(spans[0]))
			spans = spans[1:]
		}
		if e.first {
			if err := startPeriod(ms, e.tr, e.seg.K, in.BaseURL, &encrypted); err != nil {
				return nil, err
			}
		}
		if err := p.AppendSegment(ms); err != nil {
			return nil, err
		}
		target = max(target, uint(math.Round(dur)))
	}
	p.SetTargetDuration(target)
	if in.Dynamic == nil {
		p.Close()
	}
	return []byte(withKeyIDs(p.String())), nil
}

// hlsEntry is one segment of a media playlist.
type hlsEntry struct {
	seg   VoDSegment
	tr    *VoDTrack
	first bool // first of its Period
	disc  bool
}

// slot is where the entry's slot on the epoch grid starts, in seconds.
func (e hlsEntry) slot() *big.Rat {
	return ticksRat(uint64(e.seg.K)*e.tr.SegDur, e.tr.Timescale)
}

// hlsEntries lists the segments of track desc's media playlist over every
// Period, with gap segments over the Periods the track is not in so that
// the discontinuities of all media playlists line up.
func hlsEntries(in VoDInput, desc *VoDTrack) []hlsEntry {
	var entries []hlsEntry
	for pi := range in.Periods {
		vp := &in.Periods[pi]
		var tr *VoDTrack
		for ti := range vp.Tracks {
			if vp.Tracks[ti].Rep == desc.Rep {
				tr = &vp.Tracks[ti]
			}
		}
		segs := []VoDSegment(nil)
		if tr != nil {
			segs = ExpandSegments(tr.Segments)
		} else {
			tr = desc
			from, to := periodKRange(vp)
			for k := from; k < to; k++ {
				segs = append(segs, VoDSegment{K: k, EPT: uint64(k) * desc.SegDur, Duration: desc.SegDur, Gap: true})
			}
		}
		for i, s := range segs {
			entries = append(entries, hlsEntry{seg: s, tr: tr, first: i == 0, disc: i == 0 && pi > 0})
		}
	}
	// Gap entries after the track's last segment are left out: the track
	// ends there, as it does in the MPD. (Players wait for the data of a
	// trailing EXT-X-GAP and never reach the end.)
	for len(entries) > 0 && entries[len(entries)-1].seg.Gap {
		entries = entries[:len(entries)-1]
	}
	return entries
}

// startPeriod marks ms, the first segment K of tr in a Period: its
// EXT-X-PROGRAM-DATE-TIME, and unless tr is WebVTT text, its keys and
// EXT-X-MAP. encrypted says whether an earlier Period was, and is updated.
func startPeriod(ms *m3u8.MediaSegment, tr *VoDTrack, k int64, base string, encrypted *bool) error {
	ms.ProgramDateTime = epochTime(uint64(k)*tr.SegDur, tr.Timescale)
	if tr.HLSTextPattern != "" {
		return nil
	}
	var err error
	if ms.Keys, err = periodKeys(tr, *encrypted); err != nil {
		return err
	}
	*encrypted = *encrypted || tr.Protection != nil
	ms.Map = &m3u8.Map{URI: base + tr.InitPath}
	return nil
}

// hlsSegmentURI is the URI of segment K of tr in its media playlist: the
// media path under base, or for a track with an HLSTextPattern its
// HLSTextPath.
func hlsSegmentURI(tr *VoDTrack, k int64, base string) (string, error) {
	if tr.HLSTextPattern != "" {
		return HLSTextPath(tr, k)
	}
	uri, err := MediaPath(tr, k)
	return base + uri, err
}

// HLSTextPath is the path of the WebVTT text file of segment K of a track
// with an HLSTextPattern, relative to its media playlist.
func HLSTextPath(tr *VoDTrack, k int64) (string, error) {
	text := *tr
	text.MediaPattern = tr.HLSTextPattern
	uri, err := MediaPath(&text, k)
	if err != nil {
		return "", fmt.Errorf("HLSTextPattern: %w", err)
	}
	return uri, nil
}

// hlsCodec is a track's format as HLS CODECS names it: IMSC1 in fMP4
// whose codecs string is the bare sample entry "stpp" (as livesim2 and
// many encoders announce it) is "stpp.ttml.im1t", the IMSC1 Text profile
// (RFC 8216bis 4.4.6.2; hls.js and Shaka Player take a subtitle group's
// format from it). Other strings stay as they are.
func hlsCodec(tr *VoDTrack) string {
	if tr.ContentType == "text" && strings.EqualFold(strings.TrimSpace(tr.Codecs), "stpp") {
		return "stpp.ttml.im1t"
	}
	return tr.Codecs
}

// subsGroup is one SUBTITLES group of the multivariant playlist.
type subsGroup struct {
	id     string
	codecs []string
	tracks []*VoDTrack
}

// subtitleGroups puts the text tracks into SUBTITLES groups, one per text
// format (the CODECS of a track's Periods), in track order. A lone group
// is "subs"; with several each is "subs-" and its format's family.
func subtitleGroups(text []*VoDTrack, codecsOf map[string][]string) []subsGroup {
	var out []subsGroup
	for _, s := range text {
		key := strings.Join(codecsOf[s.Rep], ",")
		i := slices.IndexFunc(out, func(g subsGroup) bool { return strings.Join(g.codecs, ",") == key })
		if i < 0 {
			out = append(out, subsGroup{codecs: codecsOf[s.Rep]})
			i = len(out) - 1
		}
		out[i].tracks = append(out[i].tracks, s)
	}
	used := map[string]bool{}
	for i := range out {
		out[i].id = hlsSubsGroup
		if len(out) > 1 {
			out[i].id = hlsSubsGroup + "-" + CodecFamily(strings.Join(out[i].codecs, ","))
			for n := 2; used[out[i].id]; n++ {
				out[i].id = fmt.Sprintf("%s-%s-%d", hlsSubsGroup, CodecFamily(strings.Join(out[i].codecs, ",")), n)
			}
		}
		used[out[i].id] = true
	}
	return out
}

// renditionNames are the NAMEs of the renditions of one group, by track
// id: the track's Label, or its id when it has none or its Label is
// another track's Label or id (a NAME is unique in its group).
func renditionNames(tracks []*VoDTrack) map[string]string {
	count := map[string]int{}
	for _, t := range tracks {
		count[t.Label]++
		if t.Label != t.Rep {
			count[t.Rep]++ // a label that is another track's id is no name either
		}
	}
	out := make(map[string]string, len(tracks))
	for _, t := range tracks {
		out[t.Rep] = t.Label
		if t.Label == "" || count[t.Label] > 1 {
			out[t.Rep] = t.Rep
		}
	}
	return out
}

// subtitleRendition is the EXT-X-MEDIA of a text track: its language, its
// NAME, and its DASH roles (urn:mpeg:dash:role:2011) as HLS
// says them: caption as the CHARACTERISTICS of subtitles for the deaf and
// hard of hearing, description as a description of the video,
// forced-subtitle as FORCED=YES.
func subtitleRendition(s *VoDTrack, group, name, uri string) *m3u8.Alternative {
	alt := &m3u8.Alternative{Type: "SUBTITLES", GroupId: group, Name: name, Language: s.Lang, Autoselect: true, URI: uri}
	var chars []string
	for _, r := range s.Roles {
		switch r {
		case "caption":
			chars = append(chars, "public.accessibility.transcribes-spoken-dialog", "public.accessibility.describes-music-and-sound")
		case "description":
			chars = append(chars, "public.accessibility.describes-video")
		case "forced-subtitle":
			alt.Forced = true
		}
	}
	alt.Characteristics = strings.Join(chars, ",")
	return alt
}

// periodKeys are the EXT-X-KEY tags at the start of a Period of tr: its
// keys, METHOD=NONE when it is in the clear after an encrypted Period.
func periodKeys(tr *VoDTrack, afterEncrypted bool) ([]m3u8.Key, error) {
	if tr.Protection == nil {
		if afterEncrypted {
			return []m3u8.Key{{Method: "NONE"}}, nil
		}
		return nil, nil
	}
	return hlsKeys(tr.Protection)
}

// sessionKeys are the EXT-X-SESSION-KEY tags of the multivariant playlist:
// every distinct key of every track and Period.
func sessionKeys(in VoDInput) ([]*m3u8.Key, error) {
	var out []*m3u8.Key
	for pi := range in.Periods {
		for ti := range in.Periods[pi].Tracks {
			if !InHLS(in.Periods[pi].Tracks[ti].ContentType) {
				continue
			}
			keys, err := hlsKeys(in.Periods[pi].Tracks[ti].Protection)
			if err != nil {
				return nil, fmt.Errorf("Period %d track %q: %w", pi, in.Periods[pi].Tracks[ti].Rep, err)
			}
			for _, k := range keys {
				if !slices.ContainsFunc(out, func(o *m3u8.Key) bool { return *o == k }) {
					out = append(out, &k)
				}
			}
		}
	}
	return out, nil
}

// periodKRange is [first K, last K + 1) over a Period's tracks.
func periodKRange(vp *VoDPeriod) (int64, int64) {
	from, to := int64(math.MaxInt64), int64(math.MinInt64)
	if vp.StartK != nil {
		from = *vp.StartK
	}
	for _, tr := range vp.Tracks {
		if !InHLS(tr.ContentType) || len(tr.Segments) == 0 {
			continue
		}
		from = min(from, tr.Segments[0].K)
		to = max(to, tr.Segments[len(tr.Segments)-1].LastK()+1)
	}
	return from, to
}

// epochTime is the instant ticks/timescale seconds after 1970-01-01, UTC,
// truncated to the nanosecond.
func epochTime(ticks uint64, timescale uint32) time.Time {
	sec := ticks / uint64(timescale)
	rem := ticks % uint64(timescale)
	ns := new(big.Int).Div(new(big.Int).Mul(new(big.Int).SetUint64(rem), big.NewInt(int64(time.Second))), big.NewInt(int64(timescale)))
	return time.Unix(int64(sec), ns.Int64()).UTC()
}

// frameRate parses an MPD @frameRate ("25", "30000/1001") for FRAME-RATE;
// 0 when absent or malformed.
func frameRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n <= 0 {
		return 0
	}
	if !ok {
		return n
	}
	d, err := strconv.ParseFloat(den, 64)
	if err != nil || d <= 0 {
		return 0
	}
	return math.Round(n/d*1000) / 1000
}
