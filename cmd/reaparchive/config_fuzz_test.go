package main

import (
	"testing"
)

// readmeConfig is the README's config file example.
const readmeConfig = `store: file:///var/lib/reaparchive/store
index: /var/lib/reaparchive/index.db
channels:
  - name: news
    preferred_source: fiber   # optional; grace: 2s
    grace: 2s
    sources:
      - name: fiber
        mpd: http://enc-a.example/news/manifest.mpd
      - name: satellite
        mpd: http://enc-b.example/news/manifest.mpd
      - name: encoder3        # no mpd: a push source (record --listen)
        token: s3cret         # or user: / password: (basic auth)
ingest_auth:                  # push credentials valid for every channel
  encoder4: user:password
`

// FuzzLoadConfig feeds arbitrary bytes to the config file parser LoadConfig
// uses: it must return, and what it accepts must satisfy its checks.
func FuzzLoadConfig(f *testing.F) {
	for _, seed := range []string{
		readmeConfig,
		"store: file:///x\nindex: /x.db\nchannels:\n  - name: news\n    sources:\n      - name: a\n        mpd: http://127.0.0.1/a.mpd\n",
		"channels: [\n",
		"stor: file:///x\n",
		"channels:\n  - name: a\n  - name: a\n",
		"a: &a [*a, *a]\nb: &b [*a, *a]\n", // aliases
		">\n    ",                          // the MPD that hung dash-mpd (issue 10 item 3)
		"channels:\n  - name: a\n    grace: -5s\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseConfig(data, "fuzz.yaml")
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, ch := range c.Channels {
			if ch.Name == "" || seen[ch.Name] {
				t.Fatalf("accepted channel name %q (seen before: %v)", ch.Name, seen[ch.Name])
			}
			seen[ch.Name] = true
			for _, s := range ch.Sources {
				if s.Name == "" {
					t.Fatal("accepted a source without a name")
				}
			}
		}
	})
}
