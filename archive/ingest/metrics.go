package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the Prometheus metrics of one Server, in its own registry.
type metrics struct {
	received    *prometheus.CounterVec // media segments handed to the archive, or dropped as incomplete/invalid
	stored      *prometheus.CounterVec
	duplicate   *prometheus.CounterVec
	conflicting *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	inits       *prometheus.CounterVec // init segments by outcome
	bytes       *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	openStreams prometheus.Gauge
	inflight    prometheus.Gauge
	buffered    prometheus.Gauge       // bytes of the buffer budget held (Options.MaxBuffer)
	refused     *prometheus.CounterVec // requests refused before reading the body, by reason
}

func newMetrics(reg *prometheus.Registry) *metrics {
	seg := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "reaparchive", Subsystem: "ingest", Name: name, Help: help,
		}, []string{"channel", "source", "rep"})
	}
	m := &metrics{
		received:    seg("segments_received_total", "Media segments received complete from a source (per segment URL or split from a stream)."),
		stored:      seg("segments_stored_total", "Media segments stored: the first valid copy of their epoch index, durable in the store and the index."),
		duplicate:   seg("segments_duplicate_total", "Media segments whose epoch index was already stored with the same timing."),
		conflicting: seg("segments_conflicting_total", "Media segments whose epoch index was already stored with different timing."),
		rejected:    seg("segments_rejected_total", "Media segments rejected: invalid, not on the REaP grid, or incomplete at the end of a stream."),
		inits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "reaparchive", Subsystem: "ingest", Name: "init_segments_total",
			Help: "Init segments (CMAF headers) received, by outcome: new, known, mismatch, invalid.",
		}, []string{"channel", "source", "rep", "outcome"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "reaparchive", Subsystem: "ingest", Name: "received_bytes_total",
			Help: "Request body bytes received from authenticated sources.",
		}, []string{"channel", "source"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "reaparchive", Subsystem: "ingest", Name: "request_duration_seconds",
			Help:    "Ingest request latency, from the request headers to the response, by endpoint kind and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600},
		}, []string{"kind", "code"}),
		openStreams: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "reaparchive", Subsystem: "ingest", Name: "open_streams",
			Help: "Long-running Streams(...) requests in progress.",
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "reaparchive", Subsystem: "ingest", Name: "inflight_requests",
			Help: "Ingest requests being served (bounded by the maximum concurrent requests).",
		}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "reaparchive", Subsystem: "ingest", Name: "buffered_bytes",
			Help: "Bytes of segment data ingest requests hold in memory while their bodies arrive (bounded by the ingest buffer limit).",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "reaparchive", Subsystem: "ingest", Name: "requests_refused_total",
			Help: "Ingest requests refused before their body was read, by reason: path, unknown, auth, busy, buffer, draining, method.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.received, m.stored, m.duplicate, m.conflicting, m.rejected, m.inits, m.bytes,
		m.latency, m.openStreams, m.inflight, m.buffered, m.refused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
