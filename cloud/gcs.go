package cloud

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"

	"cloud.google.com/go/storage"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/gcp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"
)

// gcsEmulatorParams are the query parameters gs:// takes with an emulator
// (endpoint=, or STORAGE_EMULATOR_HOST set).
var gcsEmulatorParams = map[string]bool{"prefix": true, "anonymous": true, "endpoint": true}

// openGCS opens gs://bucket.
//
// With endpoint=http://host:port (an emulator such as fake-gcs-server), or
// with STORAGE_EMULATOR_HOST set (e.g. "localhost:4443" or
// "http://localhost:4443"), the store uses an unauthenticated
// cloud.google.com/go/storage client pointed at the emulator (JSON API at
// <endpoint>/storage/v1/, reads too). endpoint= wins over the
// variable, and unlike it is not process-wide, so one process can use
// several emulators. The client is made here rather than by gcsblob, whose
// emulator support prepends "http://" to the variable (breaking values that
// carry a scheme) and which would first look up default credentials. Query
// parameters: prefix, endpoint, and anonymous (implied).
//
// Otherwise gcsblob's URLOpener is used with Application Default Credentials
// that are looked up on the first request, not by Open (gcsblob's default
// opener looks them up, and probes the GCE metadata server, when opening).
// It takes gcsblob v0.47's query parameters: anonymous, access_id,
// private_key_path, universe_domain, grpc, zonal (and prefix).
func openGCS(ctx context.Context, u *url.URL) (*Store, error) {
	if err := checkBucketURL(u); err != nil {
		return nil, err
	}
	norm := normalURL(u)
	endpoint := u.Query().Get("endpoint")
	if endpoint != "" || os.Getenv("STORAGE_EMULATOR_HOST") != "" {
		if err := checkParams(u, gcsEmulatorParams); err != nil {
			return nil, err
		}
		// Reads through the JSON API: an emulator serves those whatever
		// host name it was started with (fake-gcs-server answers XML-API
		// reads only for its -public-host).
		opts := []option.ClientOption{option.WithoutAuthentication(), storage.WithJSONReads()}
		what := "STORAGE_EMULATOR_HOST" // storage.NewClient reads it itself
		if endpoint != "" {
			ep, err := gcsEndpoint(endpoint)
			if err != nil {
				return nil, fmt.Errorf("cloud: store URL %s: %w", redactURL(u), err)
			}
			opts = append(opts, option.WithEndpoint(ep))
			what = "endpoint " + endpoint
		}
		c, err := storage.NewClient(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("cloud: open %s: storage client for %s: %w", norm, what, err)
		}
		b, err := gcsblob.OpenBucket(ctx, nil, u.Host, &gcsblob.Options{Client: c})
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("cloud: open %s: %w", norm, err)
		}
		// gcsblob does not close a client it was given.
		return &Store{url: norm, bucket: b, gcs: true, extra: []func() error{c.Close}}, nil
	}
	ts := &lazyTokenSource{}
	hc, err := gcp.NewHTTPClient(gcp.DefaultTransport(), ts)
	if err != nil {
		return nil, fmt.Errorf("cloud: open %s: %w", norm, err)
	}
	o := &gcsblob.URLOpener{
		Client:      hc,
		TokenSource: ts,
		Options: gcsblob.Options{
			// Without a credential option storage.NewClient would look up
			// default credentials itself.
			ClientOptions: []option.ClientOption{option.WithTokenSource(ts)},
		},
	}
	b, err := o.OpenBucketURL(ctx, withoutPrefix(u))
	if err != nil {
		return nil, fmt.Errorf("cloud: open %s: %w", norm, err)
	}
	return &Store{url: norm, bucket: b, gcs: true}, nil
}

// gcsEndpoint turns the endpoint= of a gs:// URL (http(s)://host:port of
// an emulator, no path) into the JSON API endpoint the storage client takes.
func gcsEndpoint(raw string) (string, error) {
	e, err := url.Parse(raw)
	if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" ||
		(e.Path != "" && e.Path != "/") || e.RawQuery != "" || e.Fragment != "" {
		return "", fmt.Errorf("endpoint %q: want http://host:port or https://host:port", raw)
	}
	return e.Scheme + "://" + e.Host + "/storage/v1/", nil
}

// lazyTokenSource finds Google Application Default Credentials on its first
// use; a failed lookup is retried on the next.
type lazyTokenSource struct {
	mu sync.Mutex
	ts oauth2.TokenSource
}

func (l *lazyTokenSource) Token() (*oauth2.Token, error) {
	l.mu.Lock()
	ts := l.ts
	if ts == nil {
		creds, err := google.FindDefaultCredentials(context.Background(), "https://www.googleapis.com/auth/cloud-platform")
		if err != nil {
			l.mu.Unlock()
			return nil, fmt.Errorf("cloud: Google default credentials: %w", err)
		}
		l.ts, ts = creds.TokenSource, creds.TokenSource
	}
	l.mu.Unlock()
	return ts.Token()
}
