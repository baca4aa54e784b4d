package ingest

// SegmentBuffersReused is how many media segment bodies s read into a
// recycled buffer.
func SegmentBuffersReused(s *Server) int64 { return s.segBufs.reused.Load() }
