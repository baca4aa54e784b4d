package cloud

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// supportedSchemes is printed in errors about unsupported URLs.
const supportedSchemes = "file://, mem://, s3://, gs://"

// queryParams lists the query parameters each scheme accepts. A nil entry
// means "whatever the gocloud driver accepts" (it rejects unknown ones).
var fileParams = map[string]bool{
	"prefix":        true, // folded into the directory; must end in "/"
	"create_dir":    true, // accepted for compatibility; always on
	"no_tmp_dir":    true, // accepted for compatibility; always on
	"dir_file_mode": true, // passed to fileblob
}

var memParams = map[string]bool{"prefix": true}

// sensitiveParam reports whether a query parameter name looks like it carries
// a secret. Such parameters are never printed, and Open refuses them: none of
// the supported backends takes credentials from the URL.
func sensitiveParam(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"secret", "password", "passwd", "token", "credential",
		"signature", "x-amz-", "access_key", "accesskey", "session", "api_key", "apikey", "auth", "sig"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// redactURL returns u as a string that is safe to print: no user info, and
// the values of secret-looking query parameters (and the user info of URLs
// nested in query values, such as endpoint=) replaced.
func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("REDACTED")
	}
	if c.RawQuery != "" {
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil {
			c.RawQuery = "REDACTED"
		} else {
			for k, vs := range q {
				for i, v := range vs {
					if sensitiveParam(k) {
						vs[i] = "REDACTED"
					} else if nu, err := url.Parse(v); err == nil && nu.User != nil {
						nu.User = url.User("REDACTED")
						vs[i] = nu.String()
					}
				}
			}
			c.RawQuery = q.Encode()
		}
	}
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

var userInfoRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@`)

// redactRaw is redactURL for strings that do not parse as URLs: it drops
// user info and the whole query.
func redactRaw(raw string) string {
	s := userInfoRE.ReplaceAllString(raw, "${1}REDACTED@")
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i] + "?…"
	}
	return s
}

// checkNoCredentials refuses URLs that carry credentials. gocloud's own error
// messages print the URL they were given, so this must run before any of
// them sees it.
func checkNoCredentials(u *url.URL) error {
	if u.User != nil {
		return fmt.Errorf("cloud: store URL %s: credentials in the URL are not supported; use the environment (e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)", redactURL(u))
	}
	for k, vs := range u.Query() {
		if sensitiveParam(k) {
			return fmt.Errorf("cloud: store URL %s: query parameter %q looks like a credential; credentials in the URL are not supported, use the environment", redactURL(u), k)
		}
		for _, v := range vs {
			if nu, err := url.Parse(v); err == nil && nu.User != nil {
				return fmt.Errorf("cloud: store URL %s: query parameter %q carries user info; credentials in the URL are not supported, use the environment", redactURL(u), k)
			}
		}
	}
	return nil
}

// checkParams rejects query parameters not in allowed.
func checkParams(u *url.URL, allowed map[string]bool) error {
	var bad []string
	for k := range u.Query() {
		if !allowed[k] {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	var ok []string
	for k := range allowed {
		ok = append(ok, k)
	}
	sort.Strings(ok)
	return invalidURL(fmt.Errorf("cloud: store URL %s: unsupported query parameter(s) %q (supported for %s://: %s)",
		redactURL(u), bad, u.Scheme, strings.Join(ok, ", ")))
}

// resolveFileDir returns the absolute, cleaned directory that a file: URL
// names. Relative forms are resolved against wd, which must be absolute:
//
//	file:///abs/dir, file://localhost/abs/dir, file:/abs/dir -> /abs/dir
//	file://./rel/dir, file://rel/dir, file:rel/dir           -> wd/rel/dir
//
// The host "localhost" is the local machine (RFC 8089), so
// file://localhost/x is absolute; any other host is the first element of a
// relative path (gocloud's fileblob would silently ignore it).
func resolveFileDir(u *url.URL, wd string) (string, error) {
	if u.Scheme != "file" {
		return "", fmt.Errorf("not a file URL: %s", redactURL(u))
	}
	if !filepath.IsAbs(wd) {
		return "", fmt.Errorf("working directory %q is not absolute", wd)
	}
	var p string
	switch {
	case u.Opaque != "": // file:rel/dir
		op, err := url.PathUnescape(u.Opaque)
		if err != nil {
			return "", fmt.Errorf("file URL %s: %w", redactURL(u), err)
		}
		p = filepath.Join(wd, filepath.FromSlash(op))
	case u.Host == "" || u.Host == "localhost":
		if u.Path == "" {
			return "", fmt.Errorf("file URL %s has no path", redactURL(u))
		}
		p = filepath.FromSlash(u.Path)
		if !filepath.IsAbs(p) {
			return "", fmt.Errorf("file URL %s: path %q is not absolute", redactURL(u), u.Path)
		}
	case u.Host == ".":
		p = filepath.Join(wd, filepath.FromSlash(strings.TrimPrefix(u.Path, "/")))
	default:
		p = filepath.Join(wd, filepath.FromSlash(u.Host+u.Path))
	}
	return filepath.Clean(p), nil
}

// fileURL returns the normalised URL of a file store.
func fileURL(dir string, q url.Values) string {
	p := filepath.ToSlash(dir)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive paths: file:///C:/x
	}
	return (&url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}).String()
}

// Key rules. Keys are checked the same way on every backend, so that a key
// that works on mem:// or file:// also works on S3/GCS and the other way
// round, and so that a file store's key is exactly its path below the root
// (none of fileblob's escaping applies).
var errEmptyKey = errors.New("empty key")

// isTempName says whether name (or a key) ends as fileblob's temporary
// files are named: <final name>.<UnixNano in hex, 15 or 16 lower-case
// digits>.tmp, next to the final file. (Checked by hand, not by a regular
// expression: every key a listing or a call names is checked.)
func isTempName(name string) bool {
	rest, ok := strings.CutSuffix(name, ".tmp")
	if !ok {
		return false
	}
	n := 0 // hex digits before ".tmp", counted up to 17
	for n < 17 && n < len(rest) {
		if c := rest[len(rest)-1-n]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			break
		}
		n++
	}
	return (n == 15 || n == 16) && n < len(rest) && rest[len(rest)-1-n] == '.'
}

const maxKeyLen = 1024 // S3's limit, in bytes

// checkKey reports why key is not a valid object key, or nil.
func checkKey(key string) error {
	if key == "" {
		return errEmptyKey
	}
	if strings.HasSuffix(key, "/") {
		return errors.New("key ends in \"/\"")
	}
	return checkName(key, true)
}

// checkPrefix reports why p is not a valid List prefix, or nil. "" and a
// trailing "/" are fine, and the last element may be partial.
func checkPrefix(p string) error {
	return checkName(p, false)
}

func checkName(p string, isKey bool) error {
	if len(p) > maxKeyLen {
		return fmt.Errorf("longer than %d bytes", maxKeyLen)
	}
	if !utf8.ValidString(p) {
		return errors.New("not valid UTF-8")
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("contains control character %#x", c)
		}
	}
	if strings.HasPrefix(p, "/") {
		return errors.New("starts with \"/\"")
	}
	if strings.Contains(p, "//") {
		return errors.New("contains \"//\"")
	}
	if strings.Contains(p, "__0x") {
		return errors.New("contains \"__0x\" (gocloud's escape marker)")
	}
	for rest := p; ; {
		s, after, more := strings.Cut(rest, "/")
		if !more && !isKey {
			break // the last element of a prefix may be partial
		}
		if s == "." || s == ".." {
			return fmt.Errorf("contains a %q path element", s)
		}
		if !more {
			break
		}
		rest = after
	}
	if isKey && strings.HasSuffix(p, ".attrs") {
		return errors.New("ends in \".attrs\" (reserved for file stores' metadata sidecars)")
	}
	if isKey && isTempName(p) {
		return errors.New("looks like a file store's temporary file (.<hex>.tmp)")
	}
	return nil
}
