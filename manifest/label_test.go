package manifest

import (
	"bytes"
	"maps"
	"strings"
	"testing"

	"github.com/Eyevinn/dash-mpd/mpd"
	"github.com/Eyevinn/hls-m3u8/m3u8"
)

// TestParseLiveLabel checks that a live track's Label is the first Label
// of its Representation, else of its AdaptationSet.
func TestParseLiveLabel(t *testing.T) {
	t.Parallel()
	src := string(readTestdata(t, "livesim_number.mpd"))
	const asOpen = `<AdaptationSet id="1" lang="en" contentType="audio" segmentAlignment="true" mimeType="audio/mp4" startWithSAP="1">`
	const repOpen = `<Representation id="A48" bandwidth="48000" audioSamplingRate="48000" codecs="mp4a.40.2">`
	for _, c := range []struct {
		name, asLabels, repLabels, want string
	}{
		{"none", "", "", ""},
		{"AdaptationSet", `<Label>English stereo</Label><Label lang="de">Englisch</Label>`, "", "English stereo"},
		{"Representation first", `<Label>English</Label>`, `<Label> Commentary </Label>`, "Commentary"},
		{"empty Label skipped", `<Label> </Label><Label>Main</Label>`, "", "Main"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			doc := strings.Replace(src, asOpen, asOpen+c.asLabels, 1)
			doc = strings.Replace(doc, repOpen, repOpen+c.repLabels, 1)
			l, err := ParseLive([]byte(doc), "http://127.0.0.1:8888/livesim2/testpic_2s/Manifest.mpd")
			if err != nil {
				t.Fatal(err)
			}
			if got := mustTrack(t, l, "A48").Label; got != c.want {
				t.Errorf("Label %q, want %q", got, c.want)
			}
			if got := mustTrack(t, l, "V300").Label; got != "" {
				t.Errorf("V300 Label %q, want none", got)
			}
		})
	}
}

// TestRenditionNames checks the HLS NAMEs of a group: a track's Label
// when it names that track alone, else its id.
func TestRenditionNames(t *testing.T) {
	t.Parallel()
	tr := func(rep, label string) *VoDTrack { return &VoDTrack{Rep: rep, Label: label} }
	for _, c := range []struct {
		name   string
		tracks []*VoDTrack
		want   map[string]string
	}{
		{"labels", []*VoDTrack{tr("S", "English"), tr("W", "Deutsch")}, map[string]string{"S": "English", "W": "Deutsch"}},
		{"no label", []*VoDTrack{tr("S", ""), tr("W", "Deutsch")}, map[string]string{"S": "S", "W": "Deutsch"}},
		{"shared label", []*VoDTrack{tr("S", "Sub"), tr("W", "Sub"), tr("X", "Other")}, map[string]string{"S": "S", "W": "W", "X": "Other"}},
		{"label is another id", []*VoDTrack{tr("S", "W"), tr("W", "")}, map[string]string{"S": "S", "W": "W"}},
		{"label is own id", []*VoDTrack{tr("S", "S")}, map[string]string{"S": "S"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := renditionNames(c.tracks); !maps.Equal(got, c.want) {
				t.Errorf("names %v, want %v", got, c.want)
			}
		})
	}
}

// TestBuildLabels checks that a track's Label becomes its AdaptationSet's
// Label in the MPD (tracks with different labels in different
// AdaptationSets) and its rendition's NAME in HLS.
func TestBuildLabels(t *testing.T) {
	t.Parallel()
	en, en2 := textTrack("S", "stpp", "en", "subtitle"), textTrack("S2", "stpp", "en", "subtitle")
	en.Label, en2.Label = "English", "English (SDH)"
	aud := audioTrack("A48", audioSegs(k0, k0+3))
	aud.Label = "Stereo"
	in := VoDInput{Periods: []VoDPeriod{{Tracks: []VoDTrack{videoTrack("V300", 300000, videoSegs(k0, k0+3)), aud, en, en2}}}}

	data, err := BuildVoD(in)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mpd.ReadFromString(string(data))
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{} // rep: its AdaptationSet's labels
	for _, as := range m.Periods[0].AdaptationSets {
		var l []string
		for _, x := range as.Labels {
			l = append(l, x.Value)
		}
		for _, r := range as.Representations {
			labels[r.Id] = strings.Join(l, "|")
		}
	}
	if want := map[string]string{"V300": "", "A48": "Stereo", "S": "English", "S2": "English (SDH)"}; !maps.Equal(labels, want) {
		t.Errorf("AdaptationSet labels by rep %v, want %v\n%s", labels, want, data)
	}

	pls, err := BuildHLS(in, hlsName)
	if err != nil {
		t.Fatal(err)
	}
	mvp, _, err := m3u8.DecodeFrom(bytes.NewReader(pls[0].Body), true)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{} // URI: NAME
	for _, v := range mvp.(*m3u8.MasterPlaylist).Variants {
		for _, a := range v.Alternatives {
			names[a.URI] = a.Name
		}
	}
	if want := map[string]string{hlsName("A48"): "Stereo", hlsName("S"): "English", hlsName("S2"): "English (SDH)"}; !maps.Equal(names, want) {
		t.Errorf("rendition NAMEs by URI %v, want %v\n%s", names, want, pls[0].Body)
	}
}
