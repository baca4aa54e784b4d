package cloud

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"cloud.google.com/go/storage"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"
)

// ErrClosed is returned (wrapped) by every method of a closed Store.
var ErrClosed = errors.New("store is closed")

// listPageSize is the page size List asks the backend for.
const listPageSize = 1000

// Store is one blob store opened from a URL. It is safe for concurrent use.
//
// Keys are "/"-separated, valid UTF-8, at most 1024 bytes, and must not
// start or end with "/", contain "//", "." or ".." elements, control
// characters or "__0x", or end in ".attrs" or look like a file store's
// temporary file (".<hex>.tmp"). The rules are the same on every backend,
// so a key accepted by one is accepted by all; on a file store a key is then
// exactly the file's path below LocalDir. A file store cannot hold both
// "a" and "a/b" (S3/GCS can).
type Store struct {
	url    string // normalised, safe to print
	bucket *blob.Bucket
	dir    string // file stores: absolute root directory ("" otherwise)
	gcs    bool   // a gs:// store
	// s3Bucket is the bucket name of an s3:// store, and keyPrefix the
	// prefix= of an s3:// or gs:// store: the requests DeleteMany sends
	// itself, past the gocloud driver, name them.
	s3Bucket, keyPrefix string
	// xattrMeta (file stores): metadata is written as xattrs of the file,
	// not as a .attrs sidecar. xattr is how they are read and written.
	xattrMeta bool
	xattr     xattrFuncs
	dirMode   os.FileMode    // file stores: of the directories they make
	extra     []func() error // closed after bucket (e.g. a GCS client we own)

	closed atomic.Bool

	// syncedDirs (file stores) holds directories below dir whose own entry
	// in their parent has been fsynced.
	syncedDirs sync.Map
	// dirSync (file stores) coalesces the directory fsyncs of concurrent
	// writes.
	dirSync dirSyncer
	// chunks (file stores) are CreateStream's chunk buffers, recycled.
	chunks sync.Pool

	// testAfterWrite, if set, runs after the data was handed to the writer
	// and before it is closed (tests use it to cancel mid-write).
	testAfterWrite func()
	// testFault, if set, runs before every attempt of an operation; an
	// error it returns stands for the attempt's (tests inject faults).
	testFault func(op string) error

	retry     RetryPolicy
	retries   atomic.Int64
	listCalls atomic.Int64
}

// Open opens the store a URL names:
//
//	file:///abs/dir             a directory (created if missing); also
//	file://./rel/dir            file://rel/dir, relative to the working directory
//	mem://                      a new, empty in-memory store (each Open is separate)
//	s3://bucket?region=...      S3 or an S3-compatible server (aws-sdk-go-v2)
//	gs://bucket                 Google Cloud Storage
//	gs://bucket?endpoint=http://127.0.0.1:4443
//	                            a GCS emulator (fake-gcs-server); or STORAGE_EMULATOR_HOST
//
// Every scheme takes "prefix=p", which scopes the store to keys below p (on
// file stores p must end in "/" and is folded into the directory). s3:// takes
// the query parameters of gocloud.dev/blob/s3blob v0.47: region, endpoint,
// use_path_style (or s3ForcePathStyle), disable_https, profile, anonymous,
// hostname_immutable, dualstack, fips, rate_limiter_capacity, role,
// request_checksum_calculation, response_checksum_validation, accelerate,
// ssetype, kmskeyid (and awssdk, ignored). Credentials come from the
// environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, shared config, ...);
// URLs carrying credentials are refused. gs:// is described at openGCS.
//
// Open does not contact the backend: a wrong bucket or missing credentials
// show up on the first operation.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	return open(ctx, rawURL, false)
}

// OpenPlainFiles is Open for exports: on a file store it writes plain
// files, without metadata (no xattrs, no .attrs sidecars; players and web
// servers are served the directory as it is). Other stores are as Open.
func OpenPlainFiles(ctx context.Context, rawURL string) (*Store, error) {
	return open(ctx, rawURL, true)
}

func open(ctx context.Context, rawURL string, plain bool) (*Store, error) {
	return openWith(ctx, rawURL, plain, defaultFileOptions())
}

// openWith is open with the options of file stores (tests replace the
// xattr system calls and the logger).
func openWith(ctx context.Context, rawURL string, plain bool, fo fileOptions) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error repeats the raw URL, which may hold secrets
		}
		return nil, invalidURL(fmt.Errorf("cloud: invalid store URL %q: %w", redactRaw(rawURL), err))
	}
	if u.Scheme == "" {
		return nil, invalidURL(fmt.Errorf("cloud: store URL %q has no scheme; supported: %s", redactURL(u), supportedSchemes))
	}
	if err := checkNoCredentials(u); err != nil {
		return nil, invalidURL(err)
	}
	if u.Fragment != "" {
		return nil, invalidURL(fmt.Errorf("cloud: store URL %s: fragments are not supported", redactURL(u)))
	}
	q := u.Query()
	if len(q["key"]) > 0 {
		return nil, invalidURL(fmt.Errorf("cloud: store URL %s: the \"key\" parameter (single-key buckets) is not supported", redactURL(u)))
	}
	prefix := q.Get("prefix")
	if prefix != "" {
		if err := checkPrefix(prefix); err != nil {
			return nil, invalidURL(fmt.Errorf("cloud: store URL %s: invalid prefix %q: %w", redactURL(u), prefix, err))
		}
	}

	var s *Store
	switch strings.ToLower(u.Scheme) {
	case "file":
		s, err = openFile(u, plain, fo)
	case "mem":
		s, err = openMem(u)
	case "s3":
		s, err = openS3(ctx, u)
	case "gs":
		s, err = openGCS(ctx, u)
	default:
		return nil, invalidURL(fmt.Errorf("cloud: unsupported store URL %s: supported schemes are %s", redactURL(u), supportedSchemes))
	}
	if err != nil {
		return nil, err
	}
	if prefix != "" && s.dir == "" {
		s.bucket = blob.PrefixedBucket(s.bucket, prefix)
		s.keyPrefix = prefix
	}
	if sc := strings.ToLower(u.Scheme); sc == "s3" || sc == "gs" {
		s.retry = DefaultRetry
	}
	if s.gcs {
		// The storage client would retry until the context ends; Store
		// retries itself, within its budget (RetryPolicy).
		var c *storage.Client
		if s.bucket.As(&c) {
			c.SetRetry(storage.WithPolicy(storage.RetryNever))
		}
	}
	return s, nil
}

func openMem(u *url.URL) (*Store, error) {
	if err := checkParams(u, memParams); err != nil {
		return nil, err
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") {
		return nil, invalidURL(fmt.Errorf("cloud: store URL %s: mem:// takes no path", redactURL(u)))
	}
	norm := url.URL{Scheme: "mem", Host: u.Host, RawQuery: u.Query().Encode()}
	s := &Store{url: norm.String(), bucket: memblob.OpenBucket(nil)}
	if u.Host == "" {
		s.url = "mem://" + strings.TrimPrefix(s.url, "mem:")
	}
	return s, nil
}

// checkBucketURL checks the parts of an s3:// or gs:// URL.
func checkBucketURL(u *url.URL) error {
	if u.Opaque != "" || u.Host == "" {
		return invalidURL(fmt.Errorf("cloud: store URL %s: no bucket name (want %s://bucket)", redactURL(u), u.Scheme))
	}
	if u.Path != "" && u.Path != "/" {
		// The gocloud drivers silently ignore the path.
		return invalidURL(fmt.Errorf("cloud: store URL %s: a path is not supported; use %s://%s?prefix=%s/",
			redactURL(u), u.Scheme, u.Host, strings.Trim(u.Path, "/")))
	}
	return nil
}

// withoutPrefix returns a copy of u without the "prefix" query parameter
// (applied by Open) and without a trailing "/" path.
func withoutPrefix(u *url.URL) *url.URL {
	c := *u
	q := c.Query()
	q.Del("prefix")
	c.RawQuery = q.Encode()
	c.Path, c.RawPath = "", ""
	return &c
}

func normalURL(u *url.URL) string {
	c := url.URL{Scheme: strings.ToLower(u.Scheme), Host: u.Host, RawQuery: u.Query().Encode()}
	return c.String()
}

func openS3(ctx context.Context, u *url.URL) (*Store, error) {
	if err := checkBucketURL(u); err != nil {
		return nil, err
	}
	var o s3blob.URLOpener
	b, err := o.OpenBucketURL(ctx, withoutPrefix(u))
	if err != nil {
		return nil, fmt.Errorf("cloud: open %s: %w", redactURL(u), err)
	}
	return &Store{url: normalURL(u), bucket: b, s3Bucket: u.Host}, nil
}

// URL returns the URL the store was opened with, normalised (file URLs
// absolute, query parameters sorted). It never holds credentials.
func (s *Store) URL() string { return s.url }

// LocalDir returns the absolute root directory of a file:// store (with a
// prefix folded in): the object for key k is the file filepath.Join(dir, k).
// ok is false for other stores.
func (s *Store) LocalDir() (dir string, ok bool) { return s.dir, s.dir != "" }

// String returns URL().
func (s *Store) String() string { return s.url }

// Close releases the store. Later calls of its methods return ErrClosed;
// Close itself may be called more than once.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	err := s.bucket.Close()
	for _, f := range s.extra {
		if e := f(); e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return fmt.Errorf("cloud: close %s: %w", s.url, err)
	}
	return nil
}

// begin checks that the store is open and key is valid.
func (s *Store) begin(op, key string) error {
	if s.closed.Load() {
		return s.wrap(op, key, ErrClosed)
	}
	if err := checkKey(key); err != nil {
		return fmt.Errorf("cloud: %s %q in %s: invalid key: %w", op, key, s.url, err)
	}
	return nil
}

// wrap adds op, key and the store URL to err, and (except for writes, where
// "not found" would be about the bucket or a parent) ErrNotFound when the
// backend says the object does not exist.
func (s *Store) wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) {
		return fmt.Errorf("cloud: %s %q in %s: %w", op, key, s.url, err)
	}
	if op != "create" && op != "put" && s.isNotFound(err) {
		return fmt.Errorf("cloud: %s %q in %s: %w: %w", op, key, s.url, ErrNotFound, err)
	}
	if s.closed.Load() && gcerrors.Code(err) == gcerrors.FailedPrecondition {
		// blob's own "Bucket has been closed" (Close raced with this call).
		return fmt.Errorf("cloud: %s %q in %s: %w: %w", op, key, s.url, ErrClosed, err)
	}
	return fmt.Errorf("cloud: %s %q in %s: %w", op, key, s.url, err)
}

func (s *Store) isNotFound(err error) bool {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return true
	}
	// File stores: "a/b" when "a" is a file; the file itself missing.
	return s.dir != "" && (isNotDir(err) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotFound))
}

// isPrecondition reports whether err is a failed IfNotExist precondition.
func isPrecondition(err error) bool {
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return true
	}
	var herr *smithyhttp.ResponseError // S3
	if errors.As(err, &herr) && herr.HTTPStatusCode() == http.StatusPreconditionFailed {
		return true
	}
	var gerr *googleapi.Error // GCS JSON API
	return errors.As(err, &gerr) && gerr.Code == http.StatusPreconditionFailed
}

// IsNotFound reports whether err says an object does not exist.
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || (err != nil && gcerrors.Code(err) == gcerrors.NotFound)
}

// IsExists reports whether err says an object already exists (from Create).
func IsExists(err error) bool { return errors.Is(err, ErrExists) }

// Create stores data under key, unless key already exists: then it returns
// an error wrapping ErrExists and leaves the object alone. The object is
// durable when Create returns nil, and readers never see it partially
// written. Metadata keys are stored lower-case; the keys "reap" and
// "reap.attrs" are reserved. On file stores the metadata is set as the
// xattr user.reap of the file before its fsync and rename (LAYOUT.md), or
// written to a .attrs sidecar where the file system refuses xattrs.
//
// On S3 and GCS create-only is enforced by the service (If-None-Match: * /
// ifGenerationMatch=0). On file stores that keep attributes in xattrs
// (Linux) the rename into place is create-only itself (renameat2
// RENAME_NOREPLACE), atomic also across processes sharing the directory,
// where the file system has it. Elsewhere (sidecar stores, file systems
// without RENAME_NOREPLACE) the file is checked for and then the temporary
// file renamed into place; Store serialises that check and rename for
// each path within this process, so two Creates of one key never both
// succeed here, but across processes sharing a directory it is NOT
// atomic: both may succeed, and the later rename replaces the earlier file.
func (s *Store) Create(ctx context.Context, key string, data []byte, meta map[string]string) error {
	return s.write(ctx, "create", key, data, meta, true)
}

// Put stores data under key, replacing any object there. Durability and
// atomicity as for Create.
func (s *Store) Put(ctx context.Context, key string, data []byte, meta map[string]string) error {
	return s.write(ctx, "put", key, data, meta, false)
}

func (s *Store) write(ctx context.Context, op, key string, data []byte, meta map[string]string, create bool) error {
	if err := s.begin(op, key); err != nil {
		return err
	}
	if err := checkMeta(meta); err != nil {
		return fmt.Errorf("cloud: %s %q in %s: %w", op, key, s.url, err)
	}
	if err := ctx.Err(); err != nil {
		return s.wrap(op, key, err)
	}
	return s.do(ctx, op, func(ctx context.Context, retried bool) error {
		err := s.write1(ctx, op, key, data, meta, create)
		if retried && create && errors.Is(err, ErrExists) && s.ours(context.WithoutCancel(ctx), key, data, meta) {
			// An earlier attempt that seemed to fail did write the object.
			return nil
		}
		return err
	})
}

// checkMeta says what is wrong with metadata, as gocloud's blob.NewWriter
// would (file stores that keep xattrs write without it): an empty key, a
// key or value that is not UTF-8, keys that differ in case only; and the
// keys reserved for file stores' xattrs.
func checkMeta(meta map[string]string) error {
	for k, v := range meta {
		switch {
		case k == "":
			return errors.New("metadata keys may not be empty")
		case !utf8.ValidString(k) || !utf8.ValidString(v):
			return fmt.Errorf("metadata key %q or its value is not valid UTF-8", k)
		case reservedMetaKey(k):
			return fmt.Errorf("metadata key %q is reserved (file stores' xattrs)", k)
		}
		for k2 := range meta {
			if k2 != k && strings.EqualFold(k, k2) {
				return fmt.Errorf("metadata keys %q and %q differ in case only (keys are stored lower-case)", k, k2)
			}
		}
	}
	return nil
}

func (s *Store) write1(ctx context.Context, op, key string, data []byte, meta map[string]string, create bool) error {
	if s.xattrMeta {
		return s.writeXattrFile(ctx, op, key, data, meta, create)
	}
	// Cancelling wctx before Close makes the driver abandon the write
	// (fileblob removes its temporary file instead of renaming it).
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var f *os.File
	opts := &blob.WriterOptions{
		BufferSize:  s.bufferSize(len(data)),
		ContentType: contentType(key), // set, so blob does not buffer to sniff it
		Metadata:    meta,
		IfNotExist:  create,
		BeforeWrite: func(asFunc func(any) bool) error {
			if s.dir != "" && !asFunc(&f) {
				return errors.New("fileblob did not expose its *os.File")
			}
			return nil
		},
	}
	if s.dir == "" {
		// Over a network, the service checks the body against its MD5. A
		// local file needs no transport check (and fileblob hashes the data
		// again for its attributes): hashing here too cost a third of the
		// ingest CPU.
		sum := md5.Sum(data)
		opts.ContentMD5 = sum[:]
	}
	w, err := s.bucket.NewWriter(wctx, key, opts)
	if err != nil {
		return s.wrap(op, key, err)
	}
	abort := func(err error) error {
		cancel()
		_ = w.Close()
		return s.wrap(op, key, err)
	}
	if _, err := w.Write(data); err != nil {
		return abort(err)
	}
	if s.testAfterWrite != nil {
		s.testAfterWrite()
	}
	var p string
	if s.dir != "" {
		if err := syncTempFile(f); err != nil {
			return abort(err)
		}
		p = s.path(key)
		err = renameFile(w, p)
	} else {
		err = w.Close()
	}
	if err != nil {
		if create && isPrecondition(err) && !s.closed.Load() {
			if s.dir != "" {
				if fi, serr := os.Stat(p); serr == nil && fi.IsDir() {
					return s.wrap(op, key, errors.New("a directory of that name exists (file stores cannot hold both \"a\" and \"a/b\")"))
				}
			}
			return fmt.Errorf("cloud: %s %q in %s: %w: %w", op, key, s.url, ErrExists, err)
		}
		return s.wrap(op, key, err)
	}
	if s.dir != "" {
		if err := s.syncAfterWrite(p); err != nil {
			return s.wrap(op, key, err)
		}
	}
	return nil
}

// syncTempFile makes the temporary file of a file store that writes
// .attrs sidecars durable before it is renamed into place (the sidecar is
// fsynced after the rename, syncAfterWrite).
func syncTempFile(f *os.File) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", f.Name(), err)
	}
	return nil
}

// renameFile closes w, which renames its temporary file to p (fileblob
// writes the sidecar and checks create-only), under p's lock.
func renameFile(w *blob.Writer, p string) error {
	l := pathLock(p)
	l.Lock()
	defer l.Unlock()
	return w.Close()
}

// gcsChunk is gcsblob's default upload chunk (googleapi.DefaultUploadChunkSize).
const gcsChunk = 16 << 20

// bufferSize is the upload buffer of a write of n bytes. On GCS an object
// of at least one chunk would go up as a resumable upload session, and
// fake-gcs-server (v1.53.0) ignores ifGenerationMatch=0 on those, so two
// such Creates of one key could both succeed there (real GCS honours it).
// A chunk larger than the object makes every write one conditional
// request, on the emulator and on GCS alike. Elsewhere: the driver default
// (S3 switches to multipart uploads from 16 MiB, and If-None-Match is then
// checked by CompleteMultipartUpload, which MinIO and S3 honour).
func (s *Store) bufferSize(n int) int {
	if !s.gcs || n < gcsChunk {
		return 0
	}
	return n + 1
}

// Get returns the object's content; the error wraps ErrNotFound if it does
// not exist.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.begin("get", key); err != nil {
		return nil, err
	}
	var data []byte
	err := s.do(ctx, "get", func(ctx context.Context, _ bool) error {
		var err error
		data, err = s.get1(ctx, key)
		return err
	})
	return data, err
}

func (s *Store) get1(ctx context.Context, key string) ([]byte, error) {
	r, err := s.newReader(ctx, key)
	if err != nil {
		return nil, s.wrap("get", key, err)
	}
	defer r.Close()
	var buf []byte
	if n := r.Size(); n > 0 {
		buf = make([]byte, 0, n+1) // +1: room to see EOF without growing
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, s.wrap("get", key, err)
		}
	}
	if buf == nil {
		buf = []byte{}
	}
	return buf, nil
}

func (s *Store) newReader(ctx context.Context, key string) (*blob.Reader, error) {
	if s.dir != "" {
		// Don't look while this process is replacing the object (fileblob
		// rewrites the .attrs sidecar in place). Once open, the file stays
		// readable even if it is replaced.
		l := pathLock(s.path(key))
		l.RLock()
		defer l.RUnlock()
	}
	return s.bucket.NewReader(ctx, key, nil)
}

// Attributes returns the object's attributes; the error wraps ErrNotFound
// if it does not exist. Meta keys are lower-case; Meta is never nil.
func (s *Store) Attributes(ctx context.Context, key string) (Attrs, error) {
	if err := s.begin("attributes", key); err != nil {
		return Attrs{}, err
	}
	var a Attrs
	err := s.do(ctx, "attributes", func(ctx context.Context, _ bool) error {
		var err error
		a, err = s.attributes(ctx, key)
		return err
	})
	if err != nil {
		return Attrs{}, s.wrap("attributes", key, err)
	}
	return a, nil
}

// attributes reads key's attributes. On a file store the metadata comes
// from the file's xattrs if it was written with them, else from its .attrs
// sidecar (LAYOUT.md, "Object attributes").
func (s *Store) attributes(ctx context.Context, key string) (Attrs, error) {
	if s.dir != "" {
		p := s.path(key)
		l := pathLock(p)
		l.RLock()
		defer l.RUnlock()
		meta, ok, err := readXattrMeta(s.xattr, p)
		if err != nil {
			return Attrs{}, err
		}
		if ok {
			fi, err := os.Stat(p)
			if err != nil {
				return Attrs{}, err
			}
			if fi.IsDir() {
				return Attrs{}, ErrNotFound
			}
			return Attrs{Key: key, Size: fi.Size(), ModTime: fi.ModTime(), Meta: meta}, nil
		}
	}
	a, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		return Attrs{}, err
	}
	meta := make(map[string]string, len(a.Metadata))
	for k, v := range a.Metadata {
		meta[strings.ToLower(k)] = v
	}
	return Attrs{Key: key, Size: a.Size, ModTime: a.ModTime, Meta: meta}, nil
}

// Stat returns an object's size and modification time, without its
// metadata (Attrs.Meta is nil): one stat on a file store, one HEAD on S3
// and GCS (as Attributes). The error wraps ErrNotFound if the object does
// not exist.
func (s *Store) Stat(ctx context.Context, key string) (Attrs, error) {
	if s.dir == "" {
		a, err := s.Attributes(ctx, key)
		a.Meta = nil
		return a, err
	}
	if err := s.begin("stat", key); err != nil {
		return Attrs{}, err
	}
	var fi os.FileInfo
	err := s.do(ctx, "stat", func(ctx context.Context, _ bool) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		if fi, err = os.Stat(s.path(key)); err == nil && !fi.Mode().IsRegular() {
			err = ErrNotFound // a directory is no object
		}
		return err
	})
	if err != nil {
		return Attrs{}, s.wrap("stat", key, err)
	}
	return Attrs{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Exists reports whether key exists.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	if err := s.begin("exists", key); err != nil {
		return false, err
	}
	err := s.do(ctx, "exists", func(ctx context.Context, _ bool) error {
		_, err := s.attributes(ctx, key)
		return err
	})
	if err == nil {
		return true, nil
	}
	if s.isNotFound(err) {
		return false, nil
	}
	return false, s.wrap("exists", key, err)
}

// Delete removes key; the error wraps ErrNotFound if it does not exist.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.begin("delete", key); err != nil {
		return err
	}
	if s.dir != "" {
		l := pathLock(s.path(key))
		l.Lock()
		defer l.Unlock()
	}
	return s.wrap("delete", key, s.do(ctx, "delete", func(ctx context.Context, retried bool) error {
		err := s.bucket.Delete(ctx, key)
		if retried && err != nil && s.isNotFound(err) {
			return nil // an earlier attempt that seemed to fail deleted it
		}
		return err
	}))
}

// List calls fn for every object whose key starts with prefix, recursively,
// in lexical (byte) order of keys. Attrs.Meta is not filled. An error from
// fn stops the listing and is returned as it is.
//
// On file stores fileblob's .attrs sidecars and temporary files are not
// listed, nor are files whose names are not valid keys.
func (s *Store) List(ctx context.Context, prefix string, fn func(Attrs) error) error {
	s.listCalls.Add(1)
	if s.closed.Load() {
		return s.wrapList(prefix, ErrClosed)
	}
	if err := checkPrefix(prefix); err != nil {
		return fmt.Errorf("cloud: list %q in %s: invalid prefix: %w", prefix, s.url, err)
	}
	if s.dir != "" {
		return s.listFiles(ctx, prefix, fn)
	}
	token := blob.FirstPageToken
	for {
		objs, next, err := s.listPage(ctx, token, &blob.ListOptions{Prefix: prefix}, listPageSize)
		if err != nil {
			return s.wrapList(prefix, err)
		}
		for _, o := range objs {
			if o.IsDir {
				continue
			}
			if err := fn(Attrs{Key: o.Key, Size: o.Size, ModTime: o.ModTime}); err != nil {
				return err
			}
		}
		if len(next) == 0 {
			return nil
		}
		token = next
	}
}

// ListDir lists one level below prefix, as a directory listing does: it
// calls fn, in lexical (byte) order of keys, for every object whose key
// starts with prefix and has no "/" after it, and once for every common
// prefix (prefix + "name/", with Attrs.Dir set) that stands for the objects
// further down. Listings are paged (S3 and GCS list with a delimiter, so a
// level is listed without walking what is below it). prefix is normally ""
// or ends in "/". Attrs.Meta is not filled. An error from fn stops the
// listing and is returned as it is.
//
// On file stores a directory is listed as a common prefix even when it
// holds no object (S3 and GCS have no empty directories).
func (s *Store) ListDir(ctx context.Context, prefix string, fn func(Attrs) error) error {
	return s.listDir(ctx, prefix, false, func(page []Attrs) error {
		for _, a := range page {
			if err := fn(a); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListDirUnsized is ListDir a page at a time (fn gets the entries of each
// page, in key order, and may keep the slice), for a caller that needs the
// size and modification time of only some of the objects, or later: on a
// file store the one page is the whole directory, read without one stat
// per object, each regular file with Attrs.Unsized set and Size and
// ModTime zero (Store.Stat reads them); on S3 and GCS, whose listings give
// them at no cost, the pages are those of ListDir.
func (s *Store) ListDirUnsized(ctx context.Context, prefix string, fn func(page []Attrs) error) error {
	return s.listDir(ctx, prefix, true, fn)
}

// listDir is ListDirUnsized, or ListDir's pages without unsized.
func (s *Store) listDir(ctx context.Context, prefix string, unsized bool, fn func(page []Attrs) error) error {
	s.listCalls.Add(1)
	if s.closed.Load() {
		return s.wrapList(prefix, ErrClosed)
	}
	if err := checkPrefix(prefix); err != nil {
		return fmt.Errorf("cloud: list %q in %s: invalid prefix: %w", prefix, s.url, err)
	}
	if s.dir != "" {
		return s.listDirFiles(ctx, prefix, unsized, fn)
	}
	token := blob.FirstPageToken
	var held []Attrs
	for {
		objs, next, err := s.listPage(ctx, token, &blob.ListOptions{Prefix: prefix, Delimiter: "/"}, listPageSize)
		if err != nil {
			return s.wrapList(prefix, err)
		}
		var page []Attrs
		page, held = dirPage(objs, held, len(next) > 0) // in order, once each (fake-gcs repeats prefixes)
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		if len(next) == 0 {
			return nil
		}
		token = next
	}
}

// listPage fetches one page of at most size entries of a listing, with
// retries.
func (s *Store) listPage(ctx context.Context, token []byte, opts *blob.ListOptions, size int) (objs []*blob.ListObject, next []byte, err error) {
	err = s.do(ctx, "list", func(ctx context.Context, _ bool) error {
		var err error
		objs, next, err = s.bucket.ListPage(ctx, token, size, opts)
		return err
	})
	return objs, next, err
}

func (s *Store) wrapList(prefix string, err error) error {
	return fmt.Errorf("cloud: list %q in %s: %w", prefix, s.url, err)
}

// contentType picks a Content-Type from the key's extension (a fixed table,
// so the result does not depend on the host's mime.types).
func contentType(key string) string {
	switch strings.ToLower(path.Ext(key)) {
	case ".m4s", ".cmfv", ".cmfa", ".cmft":
		return "video/iso.segment"
	case ".mp4", ".m4v", ".cmfi":
		return "video/mp4"
	case ".m4a":
		return "audio/mp4"
	case ".mpd":
		return "application/dash+xml"
	case ".m3u8":
		return "application/vnd.apple.mpegurl"
	case ".ts":
		return "video/mp2t"
	case ".vtt":
		return "text/vtt"
	case ".ttml":
		return "application/ttml+xml"
	case ".json":
		return "application/json"
	case ".xml":
		return "application/xml"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}
