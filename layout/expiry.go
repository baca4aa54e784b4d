package layout

import (
	"strconv"
	"strings"
	"time"
)

// ExpiryPrefix starts the name of every expiry marker in a channel's
// directory.
const ExpiryPrefix = "expired-"

// ExpiryKey is the key of the expiry marker of a channel for horizon h:
// <channel>/expired-<unix seconds>.json (LAYOUT.md, Retention and deletion
// order). Its presence says that every media segment of the channel that
// ends at or before h, outside active holds, is expired: deleted, or about
// to be. The newest marker of a channel is its archive's start.
func ExpiryKey(channel string, h time.Time) string {
	return channel + "/" + ExpiryPrefix + strconv.FormatInt(h.Unix(), 10) + ".json"
}

// ParseExpiryName parses the horizon out of the name of an expiry marker in
// a channel's directory ("expired-<unix seconds>.json"); ok is false for
// other names.
func ParseExpiryName(name string) (h time.Time, ok bool) {
	s, ok := strings.CutPrefix(name, ExpiryPrefix)
	if !ok {
		return time.Time{}, false
	}
	s, ok = strings.CutSuffix(s, ".json")
	if !ok {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

// ParseQuarantineName parses K out of the name of a quarantined object
// ("<K>-<h16>.<ext>", see QuarantineKey); ok is false for other names.
func ParseQuarantineName(name string) (k int64, ok bool) {
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 {
		return 0, false
	}
	num, h, found := strings.Cut(name[:dot], "-")
	if !found || !isHex(h) {
		return 0, false
	}
	k, err := strconv.ParseInt(num, 10, 64)
	if err != nil || k < 0 || strconv.FormatInt(k, 10) != num {
		return 0, false
	}
	return k, true
}
