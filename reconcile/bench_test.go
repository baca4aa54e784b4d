package reconcile_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/simulate"
)

// benchObjects is the number of segment objects BenchmarkReindex100k reindexes.
const benchObjects = 100_000

const benchCh = "bench"

// benchStores are the stores of BenchmarkReindex100k, filled once per
// benchmark process (filling MinIO with 100,000 objects takes minutes).
var benchStores sync.Map // kind name → *benchStore

// benchDirs are the file stores' directories, removed by TestMain.
var benchDirs []string

func removeBenchDirs() {
	for _, d := range benchDirs {
		_ = os.RemoveAll(d)
	}
}

type benchStore struct {
	once sync.Once
	url  string
	err  error
}

// fillBenchStore makes a store of kind holding one init and benchObjects
// small media objects of one video track, K 0..benchObjects-1, with the
// reap-* attributes a recorder writes (bodies are placeholders: reindex
// reads attributes, not bodies, when they are complete).
func fillBenchStore(b *testing.B, kind testenv.StoreKind) string {
	v, _ := benchStores.LoadOrStore(kind.Name, &benchStore{})
	bs := v.(*benchStore)
	bs.once.Do(func() {
		ctx := context.Background()
		if kind.Name == "file" {
			// Not b.TempDir: the store outlives this (sub-)benchmark.
			dir, err := os.MkdirTemp("", "reaparchive-bench-")
			if err != nil {
				bs.err = err
				return
			}
			benchDirs = append(benchDirs, dir)
			bs.url = testenv.FileStoreURL(dir)
		} else {
			bs.url = kind.URL(b)
		}
		st, err := cloud.Open(ctx, bs.url)
		if err != nil {
			bs.err = err
			return
		}
		defer st.Close()
		sim := testenv.NewSim(b, simulate.Options{})
		init, err := sim.Init(simulate.VideoRep)
		if err != nil {
			bs.err = err
			return
		}
		info, err := cmaf.ParseInit(init)
		if err != nil {
			bs.err = err
			return
		}
		if err := st.Create(ctx, layout.InitKey(benchCh, simulate.VideoRep, info.SHA256), init, nil); err != nil {
			bs.err = err
			return
		}
		segDur := uint64(2 * info.Timescale)
		start := time.Now()
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(32)
		for k := range int64(benchObjects) {
			g.Go(func() error {
				body := benchBody(k)
				sum := sha256.Sum256(body)
				meta := map[string]string{
					layout.MetaEPT:       strconv.FormatUint(uint64(k)*segDur, 10),
					layout.MetaDuration:  strconv.FormatUint(segDur, 10),
					layout.MetaTimescale: strconv.FormatUint(uint64(info.Timescale), 10),
					layout.MetaSegDur:    strconv.FormatUint(segDur, 10),
					layout.MetaSHA256:    hex.EncodeToString(sum[:]),
					layout.MetaInit:      layout.InitID(info.SHA256),
					layout.MetaSource:    "bench",
				}
				return st.Create(gctx, layout.MediaKey(benchCh, simulate.VideoRep, k, "m4s"), body, meta)
			})
		}
		if bs.err = g.Wait(); bs.err == nil {
			bs.err = writeBenchIndexObjects(ctx, st, segDur, info)
		}
		b.Logf("%s: created %d objects in %v", kind.Name, benchObjects, time.Since(start).Round(time.Second))
	})
	if bs.err != nil {
		b.Fatal(bs.err)
	}
	return bs.url
}

// benchBody is the placeholder body of bench segment k.
func benchBody(k int64) []byte { return []byte(fmt.Sprintf("placeholder segment %d", k)) }

// writeBenchIndexObjects writes the index objects of the bench store's
// segments, one per hour (1,800 K at D = 2 s), as the recorder does.
func writeBenchIndexObjects(ctx context.Context, st *cloud.Store, segDur uint64, info *cmaf.InitInfo) error {
	const perHour = 1800
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for from := int64(0); from < benchObjects; from += perHour {
		g.Go(func() error {
			o := &layout.IndexObject{IndexHeader: layout.IndexHeader{Version: layout.IndexObjectVersion, Channel: benchCh, Rep: simulate.VideoRep,
				FromK: from, ToK: from + perHour - 1, Timescale: info.Timescale, SegDur: segDur}}
			for k := from; k < min(from+perHour, benchObjects); k++ {
				body := benchBody(k)
				sum := sha256.Sum256(body)
				o.Entries = append(o.Entries, layout.IndexEntry{K: k, Name: strconv.FormatInt(k, 10) + ".m4s", Size: int64(len(body)),
					EPT: uint64(k) * segDur, Dur: segDur, SHA256: hex.EncodeToString(sum[:]), Init: layout.InitID(info.SHA256), Source: "bench"})
			}
			data, err := o.Encode()
			if err != nil {
				return err
			}
			return st.Create(gctx, layout.IndexObjectKey(benchCh, simulate.VideoRep, o.FromK, o.ToK), data, nil)
		})
	}
	return g.Wait()
}

// BenchmarkReindex100k: reindex of a channel of 100,000 segment objects
// into a fresh index, on the file store and on MinIO (objects/s): reading
// each object's attributes (<store>), and taking them from the store's
// index objects (indexobj/<store>); the baseline/… sub-benchmarks only
// list the same objects (paged), the floor every reindex pays.
func BenchmarkReindex100k(b *testing.B) {
	for _, name := range []string{"file", "s3"} {
		kind := testenv.Store(name)
		b.Run(name, func(b *testing.B) { benchReindex(b, kind, true) })
		b.Run("indexobj/"+name, func(b *testing.B) { benchReindex(b, kind, false) })
		b.Run("baseline/"+name, func(b *testing.B) {
			ctx := context.Background()
			st := openBenchStore(b, kind)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				n := 0
				if err := st.List(ctx, benchCh+"/"+simulate.VideoRep+"/", func(a cloud.Attrs) error {
					if strings.HasSuffix(a.Key, ".m4s") { // not the init
						n++
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				if n != benchObjects {
					b.Fatalf("listed %d objects", n)
				}
			}
			b.ReportMetric(float64(b.N)*benchObjects/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

// benchReindex reindexes the bench store of kind into a fresh index b.N
// times, reading every object's attributes (ignoreIndexObjects) or taking
// them from the index objects.
func benchReindex(b *testing.B, kind testenv.StoreKind, ignoreIndexObjects bool) {
	ctx := context.Background()
	st := openBenchStore(b, kind)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := openIndex(b, filepath.Join(b.TempDir(), fmt.Sprintf("index%d.db", i)))
		b.StartTimer()
		res, err := reconcile.Reindex(ctx, st, db, reconcile.Options{Channel: benchCh, IgnoreIndexObjects: ignoreIndexObjects})
		if err != nil {
			b.Fatal(err)
		}
		c := res.Channels
		if len(c) != 1 || c[0].Objects != benchObjects || c[0].Indexed != benchObjects || len(c[0].Problems) != 0 {
			b.Fatalf("reindex: %+v", c)
		}
		if want := int64(0); ignoreIndexObjects && c[0].FromIndexObjects != want || !ignoreIndexObjects && c[0].AttributesRead != want {
			b.Fatalf("reindex: %d objects' attributes read, %d from index objects; want all from the %s",
				c[0].AttributesRead, c[0].FromIndexObjects, map[bool]string{true: "store", false: "index objects"}[ignoreIndexObjects])
		}
	}
	b.ReportMetric(float64(b.N)*benchObjects/b.Elapsed().Seconds(), "objects/s")
}

// openBenchStore opens the bench store of kind, filled (closed when b ends).
func openBenchStore(b *testing.B, kind testenv.StoreKind) *cloud.Store {
	st, err := cloud.Open(context.Background(), fillBenchStore(b, kind))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}
