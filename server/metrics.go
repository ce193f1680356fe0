package server

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vigildb/vigil/detect"
	"github.com/vigildb/vigil/store"
)

// Metrics are Vigil's Prometheus collectors, for the daemon to update.
// The fields may be used directly; the methods cover the common updates.
// All methods are safe for concurrent use.
type Metrics struct {
	EventsIn           *prometheus.CounterVec // vigil_events_in_total{source}
	ParseFailures      *prometheus.CounterVec // vigil_parse_failures_total{source}
	RuleEvaluations    *prometheus.CounterVec // vigil_rule_evaluations_total{rule}
	Alerts             *prometheus.CounterVec // vigil_alerts_total{rule,severity}
	CheckpointLagBytes *prometheus.GaugeVec   // vigil_checkpoint_lag_bytes{source,file}
	CheckpointLagSecs  *prometheus.GaugeVec   // vigil_checkpoint_lag_seconds{source,file}
	StoreBytes         prometheus.Gauge       // vigil_store_bytes
	StoreEvents        prometheus.Gauge       // vigil_store_events
	StoreAlerts        *prometheus.GaugeVec   // vigil_store_alerts{status}
	QueueDepth         *prometheus.GaugeVec   // vigil_queue_depth{stage}
	IngestRequests     *prometheus.CounterVec // vigil_ingest_requests_total{source,code}
	IngestLines        *prometheus.CounterVec // vigil_ingest_lines_total{source}
	IngestRejected     *prometheus.CounterVec // vigil_ingest_rejected_lines_total{source,reason}

	mu   sync.Mutex
	last map[string]ruleTotals // by rule id: totals already added
}

type ruleTotals struct {
	candidates, alerts int64
}

// NewMetrics creates the collectors and registers them, with the Go and
// process collectors, on reg. It fails if any is already registered there.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		EventsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_events_in_total", Help: "Events read, by source.",
		}, []string{"source"}),
		ParseFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_parse_failures_total", Help: "Lines that could not be parsed, by source.",
		}, []string{"source"}),
		RuleEvaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_rule_evaluations_total", Help: "Events evaluated by a rule (candidates let through by the index).",
		}, []string{"rule"}),
		Alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_alerts_total", Help: "Alerts raised, by rule and severity.",
		}, []string{"rule", "severity"}),
		CheckpointLagBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_checkpoint_lag_bytes", Help: "Bytes of a file not yet checkpointed (file size minus checkpoint offset).",
		}, []string{"source", "file"}),
		CheckpointLagSecs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_checkpoint_lag_seconds", Help: "Age of the oldest data of a file not yet checkpointed.",
		}, []string{"source", "file"}),
		StoreBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigil_store_bytes", Help: "Size of the store on disk (database plus WAL).",
		}),
		StoreEvents: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigil_store_events", Help: "Events in the store.",
		}),
		StoreAlerts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_store_alerts", Help: "Alerts in the store, by status.",
		}, []string{"status"}),
		QueueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_queue_depth", Help: "Items waiting in a pipeline stage's queue.",
		}, []string{"stage"}),
		IngestRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_ingest_requests_total", Help: "HTTP ingest requests, by source and status code.",
		}, []string{"source", "code"}),
		IngestLines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_ingest_lines_total", Help: "HTTP ingest lines accepted by the pipeline, by source.",
		}, []string{"source"}),
		IngestRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_ingest_rejected_lines_total", Help: "HTTP ingest lines rejected before parsing, by source and reason.",
		}, []string{"source", "reason"}),
		last: map[string]ruleTotals{},
	}
	for _, c := range []prometheus.Collector{
		m.EventsIn, m.ParseFailures, m.RuleEvaluations, m.Alerts,
		m.CheckpointLagBytes, m.CheckpointLagSecs, m.StoreBytes, m.StoreEvents, m.StoreAlerts,
		m.QueueDepth, m.IngestRequests, m.IngestLines, m.IngestRejected,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("server: metrics: %w", err)
		}
	}
	return m, nil
}

// AddEvents counts n events read from source.
func (m *Metrics) AddEvents(source string, n int) {
	m.EventsIn.WithLabelValues(source).Add(float64(n))
}

// AddParseFailures counts n unparseable lines from source.
func (m *Metrics) AddParseFailures(source string, n int) {
	m.ParseFailures.WithLabelValues(source).Add(float64(n))
}

// SetQueueDepth reports the items waiting in a stage's queue.
func (m *Metrics) SetQueueDepth(stage string, n int) {
	m.QueueDepth.WithLabelValues(stage).Set(float64(n))
}

// SetCheckpointLag reports how far a file's checkpoint is behind: bytes
// read but not yet checkpointed (or not yet read), and their age.
func (m *Metrics) SetCheckpointLag(source, file string, bytes int64, seconds float64) {
	m.CheckpointLagBytes.WithLabelValues(source, file).Set(float64(bytes))
	m.CheckpointLagSecs.WithLabelValues(source, file).Set(seconds)
}

// ForgetCheckpoint drops a file's lag series (a rotated-away file), so
// the series set does not grow without bound.
func (m *Metrics) ForgetCheckpoint(source, file string) {
	m.CheckpointLagBytes.DeleteLabelValues(source, file)
	m.CheckpointLagSecs.DeleteLabelValues(source, file)
}

// UpdateStore sets the store gauges from store.Stats.
func (m *Metrics) UpdateStore(st store.Stats) {
	m.StoreBytes.Set(float64(st.FileBytes))
	m.StoreEvents.Set(float64(st.Events))
	for status, n := range st.Alerts {
		m.StoreAlerts.WithLabelValues(status).Set(float64(n))
	}
}

// UpdateRules brings the rule counters up to date with the engine's
// cumulative detect.RuleStats (Engine.Stats). It adds the growth since the
// previous call; if a rule's totals went down (a new engine after a
// reload), its new totals are added whole, so the counters never
// decrease. When the daemon replaces the engine it should call
// ResetRules, since a new engine may already have passed the old totals.
// severity maps rule id to its severity for vigil_alerts_total; a missing
// rule gets "unknown".
func (m *Metrics) UpdateRules(stats []detect.RuleStats, severity map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, st := range stats {
		sev := severity[st.ID]
		if sev == "" {
			sev = "unknown"
		}
		prev := m.last[st.ID]
		if st.Candidates < prev.candidates || st.Alerts < prev.alerts {
			prev = ruleTotals{} // a new engine: count its totals whole
		}
		m.RuleEvaluations.WithLabelValues(st.ID).Add(float64(st.Candidates - prev.candidates))
		// Touch the series even at zero so a rule shows up before its first alert.
		m.Alerts.WithLabelValues(st.ID, sev).Add(float64(st.Alerts - prev.alerts))
		m.last[st.ID] = ruleTotals{candidates: st.Candidates, alerts: st.Alerts}
	}
}

// ResetRules forgets the totals seen so far: the next UpdateRules adds
// its totals whole. Call it when a new detect.Engine replaces the old one.
func (m *Metrics) ResetRules() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.last)
}
