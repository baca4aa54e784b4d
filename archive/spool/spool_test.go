package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestSpoolOrderReopenAndDrain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(dir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := s.Add(fmt.Sprintf("c/v/%d.m4s", i), []byte(fmt.Sprintf("data %d", i)), map[string]string{"reap-ept": fmt.Sprint(i)}, []byte(`{"k":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	if e, ok := s.Pending("c/v/3.m4s"); !ok || e.Meta["reap-ept"] != "3" {
		t.Fatalf("Pending: %+v %v", e, ok)
	}
	// A crash mid-Add leaves a temporary file: never acknowledged, dropped.
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000099.spool.tmp"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Reopen (a restart): same entries, same order.
	s2, err := Open(dir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Len() != 5 || s2.Bytes() != s.Bytes() {
		t.Fatalf("reopened: %d entries, %d bytes; want 5, %d", s2.Len(), s2.Bytes(), s.Bytes())
	}
	var got []string
	fail := errors.New("store down")
	up := func(_ context.Context, e *Entry, data []byte) error {
		if len(got) == 2 && fail != nil {
			err := fail
			fail = nil
			return err
		}
		if want := "data " + e.Key[4:5]; string(data) != want || string(e.Index) != `{"k":1}` {
			t.Errorf("entry %s: data %q index %s", e.Key, data, e.Index)
		}
		got = append(got, e.Key)
		return nil
	}
	if err := s2.Drain(context.Background(), up); err == nil {
		t.Fatal("Drain did not report the failed upload")
	}
	if s2.Len() != 3 {
		t.Fatalf("%d left after a failed upload; want 3", s2.Len())
	}
	if err := s2.Drain(context.Background(), up); err != nil {
		t.Fatal(err)
	}
	want := []string{"c/v/0.m4s", "c/v/1.m4s", "c/v/2.m4s", "c/v/3.m4s", "c/v/4.m4s"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("uploaded %v; want %v", got, want)
	}
	if s2.Len() != 0 || s2.Bytes() != 0 {
		t.Errorf("after drain: %d entries, %d bytes", s2.Len(), s2.Bytes())
	}
	if des, _ := os.ReadDir(dir); len(des) != 0 {
		t.Errorf("files left in the spool: %v", des)
	}
	if s3, err := Open(dir, 0, nil); err != nil || s3.Len() != 0 {
		t.Errorf("reopened empty spool: %v, %d", err, s3.Len())
	}
}

func TestSpoolFull(t *testing.T) {
	t.Parallel()
	s, err := Open(t.TempDir(), 300, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 100)
	n := 0
	for ; n < 10; n++ {
		if err := s.Add(fmt.Sprintf("k%d", n), data, nil, nil); err != nil {
			if !errors.Is(err, ErrFull) {
				t.Fatal(err)
			}
			break
		}
	}
	if n != 2 || s.Refused() != 1 || s.Bytes() > 300 {
		t.Fatalf("%d added, %d refused, %d bytes; want 2 added, then refused", n, s.Refused(), s.Bytes())
	}
	if err := s.Drain(context.Background(), func(context.Context, *Entry, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("again", data, nil, nil); err != nil {
		t.Errorf("Add after draining: %v", err)
	}
}
