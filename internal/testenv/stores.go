package testenv

// Object-store servers for tests: MinIO (the S3 API) and fake-gcs-server
// (the GCS JSON API), so that the tests that touch storage run against the
// real wire protocols through gocloud's s3blob and gcsblob, not only against
// a directory.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MinIO's root credentials in tests. The S3 client of the code under test
// reads them from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, which the
// first use of a MinIO server sets in the test process (every server gets
// the same ones).
const (
	MinIOAccessKey = "reaparchive-test"
	MinIOSecretKey = "reaparchive-test-secret"
	// S3Region is the region of the MinIO store URLs.
	S3Region = "us-east-1"
)

// StoreKind is a kind of blob store an archive can live in.
type StoreKind struct {
	// Name is "file", "s3" (a MinIO server) or "gs" (fake-gcs-server); use
	// it as the subtest name.
	Name string
	url  func(t testing.TB) string
}

// URL returns the URL of a new, empty store of this kind for the test: a
// fresh directory, or a fresh bucket on a server that is started if needed
// and stopped once no running test uses it. A missing server binary fails
// the test under scripts/test.sh or in CI, and skips it otherwise.
func (k StoreKind) URL(t testing.TB) string {
	t.Helper()
	return k.url(t)
}

// Stores returns the store kinds the storage tests run on, file first:
//
//	file  file:///<temporary directory>
//	s3    s3://BUCKET?endpoint=http://127.0.0.1:PORT&region=us-east-1&use_path_style=true
//	      (MinIO, REAPARCHIVE_TEST_MINIO; credentials MinIOAccessKey/MinIOSecretKey
//	      in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)
//	gs    gs://BUCKET?endpoint=http://127.0.0.1:PORT
//	      (fake-gcs-server, REAPARCHIVE_TEST_FAKEGCS)
//
// Run each as a subtest: for _, k := range testenv.Stores() { t.Run(k.Name, ...) }.
func Stores() []StoreKind {
	return []StoreKind{
		{Name: "file", url: func(t testing.TB) string {
			t.Helper()
			return FileStoreURL(t.TempDir())
		}},
		{Name: "s3", url: func(t testing.TB) string {
			t.Helper()
			return minio.bucketURL(t)
		}},
		{Name: "gs", url: func(t testing.TB) string {
			t.Helper()
			return fakeGCS.bucketURL(t)
		}},
	}
}

// FileStoreURL is the URL of a file store in dir/store.
func FileStoreURL(dir string) string {
	return "file://" + filepath.ToSlash(filepath.Join(dir, "store"))
}

// Store returns the store kind called name ("file", "s3" or "gs").
func Store(name string) StoreKind {
	for _, k := range Stores() {
		if k.Name == name {
			return k
		}
	}
	panic("testenv: no store kind " + strconv.Quote(name))
}

// objectServer is one kind of server, shared by the tests that run at the
// same time: the first to need it starts it, the last to finish stops it
// (and removes its data). A later test starts a new one.
type objectServer struct {
	name   string // for messages
	envVar string // binary path
	// start starts the server on port with data in dir and returns its
	// endpoint once it answers.
	start func(bin string, port int, dir string, out io.Writer) (*proc, error)
	// bucket creates a bucket and returns the store URL of it.
	bucket func(ctx context.Context, endpoint, name string) (string, error)

	mu       sync.Mutex
	refs     int
	proc     *proc
	endpoint string
	dir      string
	out      *lockedBuffer
	n        atomic.Int64 // buckets made (names are unique per process)
}

var (
	minio = &objectServer{name: "MinIO", envVar: "REAPARCHIVE_TEST_MINIO", start: startMinIO, bucket: minioBucket}

	fakeGCS = &objectServer{name: "fake-gcs-server", envVar: "REAPARCHIVE_TEST_FAKEGCS", start: startFakeGCS, bucket: fakeGCSBucket}
)

// bucketURL makes a new bucket for t and returns its store URL.
func (s *objectServer) bucketURL(t testing.TB) string {
	t.Helper()
	endpoint := s.acquire(t)
	name := fmt.Sprintf("t%06d", s.n.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := s.bucket(ctx, endpoint, name)
	if err != nil {
		t.Fatalf("%s: create bucket %s: %v", s.name, name, err)
	}
	return u
}

// acquire returns the endpoint of the running server, starting it if
// needed; t's cleanup releases it.
func (s *objectServer) acquire(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(s.envVar)
	if bin == "" {
		missing(t, s.name+" ("+s.envVar+")")
	}
	if _, err := os.Stat(bin); err != nil {
		missing(t, fmt.Sprintf("%s (%s=%s: %v)", s.name, s.envVar, bin, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		if err := s.startLocked(bin); err != nil {
			t.Fatal(err)
		}
		t.Logf("testenv: started %s at %s", s.name, s.endpoint)
	}
	s.refs++
	t.Cleanup(s.release)
	return s.endpoint
}

func (s *objectServer) startLocked(bin string) error {
	var last error
	for range 3 { // the free port may be taken before the server binds it
		dir, err := os.MkdirTemp("", "reaparchive-"+s.name+"-")
		if err != nil {
			return err
		}
		port := freePort()
		out := &lockedBuffer{}
		p, err := s.start(bin, port, dir, out)
		if err == nil {
			s.proc, s.dir, s.out = p, dir, out
			s.endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
			return nil
		}
		_ = os.RemoveAll(dir)
		last = fmt.Errorf("start %s (%s) on 127.0.0.1:%d: %w\n%s", s.name, bin, port, err, out.String())
	}
	return last
}

func (s *objectServer) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs--
	if s.refs > 0 || s.proc == nil || keepServers.Load() {
		return
	}
	s.stopLocked()
}

func (s *objectServer) stopLocked() {
	if s.proc == nil {
		return
	}
	s.proc.stop()
	_ = os.RemoveAll(s.dir)
	s.proc, s.dir, s.endpoint = nil, "", ""
}

// keepServers is set while Main runs the tests: servers then stay up
// between tests and Main stops them at the end.
var keepServers atomic.Bool

// Main runs a test package's tests with its object-store servers shared by
// all of them (started once, on first use) and stops the servers at the
// end. Use it in a package whose tests make many stores:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
//
// Without it a server is stopped as soon as no running test uses it, and a
// later test starts a new one.
func Main(m *testing.M) int {
	keepServers.Store(true)
	code := m.Run()
	for _, s := range []*objectServer{minio, fakeGCS} {
		s.mu.Lock()
		s.stopLocked()
		s.mu.Unlock()
	}
	return code
}

// proc is a started server process.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's result, once exited
}

// stop ends the process: SIGTERM, then SIGKILL after 5 s.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// startAndWait starts cmd and polls ready until it answers, the process
// exits or 60 s pass.
func startAndWait(cmd *exec.Cmd, out io.Writer, ready func() bool) (*proc, error) {
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("exited: %v", p.err)
		default:
		}
		if ready() {
			return p, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop()
	return nil, errors.New("did not answer within 60 s")
}

func httpOK(u string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// MinIO: a single-drive server with its data in a temporary directory.

var setS3Env sync.Once

func startMinIO(bin string, port int, dir string, out io.Writer) (*proc, error) {
	setS3Env.Do(func() {
		// The code under test reads its S3 credentials from the
		// environment, as it does in production.
		os.Setenv("AWS_ACCESS_KEY_ID", MinIOAccessKey)
		os.Setenv("AWS_SECRET_ACCESS_KEY", MinIOSecretKey)
		os.Unsetenv("AWS_SESSION_TOKEN")
	})
	console := freePort()
	cmd := exec.Command(bin, "server", "--quiet", "--address", fmt.Sprintf("127.0.0.1:%d", port),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", console), dir)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+MinIOAccessKey, "MINIO_ROOT_PASSWORD="+MinIOSecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=on")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	return startAndWait(cmd, out, func() bool { return httpOK(base + "/minio/health/ready") })
}

// S3Client returns an S3 client for a MinIO endpoint, with the test
// credentials.
func S3Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       S3Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(MinIOAccessKey, MinIOSecretKey, ""),
	})
}

func minioBucket(ctx context.Context, endpoint, name string) (string, error) {
	if _, err := S3Client(endpoint).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return "", err
	}
	q := url.Values{"endpoint": {endpoint}, "region": {S3Region}, "use_path_style": {"true"}}
	return "s3://" + name + "?" + q.Encode(), nil
}

// fake-gcs-server: in memory, plain HTTP.

func startFakeGCS(bin string, port int, _ string, out io.Writer) (*proc, error) {
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(bin, "-scheme", "http", "-host", "127.0.0.1", "-port", strconv.Itoa(port),
		"-backend", "memory", "-log-level", "error")
	return startAndWait(cmd, out, func() bool { return httpOK(base + "/storage/v1/b") })
}

func fakeGCSBucket(ctx context.Context, endpoint, name string) (string, error) {
	body, _ := json.Marshal(map[string]string{"name": name})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/storage/v1/b?project=test", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST /storage/v1/b: %s: %s", resp.Status, b)
	}
	return "gs://" + name + "?" + url.Values{"endpoint": {endpoint}}.Encode(), nil
}

// freePort is FreePort without a test.
func freePort() int {
	for {
		if p, err := listenPort(); err == nil {
			return p
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockedBuffer collects a server's output for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// MinIOServer is a MinIO server of one test's own, which the test can stop
// and start again (same port, same data) to play an outage of the store.
type MinIOServer struct {
	bin, dir string
	port     int

	mu   sync.Mutex
	proc *proc
	out  *lockedBuffer
}

// StartMinIO starts a MinIO server for t alone (REAPARCHIVE_TEST_MINIO);
// t's cleanup stops it and removes its data.
func StartMinIO(t testing.TB) *MinIOServer {
	t.Helper()
	bin := os.Getenv(minio.envVar)
	if bin == "" {
		missing(t, "MinIO ("+minio.envVar+")")
	}
	if _, err := os.Stat(bin); err != nil {
		missing(t, fmt.Sprintf("MinIO (%s=%s: %v)", minio.envVar, bin, err))
	}
	m := &MinIOServer{bin: bin, dir: t.TempDir()}
	var err error
	for range 3 { // the free port may be taken before the server binds it
		m.port = freePort()
		if err = m.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

func (m *MinIOServer) start() error {
	out := &lockedBuffer{}
	p, err := startMinIO(m.bin, m.port, m.dir, out)
	if err != nil {
		return fmt.Errorf("start MinIO (%s) on 127.0.0.1:%d: %w\n%s", m.bin, m.port, err, out.String())
	}
	m.proc, m.out = p, out
	return nil
}

// Endpoint is http://127.0.0.1:PORT.
func (m *MinIOServer) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", m.port) }

// BucketURL creates a bucket and returns its store URL.
func (m *MinIOServer) BucketURL(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := minioBucket(ctx, m.Endpoint(), name)
	if err != nil {
		t.Fatalf("MinIO: create bucket %s: %v", name, err)
	}
	return u
}

// Stop stops the server (its data stays); a stopped server is left alone.
func (m *MinIOServer) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		m.proc.stop()
		m.proc = nil
	}
}

// Restart starts the stopped server again on the same port with the same data.
func (m *MinIOServer) Restart(t testing.TB) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		return
	}
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
}

// ForEachStore runs f as a parallel subtest on every kind of store: file,
// s3 (MinIO) and gs (fake-gcs-server).
func ForEachStore(t *testing.T, f func(t *testing.T, kind StoreKind)) {
	t.Helper()
	for _, kind := range Stores() {
		t.Run(kind.Name, func(t *testing.T) {
			t.Parallel()
			f(t, kind)
		})
	}
}
