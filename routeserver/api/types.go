// Package api is the route server's control API: HTTP with JSON on a unix
// socket (mode 0600, full access) and optionally on TCP (read-only, bearer
// token, TLS when configured). `fedrs lg`, `fedrs reload` and `fedrs
// maintenance` are clients of it; Prometheus scrapes its /metrics.
// openapi.json describes it (served at GET /v1/openapi.json); openapi_test.go
// keeps the description in step with Endpoints and the types here.
package api

import (
	"fmt"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/bmp"
	"github.com/fedrs/fedrs/routeserver/mrt"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"
)

// Status is GET /v1/status.
type Status struct {
	Version       string    `json:"version"`
	ASN           uint32    `json:"asn"`
	RouterID      string    `json:"router_id"`
	Started       time.Time `json:"started"`
	UptimeSeconds int64     `json:"uptime_seconds"`
	ConfigFile    string    `json:"config_file"`
	ConfigHash    string    `json:"config_hash"`
	Members       int       `json:"members"`
	Neighbors     int       `json:"neighbors"`
	SessionsUp    int       `json:"sessions_up"`
	PrefixesV4    int       `json:"prefixes_ipv4"`
	PrefixesV6    int       `json:"prefixes_ipv6"`
	Routes        int       `json:"routes"`
	Accepted      int       `json:"accepted"`
	Filtered      int       `json:"filtered"`
	AttrSets      int       `json:"attribute_sets"`
	PendingOut    int       `json:"pending_out"`
	Maintenance   bool      `json:"maintenance"`
	// MaintenancePhase is off, draining or closed (GET /v1/maintenance
	// has the details).
	MaintenancePhase string       `json:"maintenance_phase"`
	RPKI             *RPKIStatus  `json:"rpki,omitempty"`
	History          any          `json:"history,omitempty"`
	BMP              []bmp.Status `json:"bmp,omitempty"`
	// MRT is the state of the periodic MRT dumps ([mrt] dump_dir).
	MRT *mrt.PeriodicStatus `json:"mrt,omitempty"`
}

// RPKIStatus summarises the RPKI data in use.
type RPKIStatus struct {
	Serial  uint32    `json:"serial"`
	Updated time.Time `json:"updated"`
	VRPs    int       `json:"vrps"`
	ASPAs   int       `json:"aspas"`
	Sources int       `json:"sources"`
}

// Neighbor is one entry of GET /v1/neighbors.
type Neighbor struct {
	Member        string      `json:"member"`
	Description   string      `json:"description,omitempty"`
	Neighbor      string      `json:"neighbor"`
	ASN           uint32      `json:"asn"`
	State         string      `json:"state"`
	Since         time.Time   `json:"since"`
	UptimeSeconds int64       `json:"uptime_seconds"`
	AdminDown     bool        `json:"admin_down"`
	IdleUntil     *time.Time  `json:"idle_until,omitempty"`
	Received      int         `json:"received"`
	Accepted      int         `json:"accepted"`
	Filtered      int         `json:"filtered"`
	Exported      int         `json:"exported"`
	Stale         int         `json:"stale,omitempty"`
	PendingOut    int         `json:"pending_out,omitempty"`
	PerFamily     []FamilyCnt `json:"families"`
	Flaps         uint64      `json:"flaps"`
	MessagesIn    uint64      `json:"messages_in"`
	MessagesOut   uint64      `json:"messages_out"`
	UpdatesIn     uint64      `json:"updates_in"`
	UpdatesOut    uint64      `json:"updates_out"`
	// Passive: the route server waits for the member to connect.
	Passive bool `json:"passive,omitempty"`
	// DownSince is when the session last left Established, or when the
	// route server started if it never was; absent while Established.
	DownSince *time.Time `json:"down_since,omitempty"`
	// LastUp is when the session last reached Established; absent if
	// it never did.
	LastUp      *time.Time `json:"last_up,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	// LastSent and LastReceived are the NOTIFICATIONs as one line of
	// text; NotificationSent and NotificationReceived decode them.
	LastSent             string        `json:"last_notification_sent,omitempty"`
	LastReceived         string        `json:"last_notification_received,omitempty"`
	NotificationSent     *Notification `json:"notification_sent,omitempty"`
	NotificationReceived *Notification `json:"notification_received,omitempty"`
	Negotiated           *Negotiated   `json:"negotiated,omitempty"`
}

// Notification is a NOTIFICATION message sent or received, decoded.
type Notification struct {
	At          time.Time `json:"at"`
	Code        uint8     `json:"code"`
	CodeName    string    `json:"code_name"`
	Subcode     uint8     `json:"subcode"`
	SubcodeName string    `json:"subcode_name,omitempty"`
	// ShutdownMessage is the RFC 9003 shutdown communication of a Cease
	// Administrative Shutdown or Reset.
	ShutdownMessage string `json:"shutdown_message,omitempty"`
	// Data is the rest of the data, in hex.
	Data string `json:"data,omitempty"`
}

// MakeNotification decodes a NOTIFICATION of the session package (nil
// for none).
func MakeNotification(ev *session.NotificationEvent) *Notification {
	if ev == nil || ev.Notification == nil {
		return nil
	}
	n := ev.Notification
	out := &Notification{At: ev.At, Code: n.Code, CodeName: n.CodeName(), Subcode: n.Subcode, SubcodeName: n.SubcodeName()}
	out.ShutdownMessage, _ = n.ShutdownMessage()
	if d := n.ExtraData(); len(d) > 0 {
		out.Data = fmt.Sprintf("%x", d)
	}
	return out
}

// FamilyCnt are a neighbour's counters for one family.
type FamilyCnt struct {
	Family   string `json:"family"`
	Received int    `json:"received"`
	Accepted int    `json:"accepted"`
	Exported int    `json:"exported"`
}

// Negotiated is what the session agreed on.
type Negotiated struct {
	HoldTime        int      `json:"hold_time"`
	Keepalive       int      `json:"keepalive"`
	PeerID          string   `json:"peer_id"`
	Families        []string `json:"families"`
	FourOctetAS     bool     `json:"four_octet_as"`
	RouteRefresh    bool     `json:"route_refresh"`
	ExtendedMessage bool     `json:"extended_message"`
	Role            string   `json:"role"`
	GracefulRestart bool     `json:"graceful_restart"`
	AddPathReceive  []string `json:"add_path_receive,omitempty"`
	LocalAddress    string   `json:"local_address"`
	RemoteAddress   string   `json:"remote_address"`
}

// Reason is a filtering or tagging reason.
type Reason struct {
	Name string `json:"name"`
	Code uint32 `json:"code"`
	Text string `json:"text"`
}

// Route is one route as the API shows it.
type Route struct {
	Prefix           string   `json:"prefix"`
	Family           string   `json:"family"`
	Member           string   `json:"member"`
	Neighbor         string   `json:"neighbor"`
	PathID           uint32   `json:"path_id,omitempty"`
	ASPath           []uint32 `json:"as_path"`
	ASPathText       string   `json:"as_path_text"`
	Origin           string   `json:"origin"`
	NextHop          string   `json:"next_hop"`
	NextHopLL        string   `json:"next_hop_link_local,omitempty"`
	MED              *uint32  `json:"med,omitempty"`
	Communities      []string `json:"communities"`
	LargeCommunities []string `json:"large_communities"`
	OTC              *uint32  `json:"otc,omitempty"`
	Accepted         bool     `json:"accepted"`
	Best             bool     `json:"best"`
	Stale            bool     `json:"stale,omitempty"`
	FilteredReasons  []Reason `json:"filtered_reasons"`
	TaggedReasons    []Reason `json:"tagged_reasons"`
	RPKI             string   `json:"rpki"`
	ASPA             string   `json:"aspa"`
	Registry         string   `json:"registry"`
	Blackhole        bool     `json:"blackhole,omitempty"`
	GracefulShutdown bool     `json:"graceful_shutdown,omitempty"`
	// ExportedTo lists the members that hold this route: it was sent to
	// them on an established session and neither withdrawn nor replaced
	// since. PendingTo lists those with a change of the prefix queued
	// (about to receive it, or what they hold for it is about to change).
	ExportedTo []string `json:"exported_to,omitempty"`
	PendingTo  []string `json:"pending_to,omitempty"`
	// Pending marks, in a member's exported view, a prefix with a change
	// queued for the member: what it holds is about to change.
	Pending bool `json:"pending,omitempty"`
}

// RouteList is a page of routes.
type RouteList struct {
	Total  int     `json:"total"`
	Offset int     `json:"offset"`
	Limit  int     `json:"limit"`
	Routes []Route `json:"routes"`
	// Pending counts, in a member's exported view, the prefixes with a
	// change queued for the member (sent within milliseconds normally).
	Pending int `json:"pending,omitempty"`
	// Note says, in a member's exported view, why it holds nothing for a
	// family (no established session carrying it).
	Note string `json:"note,omitempty"`
}

// ReloadRequest is the optional body of POST /v1/reload.
type ReloadRequest struct {
	// Config, when set, is the absolute path of the file the client means
	// to apply. The route server reloads only its own configuration file
	// (fixed at its start) and refuses when Config is another file.
	Config string `json:"config,omitempty"`
}

// RestartResult is POST /v1/restart: the route server has written its
// restart marker and is closing its sessions without a NOTIFICATION
// (graceful restart, RFC 4724); it exits once they are closed.
type RestartResult struct {
	// Marker is the file that tells the next start it follows a planned
	// restart (valid for RestartTime).
	Marker string `json:"marker"`
	// RestartTime is the restart time announced to members, in seconds:
	// how long they keep the route server's routes.
	RestartTime int `json:"restart_time"`
}

// ReloadResult is POST /v1/reload.
type ReloadResult struct {
	// Config is the file that was reloaded.
	Config      string   `json:"config"`
	Summary     string   `json:"summary"`
	Deferred    []string `json:"deferred,omitempty"`
	Reevaluated int      `json:"reevaluated"`
	Reset       int      `json:"sessions_reset"`
	Added       int      `json:"sessions_added"`
	Removed     int      `json:"sessions_removed"`
	// RPKIProblems name the RPKI and SLURM files the reload could not
	// read or parse (also in Summary).
	RPKIProblems []string `json:"rpki_problems,omitempty"`
}

// CheckRequest is the body of POST /v1/check.
type CheckRequest struct {
	// Config is the absolute path of the configuration file to check, as
	// the route server reads it.
	Config string `json:"config"`
	// Limit is the most routes listed per kind (default 1000); the totals
	// count them all.
	Limit int `json:"limit,omitempty"`
}

// CheckResult is POST /v1/check: what reloading Config would do to the
// routes held now. Nothing is changed by asking.
type CheckResult struct {
	Config        string   `json:"config"`
	ConfigHash    string   `json:"config_hash"`
	RunningConfig string   `json:"running_config"`
	RunningHash   string   `json:"running_hash"`
	Changes       string   `json:"changes"`
	Deferred      []string `json:"deferred,omitempty"`
	// Checked counts the routes whose import policy was re-run.
	Checked int `json:"checked"`
	// WouldFilter: accepted now, filtered after (reasons after);
	// WouldAccept: filtered now (reasons now), accepted after;
	// ReasonsChanged: filtered now and after, for other reasons;
	// WouldWithdraw: routes of neighbours the configuration removes.
	WouldFilter    []CheckRoute `json:"would_filter"`
	WouldAccept    []CheckRoute `json:"would_accept"`
	ReasonsChanged []CheckRoute `json:"reasons_changed"`
	WouldWithdraw  []CheckRoute `json:"would_withdraw"`
	Totals         CheckTotals  `json:"totals"`
	Limit          int          `json:"limit"`
	// RPKINotes say what of the new configuration's RPKI data the dry run
	// could not predict (an RTR cache not connected yet, a file that does
	// not load).
	RPKINotes []string `json:"rpki_notes,omitempty"`
}

// CheckTotals count every route of each kind, listed or not.
type CheckTotals struct {
	WouldFilter    int `json:"would_filter"`
	WouldAccept    int `json:"would_accept"`
	ReasonsChanged int `json:"reasons_changed"`
	WouldWithdraw  int `json:"would_withdraw"`
}

// CheckRoute is a route as held now (its verdict now) with its verdict
// under the checked configuration.
type CheckRoute struct {
	Route
	AcceptedAfter bool     `json:"accepted_after"`
	FilteredAfter []Reason `json:"filtered_reasons_after"`
	TaggedAfter   []Reason `json:"tagged_reasons_after"`
}

// MakeCheckRoute converts a verdict change of a dry run.
func MakeCheckRoute(c routeserver.VerdictChange) CheckRoute {
	out := CheckRoute{Route: MakeRoute(c.Route, c.Member), FilteredAfter: []Reason{}, TaggedAfter: []Reason{}}
	if !c.Withdrawn {
		out.AcceptedAfter = c.After.Accepted()
		out.FilteredAfter = reasons(c.After.Filtered)
		out.TaggedAfter = reasons(c.After.Tagged)
	}
	return out
}

// ClearResult is POST /v1/members/{member}/clear: per session, what the
// soft clear did.
type ClearResult struct {
	Member    string         `json:"member"`
	Direction string         `json:"direction"`
	Result    string         `json:"result"`
	Sessions  []ClearSession `json:"sessions"`
}

// ClearSession is one session of a soft clear.
type ClearSession struct {
	Neighbor string `json:"neighbor"`
	State    string `json:"state"`
	// Families: ROUTE-REFRESH sent (in) or Adj-RIB-Out resent (out).
	Families []string `json:"families"`
	Notes    []string `json:"notes,omitempty"`
}

// Maintenance is GET /v1/maintenance, and the answer of POST
// /v1/maintenance/start and /stop (with Result).
type Maintenance struct {
	// Phase: "off"; "draining": every route is sent with
	// GRACEFUL_SHUTDOWN and the sessions close at closes_at; "closed":
	// maintenance closed the sessions, which stay down until it stops.
	Phase string `json:"phase"`
	// Since is when the phase began (absent: off since the start).
	Since   *time.Time `json:"since,omitempty"`
	Started *time.Time `json:"started,omitempty"`
	Message string     `json:"message,omitempty"`
	// WaitSeconds is the wait between the tag and the close.
	WaitSeconds float64 `json:"wait_seconds,omitempty"`
	// ClosesAt and SecondsLeft: while draining, when the sessions close.
	ClosesAt    *time.Time `json:"closes_at,omitempty"`
	SecondsLeft float64    `json:"seconds_left,omitempty"`
	// Sessions are the neighbours affected ("member address"): while
	// draining those receiving GRACEFUL_SHUTDOWN, once closed those
	// maintenance closed (and a stop brings back).
	Sessions []string `json:"sessions"`
	// Result says what a start or stop did.
	Result string `json:"result,omitempty"`
}

// MakeMaintenance converts the route server's maintenance status.
func MakeMaintenance(st routeserver.MaintenanceStatus) Maintenance {
	out := Maintenance{Phase: string(st.Phase), Sessions: append([]string{}, st.Sessions...)}
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	out.Since = opt(st.Since)
	if !st.Started.IsZero() {
		out.Started, out.Message, out.WaitSeconds = opt(st.Started), st.Message, st.Wait.Seconds()
	}
	if st.Phase == routeserver.MaintenanceDraining {
		out.ClosesAt = opt(st.CloseAt)
		out.SecondsLeft = max(time.Until(st.CloseAt).Seconds(), 0)
	}
	return out
}

// Error is every error answer.
type Error struct {
	Error string `json:"error"`
	// Kind is "unknown_member" when the request named a member the
	// route server does not have (status 404, like an unknown route);
	// "no_history" when a history endpoint was asked of a route server
	// that records no history (status 404).
	Kind string `json:"kind,omitempty"`
}

// MakeRoute converts a RIB route.
func MakeRoute(r rib.Route, memberName string) Route {
	a := r.Attrs
	out := Route{
		Prefix:           r.Prefix.String(),
		Family:           familyName(r.Family),
		Member:           memberName,
		Neighbor:         r.Source.Addr.String(),
		PathID:           r.PathID,
		Accepted:         r.Verdict.Accepted(),
		Best:             r.Best,
		Stale:            r.Stale,
		RPKI:             r.Verdict.Mods.ROV().String(),
		ASPA:             r.Verdict.Mods.ASPA().String(),
		Registry:         r.Verdict.Mods.Registry().String(),
		Blackhole:        r.Verdict.Mods&policy.ModBlackhole != 0,
		GracefulShutdown: r.Verdict.Mods&policy.ModGracefulShutdown != 0,
		FilteredReasons:  reasons(r.Verdict.Filtered),
		TaggedReasons:    reasons(r.Verdict.Tagged),
		Communities:      []string{},
		LargeCommunities: []string{},
		ASPath:           []uint32{},
	}
	if a == nil {
		return out
	}
	out.ASPath = append(out.ASPath, a.ASPath...)
	out.ASPathText = a.Attrs.PathString()
	out.Origin = [...]string{"igp", "egp", "incomplete", "?"}[min(int(a.Origin), 3)]
	if a.NextHop.IsValid() {
		out.NextHop = a.NextHop.String()
	}
	if a.NextHopLL.IsValid() {
		out.NextHopLL = a.NextHopLL.String()
	}
	if a.HasMED {
		v := a.MED
		out.MED = &v
	}
	for _, c := range a.Communities {
		out.Communities = append(out.Communities, bgp.CommunityString(c))
	}
	for _, l := range a.Large {
		out.LargeCommunities = append(out.LargeCommunities, l.String())
	}
	if a.HasOTC {
		v := a.OTC
		out.OTC = &v
	}
	return out
}

func reasons(s policy.ReasonSet) []Reason {
	out := []Reason{}
	for _, r := range s.Reasons() {
		info := r.Info()
		out = append(out, Reason{Name: info.Name, Code: info.Code, Text: info.Text})
	}
	return out
}

func familyName(f bgp.Family) string {
	if f == bgp.IPv6Unicast {
		return "ipv6"
	}
	return "ipv4"
}
