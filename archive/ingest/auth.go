package ingest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Credential is what a source must present. Token set: `Authorization:
// Bearer <Token>`; User set: HTTP basic auth with User and Password. The
// zero Credential means no authentication.
type Credential struct {
	Token    string
	User     string
	Password string
}

// IsZero reports whether c asks for no authentication.
func (c Credential) IsZero() bool { return c.Token == "" && c.User == "" && c.Password == "" }

// scheme is the HTTP authentication scheme c asks for.
func (c Credential) scheme() string {
	if c.Token != "" {
		return "Bearer"
	}
	return "Basic"
}

// ParseCredential parses a push source's credential value: "user:pass"
// is basic auth, anything else a bearer token (so a token cannot contain a
// colon).
func ParseCredential(v string) (Credential, error) {
	if v == "" {
		return Credential{}, errors.New("empty credential")
	}
	if user, pass, ok := strings.Cut(v, ":"); ok {
		if user == "" || pass == "" {
			return Credential{}, errors.New("basic credential: want user:password, both non-empty")
		}
		return Credential{User: user, Password: pass}, nil
	}
	if strings.ContainsAny(v, " \t\r\n") {
		return Credential{}, errors.New("bearer token contains white space")
	}
	return Credential{Token: v}, nil
}

// Check validates c: either a token, or a user and a password.
func (c Credential) Check() error {
	switch {
	case c.IsZero():
		return nil
	case c.Token != "" && (c.User != "" || c.Password != ""):
		return errors.New("give either a token or a user and password, not both")
	case c.Token == "" && (c.User == "" || c.Password == ""):
		return errors.New("basic credential needs both a user and a password")
	case strings.Contains(c.User, ":"):
		return errors.New("basic user name contains a colon")
	}
	return nil
}

// authResult is what checking a request's credentials gave.
type authResult int

const (
	authOK authResult = iota
	authMissing
	authWrong
)

// authenticate compares the request's Authorization header with want, in
// constant time (both sides are hashed first, so lengths do not leak).
func authenticate(r *http.Request, want Credential) authResult {
	if want.IsZero() {
		return authOK
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return authMissing
	}
	scheme, value, _ := strings.Cut(h, " ")
	value = strings.TrimSpace(value)
	var got, expect string
	switch {
	case strings.EqualFold(scheme, "Bearer") && want.Token != "":
		got, expect = value, want.Token
	case strings.EqualFold(scheme, "Basic") && want.Token == "":
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return authWrong
		}
		got, expect = string(raw), want.User+":"+want.Password
	default:
		return authWrong
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(expect))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return authWrong
	}
	return authOK
}

// Unauthenticated reports whether o lets some source push without
// credentials: no channel list, a channel without a source list, or a listed
// source without a credential.
func (o Options) Unauthenticated() bool {
	if len(o.Channels) == 0 {
		return true
	}
	for _, ch := range o.Channels {
		if len(ch.Sources) == 0 {
			return true
		}
		for _, s := range ch.Sources {
			if s.Credential.IsZero() {
				return true
			}
		}
	}
	return false
}

// ErrInsecureListen is CheckListenAddr's refusal.
var ErrInsecureListen = errors.New("refusing to accept unauthenticated pushes on non-loopback address")

// CheckListenAddr refuses a non-loopback listen address while o accepts
// unauthenticated pushes, unless o.AllowInsecure is set. addr is host:port;
// an empty host (all interfaces) is not loopback.
func CheckListenAddr(addr string, o Options) error {
	if o.AllowInsecure || !o.Unauthenticated() || IsLoopback(addr) {
		return nil
	}
	return fmt.Errorf("ingest: %w %q: give every push source a Credential, listen on a loopback address, or set Options.AllowInsecure", ErrInsecureListen, addr)
}

// IsLoopback reports whether the host of addr (host:port or host) is a
// loopback address or "localhost".
func IsLoopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
