// Package reaparchive holds the media reaparchive embeds: the demo asset
// that `reaparchive simulate`, `reaparchive demo` and the tests loop.
package reaparchive

import "embed"

// Assets is the demo asset, see testdata/README.md: testdata/video.cmfv (H.264
// 640x360 25 fps, 8 s in four 2 s fragments) and testdata/audio.cmfa (AAC-LC
// 48 kHz stereo), embedded so that `reaparchive simulate` and
// `reaparchive demo` work from any directory.
//
//go:embed testdata/video.cmfv testdata/audio.cmfa
var Assets embed.FS
