package manifest

import (
	"net/url"
	"testing"
)

func TestTemplateResolve(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, base, tmpl string
		vals             map[string]string
		want             string // resolved template (identifiers not in vals kept)
		url              string // fully expanded with Number=7, Time=90000
	}{
		{"format tag survives URL resolution", "http://h/a/m.mpd", "$RepresentationID$/$Number%05d$.m4s", map[string]string{"RepresentationID": "V1"},
			"http://h/a/V1/$Number%05d$.m4s", "http://h/a/V1/00007.m4s"},
		{"escaped dollar", "http://h/a/", "x$$y/$Time$.m4s", nil, "http://h/a/x$$y/$Time$.m4s", "http://h/a/x$y/90000.m4s"},
		{"absolute template ignores base", "http://h/a/", "https://cdn/$Bandwidth$/$Number$.m4s", map[string]string{"Bandwidth": "300000"},
			"https://cdn/300000/$Number$.m4s", "https://cdn/300000/7.m4s"},
		{"dot segments and query", "http://h/a/b/m.mpd?token=1", "../seg/$Number$.m4s?x=$RepresentationID$", map[string]string{"RepresentationID": "A"},
			"http://h/a/seg/$Number$.m4s?x=A", "http://h/a/seg/7.m4s?x=A"},
		{"percent escape in literal kept", "http://h/", "a%20b/$Number$.m4s", nil, "http://h/a%20b/$Number$.m4s", "http://h/a%20b/7.m4s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			toks, err := parseTemplate(c.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			partial, err := renderTemplate(toks, c.vals, false)
			if err != nil {
				t.Fatal(err)
			}
			ptoks, err := parseTemplate(partial)
			if err != nil {
				t.Fatal(err)
			}
			base, _ := url.Parse(c.base)
			got, err := resolveTemplate(base, ptoks)
			if err != nil || got != c.want {
				t.Fatalf("resolveTemplate = %q, %v; want %q", got, err, c.want)
			}
			tr := LiveTrack{Rep: "X", MediaTemplate: got, Mode: ByNumber, NumberOffset: 7}
			if hasIdent(ptoks, identTime) {
				tr.Mode = ByTime
				tr.Timeline = []TimelineEntry{{T: 90000, D: 90000, K: 0}}
				tr.SegDur = 90000
			}
			u, err := tr.MediaURL(0)
			if err != nil || u != c.url {
				t.Errorf("MediaURL = %q, %v; want %q", u, err, c.url)
			}
		})
	}
}

func TestParseTemplateErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"$Number", "$Foo$", "$Number%d$", "$Number%5d$", "$Number%0xd$", "$RepresentationID%05d$", "$Time%0d$"} {
		if _, err := parseTemplate(s); err == nil {
			t.Errorf("parseTemplate(%q) succeeded", s)
		}
	}
}

func TestContentTypeOf(t *testing.T) {
	t.Parallel()
	cases := []struct{ as, mime, codecs, want string }{
		{"audio", "video/mp4", "", "audio"},
		{"", "video/mp4", "avc1.64001e", "video"},
		{"", "audio/mp4", "mp4a.40.2", "audio"},
		{"", "text/vtt", "", "text"},
		{"", "application/ttml+xml", "", "text"},
		{"", "application/mp4", "stpp.ttml.im1t", "text"},
		{"", "application/mp4", "wvtt", "text"},
		{"", "application/mp4", "evte", "metadata"},
		{"application", "application/mp4", "urim", "metadata"},
		{"application", "", "evte", "metadata"},
		{"application", "application/mp4", "stpp.ttml.im1t", "text"},
		{"", "image/jpeg", "", "image"},
		{"", "", "hvc1.1.6.L93.B0", "video"},
		{"", "", "ec-3", "audio"},
		{"", "", "", ""},
	}
	for _, c := range cases {
		if got := contentTypeOf(c.as, c.mime, c.codecs); got != c.want {
			t.Errorf("contentTypeOf(%q, %q, %q) = %q, want %q", c.as, c.mime, c.codecs, got, c.want)
		}
	}
}

func TestCodecFamily(t *testing.T) {
	t.Parallel()
	cases := map[string]string{"avc1.64001e": "avc", "avc3.640028": "avc", "hev1.1.6.L93.B0": "hevc", "hvc1.2.4.L120.B0": "hevc",
		"mp4a.40.2": "mp4a", "mp4a.40.5": "mp4a", "ec-3": "ec-3", "stpp.ttml.im1t": "stpp", "": ""}
	for in, want := range cases {
		if got := CodecFamily(in); got != want {
			t.Errorf("CodecFamily(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRoundDiv(t *testing.T) {
	t.Parallel()
	cases := []struct{ x, d, want int64 }{{0, 2, 0}, {1, 2, 1}, {3, 2, 2}, {5, 10, 1}, {4, 10, 0}, {-1, 2, 0}, {-3, 2, -1}, {-6, 10, -1}, {86174836320256, 96000, 897654545}}
	for _, c := range cases {
		if got := roundDiv(c.x, c.d); got != c.want {
			t.Errorf("roundDiv(%d, %d) = %d, want %d", c.x, c.d, got, c.want)
		}
	}
}
