package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/rpki"
	"github.com/prometheus/client_golang/prometheus"
)

// collector reads the route server's state at scrape time.
type collector struct{ a *API }

var (
	descState       = prometheus.NewDesc("fedrs_session_state", "BGP FSM state of a neighbour: 0 Idle, 1 Connect, 2 Active, 3 OpenSent, 4 OpenConfirm, 5 Established.", []string{"member", "neighbor"}, nil)
	descEstablished = prometheus.NewDesc("fedrs_session_established", "1 when the neighbour's session is Established.", []string{"member", "neighbor"}, nil)
	descFlaps       = prometheus.NewDesc("fedrs_session_flaps_total", "Times the neighbour's established session went down.", []string{"member", "neighbor"}, nil)
	descPrefixes    = prometheus.NewDesc("fedrs_prefixes", "Routes held from a neighbour by verdict.", []string{"member", "neighbor", "family", "verdict"}, nil)
	descExported    = prometheus.NewDesc("fedrs_exported_prefixes", "Prefixes sent to the neighbour on its established session and not withdrawn since: what its router holds from the route server (0 while the session is down).", []string{"member", "neighbor", "family"}, nil)
	descPending     = prometheus.NewDesc("fedrs_adj_rib_out_pending", "Prefixes whose export to the neighbour is not sent yet.", []string{"member", "neighbor"}, nil)
	descUpdIn       = prometheus.NewDesc("fedrs_updates_received_total", "UPDATE messages received from the neighbour.", []string{"member", "neighbor"}, nil)
	descUpdOut      = prometheus.NewDesc("fedrs_updates_sent_total", "UPDATE messages sent to the neighbour.", []string{"member", "neighbor"}, nil)
	descRIBPrefixes = prometheus.NewDesc("fedrs_rib_prefixes", "Distinct prefixes in the RIB.", []string{"family"}, nil)
	descRIBRoutes   = prometheus.NewDesc("fedrs_rib_routes", "Routes (candidates from all members) in the RIB.", nil, nil)
	descAttrSets    = prometheus.NewDesc("fedrs_rib_attribute_sets", "Interned path attribute sets.", nil, nil)
	descMaint       = prometheus.NewDesc("fedrs_maintenance", "1 while route server maintenance (GRACEFUL_SHUTDOWN on every route) is on.", nil, nil)
	descRPKISerial  = prometheus.NewDesc("fedrs_rpki_serial", "Serial of the RPKI data in use.", nil, nil)
	descRPKIVRPs    = prometheus.NewDesc("fedrs_rpki_vrps", "VRPs in use.", []string{"family"}, nil)
	descRPKIASPAs   = prometheus.NewDesc("fedrs_rpki_aspas", "ASPA records in use.", nil, nil)
	descRPKISource  = prometheus.NewDesc("fedrs_rpki_source_up", "1 when an RPKI source (RTR cache, file) is in sync.", []string{"source", "kind", "state"}, nil)
	descRPKIAge     = prometheus.NewDesc("fedrs_rpki_age_seconds", "Seconds since the RPKI data last changed.", nil, nil)
	descBMPUp       = prometheus.NewDesc("fedrs_bmp_up", "1 when the BMP collector is connected and has the full state.", []string{"collector", "address"}, nil)
	descBMPConnects = prometheus.NewDesc("fedrs_bmp_connects_total", "Connections made to the BMP collector.", []string{"collector"}, nil)
	descBMPDrops    = prometheus.NewDesc("fedrs_bmp_queue_drops_total", "Times the BMP collector's queue overflowed and its connection was dropped (resynchronised on reconnect).", []string{"collector"}, nil)
	descBMPQueue    = prometheus.NewDesc("fedrs_bmp_queue_length", "Events waiting to be sent to the BMP collector.", []string{"collector"}, nil)
	descBMPQueueMax = prometheus.NewDesc("fedrs_bmp_queue_limit", "Bound of the BMP collector's queue ([[bmp]] queue).", []string{"collector"}, nil)
	descBMPMsgs     = prometheus.NewDesc("fedrs_bmp_messages_sent_total", "BMP messages sent to the collector.", []string{"collector"}, nil)
	descBMPBytes    = prometheus.NewDesc("fedrs_bmp_sent_bytes_total", "Bytes sent to the BMP collector.", []string{"collector"}, nil)
	descRefused     = prometheus.NewDesc("fedrs_connections_refused_total", "BGP connections refused before a session, by reason: unconfigured (not a configured neighbour's address), ttl (below the member's GTSM bound), limit (the neighbour already had the 2 connections collision detection needs).", []string{"reason"}, nil)
	descMRTDumps    = prometheus.NewDesc("fedrs_mrt_dumps_total", "Periodic MRT dumps written.", nil, nil)
	descMRTFailures = prometheus.NewDesc("fedrs_mrt_dump_failures_total", "Periodic MRT dumps that failed.", nil, nil)
	descMRTLast     = prometheus.NewDesc("fedrs_mrt_last_dump_timestamp_seconds", "Time of the last periodic MRT dump written (Unix seconds).", nil, nil)
	descMRTDuration = prometheus.NewDesc("fedrs_mrt_last_dump_duration_seconds", "How long the last periodic MRT dump took.", nil, nil)
	descMRTRoutes   = prometheus.NewDesc("fedrs_mrt_last_dump_routes", "Routes in the last periodic MRT dump.", nil, nil)
	descAdminDown   = prometheus.NewDesc("fedrs_session_admin_down", "1 while the neighbour's session is kept down on purpose: member shutdown, shutdown = true in the configuration, maintenance (not a max_prefixes teardown).", []string{"member", "neighbor"}, nil)
	descMaxPrefixes = prometheus.NewDesc("fedrs_max_prefixes", "The member's max_prefixes limit on accepted routes, per family, from the running configuration (absent where there is no limit).", []string{"member", "family"}, nil)
	descReloads     = prometheus.NewDesc("fedrs_reloads_total", "Configuration reloads since the start (API, fedrs reload, SIGHUP) by result: applied, or refused (the running configuration stayed).", []string{"result"}, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	srv := c.a.srv
	cfg := srv.Config()
	for _, n := range srv.Neighbors() {
		name := ""
		if n.Member >= 0 && n.Member < len(cfg.Members) {
			name = cfg.Members[n.Member].Name
		}
		addr := n.Source.Addr.String()
		info := n.Peer.Info()
		st := srv.RIB().Stats(n.Source)
		est := 0.0
		if info.State == session.Established {
			est = 1
		}
		ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, float64(info.State), name, addr)
		ch <- prometheus.MustNewConstMetric(descEstablished, prometheus.GaugeValue, est, name, addr)
		adminDown := 0.0
		if info.AdminShutdown {
			adminDown = 1
		}
		ch <- prometheus.MustNewConstMetric(descAdminDown, prometheus.GaugeValue, adminDown, name, addr)
		ch <- prometheus.MustNewConstMetric(descFlaps, prometheus.CounterValue, float64(info.Flaps), name, addr)
		ch <- prometheus.MustNewConstMetric(descUpdIn, prometheus.CounterValue, float64(info.UpdIn), name, addr)
		ch <- prometheus.MustNewConstMetric(descUpdOut, prometheus.CounterValue, float64(info.UpdOut), name, addr)
		pending := 0
		for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
			fam := familyName(f)
			ch <- prometheus.MustNewConstMetric(descPrefixes, prometheus.GaugeValue, float64(st.Accepted[f]), name, addr, fam, "accepted")
			ch <- prometheus.MustNewConstMetric(descPrefixes, prometheus.GaugeValue, float64(st.Received[f]-st.Accepted[f]), name, addr, fam, "filtered")
			ch <- prometheus.MustNewConstMetric(descExported, prometheus.GaugeValue, float64(st.Exported[f]), name, addr, fam)
			pending += st.PendingOut[f]
		}
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(pending), name, addr)
	}
	for _, m := range cfg.Members {
		for fam, max := range map[string]int{"ipv4": m.MaxPrefixes.IPv4, "ipv6": m.MaxPrefixes.IPv6} {
			if max > 0 {
				ch <- prometheus.MustNewConstMetric(descMaxPrefixes, prometheus.GaugeValue, float64(max), m.Name, fam)
			}
		}
	}
	applied, refused := srv.Reloads()
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(applied), "applied")
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(refused), "refused")
	tot := srv.RIB().Totals()
	ch <- prometheus.MustNewConstMetric(descRIBPrefixes, prometheus.GaugeValue, float64(tot.Prefixes[bgp.IPv4Unicast]), "ipv4")
	ch <- prometheus.MustNewConstMetric(descRIBPrefixes, prometheus.GaugeValue, float64(tot.Prefixes[bgp.IPv6Unicast]), "ipv6")
	ch <- prometheus.MustNewConstMetric(descRIBRoutes, prometheus.GaugeValue, float64(tot.Routes))
	ch <- prometheus.MustNewConstMetric(descAttrSets, prometheus.GaugeValue, float64(tot.AttrSets))
	for reason, n := range srv.ConnectionsRefused() {
		ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(n), reason)
	}
	m := 0.0
	if srv.InMaintenance() {
		m = 1
	}
	ch <- prometheus.MustNewConstMetric(descMaint, prometheus.GaugeValue, m)
	if mgr := c.a.opts.RPKI; mgr != nil {
		rs := mgr.Status()
		ch <- prometheus.MustNewConstMetric(descRPKISerial, prometheus.GaugeValue, float64(rs.Serial))
		ch <- prometheus.MustNewConstMetric(descRPKIVRPs, prometheus.GaugeValue, float64(rs.VRPsV4), "ipv4")
		ch <- prometheus.MustNewConstMetric(descRPKIVRPs, prometheus.GaugeValue, float64(rs.VRPsV6), "ipv6")
		ch <- prometheus.MustNewConstMetric(descRPKIASPAs, prometheus.GaugeValue, float64(rs.ASPAs))
		if !rs.Updated.IsZero() {
			ch <- prometheus.MustNewConstMetric(descRPKIAge, prometheus.GaugeValue, timeSince(rs.Updated))
		}
		for _, s := range rs.Sources {
			up := 0.0
			if s.State == "loaded" || s.State == rpki.StateSynced {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(descRPKISource, prometheus.GaugeValue, up, s.Name, s.Kind, s.State)
		}
	}
	if b := c.a.opts.BMP; b != nil {
		for _, s := range b.Status() {
			up := 0.0
			if s.Up() {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(descBMPUp, prometheus.GaugeValue, up, s.Name, s.Address)
			ch <- prometheus.MustNewConstMetric(descBMPConnects, prometheus.CounterValue, float64(s.Connects), s.Name)
			ch <- prometheus.MustNewConstMetric(descBMPDrops, prometheus.CounterValue, float64(s.QueueDrops), s.Name)
			ch <- prometheus.MustNewConstMetric(descBMPQueue, prometheus.GaugeValue, float64(s.QueueLen), s.Name)
			ch <- prometheus.MustNewConstMetric(descBMPQueueMax, prometheus.GaugeValue, float64(s.QueueLimit), s.Name)
			ch <- prometheus.MustNewConstMetric(descBMPMsgs, prometheus.CounterValue, float64(s.Messages), s.Name)
			ch <- prometheus.MustNewConstMetric(descBMPBytes, prometheus.CounterValue, float64(s.Bytes), s.Name)
		}
	}
	if m := c.a.opts.MRT; m != nil {
		s := m.Status()
		ch <- prometheus.MustNewConstMetric(descMRTDumps, prometheus.CounterValue, float64(s.Dumps))
		ch <- prometheus.MustNewConstMetric(descMRTFailures, prometheus.CounterValue, float64(s.Failures))
		if s.Last != nil {
			ch <- prometheus.MustNewConstMetric(descMRTLast, prometheus.GaugeValue, float64(s.Last.Time.Unix()))
			ch <- prometheus.MustNewConstMetric(descMRTDuration, prometheus.GaugeValue, s.LastDuration)
			ch <- prometheus.MustNewConstMetric(descMRTRoutes, prometheus.GaugeValue, float64(s.Last.Routes))
		}
	}
	if h := c.a.opts.History; h != nil {
		for name, v := range h.Gauges() {
			typ := prometheus.GaugeValue
			if strings.HasSuffix(name, "_total") {
				typ = prometheus.CounterValue
			}
			help, ok := historyHelp[name]
			if !ok {
				help = "History writer: " + strings.TrimPrefix(name, "fedrs_history_") + "."
			}
			ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, nil, nil), typ, v)
		}
	}
}

// historyHelp is the HELP text of the history writer's metrics (Gauges:
// names ending in _total are counters).
var historyHelp = map[string]string{
	"fedrs_history_queue_length":            "Events waiting for the history writer.",
	"fedrs_history_queue_limit":             "Bound of the history writer's queue ([history] queue); events beyond it are dropped and the gap recorded.",
	"fedrs_history_events_committed_total":  "Events committed to the history database.",
	"fedrs_history_commits_total":           "Transactions committed to the history database.",
	"fedrs_history_events_dropped_total":    "Events dropped because the history writer's queue was full (recorded as gaps).",
	"fedrs_history_gaps_total":              "Gaps recorded in the history (periods with dropped events).",
	"fedrs_history_write_errors_total":      "Failed writes to the history database.",
	"fedrs_history_db_bytes":                "Size of the history database file.",
	"fedrs_history_last_commit_age_seconds": "Seconds since the last commit to the history database (0 before the first).",
	"fedrs_history_behind_seconds":          "Age of the oldest event waiting for the history writer (write-behind lag).",
}

func timeSince(t time.Time) float64 { return time.Since(t).Seconds() }

// metrics is GET /metrics.
func (a *API) metrics(w http.ResponseWriter, r *http.Request) { a.prom.ServeHTTP(w, r) }
