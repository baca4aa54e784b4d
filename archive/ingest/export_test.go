package ingest

// SegmentBuffersReused is how many media segment bodies s read into a
// recycled buffer.
func SegmentBuffersReused(s *Server) int64 { return s.segBufs.reused.Load() }

// BufferPeak is the most bytes of the buffer budget s's requests held at
// once.
func BufferPeak(s *Server) int64 { return s.buf.peak.Load() }

// SegmentsStreamed is how many media segments s offered streamed, their
// mdat payloads read by the archive as it wrote them.
func SegmentsStreamed(s *Server) int64 { return s.streamed.Load() }
