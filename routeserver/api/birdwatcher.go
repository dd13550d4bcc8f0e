package api

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"
)

// The Alice-LG endpoints ([http] birdwatcher = true): the birdwatcher
// API in single-table mode, as Alice-LG 6.x's birdwatcher source reads
// it (see "Alice-LG" in the README). Built from the same code as the /v1
// handlers (neighbor, MakeRoute), from the RIB directly.

// The time layouts of the birdwatcher endpoints; the README's Alice-LG
// snippet configures the same ones (servertime, servertime_short,
// servertime_ext), all in UTC.
const (
	BirdwatcherTime      = time.RFC3339Nano
	BirdwatcherTimeShort = "2006-01-02 15:04:05"
	BirdwatcherTimeExt   = time.RFC1123Z
)

// birdwatcherTTL is how long Alice-LG may cache an answer: the ttl field
// is the only control of its cache lifetime.
const birdwatcherTTL = time.Minute

// birdwatcherVersion is the birdwatcher API version fedrs answers as.
const birdwatcherVersion = "2.2.5"

// birdwatcherHandler serves the endpoints under /birdwatcher/.
func (a *API) birdwatcherHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /birdwatcher/status", a.bwStatus)
	mux.HandleFunc("GET /birdwatcher/protocols/bgp", a.bwProtocols)
	mux.HandleFunc("GET /birdwatcher/protocols", a.bwProtocols)
	mux.HandleFunc("GET /birdwatcher/routes/protocol/{id}", a.bwNeighborRoutes(false))
	mux.HandleFunc("GET /birdwatcher/routes/filtered/{id}", a.bwNeighborRoutes(true))
	mux.HandleFunc("GET /birdwatcher/routes/noexport/{id}", a.bwNoExport)
	mux.HandleFunc("GET /birdwatcher/routes/table/{table}", a.bwTable(false))
	mux.HandleFunc("GET /birdwatcher/routes/table/{table}/filtered", a.bwTable(true))
	mux.HandleFunc("/birdwatcher/", func(w http.ResponseWriter, r *http.Request) {
		// Alice ignores the status and reads "error".
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no birdwatcher endpoint " + r.URL.Path})
	})
	return mux
}

// bwAPI is the envelope's "api" block.
type bwAPI struct {
	Version         string `json:"Version"`
	ResultFromCache bool   `json:"result_from_cache"`
	CacheStatus     struct {
		CachedAt struct {
			Date         string `json:"date"`
			TimezoneType string `json:"timezone_type"`
			Timezone     string `json:"timezone"`
		} `json:"cached_at"`
	} `json:"cache_status"`
}

func bwEnvelope(now time.Time) (bwAPI, string) {
	var b bwAPI
	b.Version = birdwatcherVersion
	b.CacheStatus.CachedAt.Date = now.Format(BirdwatcherTime)
	b.CacheStatus.CachedAt.TimezoneType = "UTC"
	b.CacheStatus.CachedAt.Timezone = "UTC"
	return b, now.Add(birdwatcherTTL).Format(BirdwatcherTime)
}

func (a *API) bwStatus(w http.ResponseWriter, r *http.Request) {
	now := time.Now().UTC()
	env, ttl := bwEnvelope(now)
	cfg := a.srv.Config()
	started := a.srv.Started().UTC()
	writeJSON(w, http.StatusOK, map[string]any{
		"api": env, "ttl": ttl,
		"status": map[string]string{
			"current_server": now.Format(BirdwatcherTimeShort),
			"last_reboot":    started.Format(BirdwatcherTimeShort),
			"last_reconfig":  started.Format(BirdwatcherTimeExt),
			"message":        "fedrs route server AS" + strconv.FormatUint(uint64(cfg.Server.ASN), 10),
			"router_id":      cfg.Server.RouterID.String(),
			"version":        "fedrs " + a.opts.Version,
		},
	})
}

// bwID is the protocol id of a neighbour: its name (the member's name
// and its address), with every character but letters, digits, "-" and "_" as "_"
// (Alice puts it in URLs without escaping).
func bwID(n routeserver.Neighbor) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, n.Name)
}

type bwCount struct {
	Imported  int `json:"imported"`
	Filtered  int `json:"filtered"`
	Exported  int `json:"exported"`
	Preferred int `json:"preferred"`
}

type bwProtocol struct {
	Protocol        string                        `json:"protocol"`
	BirdProtocol    string                        `json:"bird_protocol"`
	State           string                        `json:"state"`
	BGPState        string                        `json:"bgp_state"`
	StateChanged    string                        `json:"state_changed"`
	NeighborAddress string                        `json:"neighbor_address"`
	NeighborAS      uint32                        `json:"neighbor_as"`
	Description     string                        `json:"description"`
	LastError       string                        `json:"last_error,omitempty"`
	Routes          bwCount                       `json:"routes"`
	Channels        map[string]map[string]bwCount `json:"channels"`
}

func (a *API) bwProtocols(w http.ResponseWriter, r *http.Request) {
	env, ttl := bwEnvelope(time.Now().UTC())
	cfg := a.srv.Config()
	out := map[string]bwProtocol{}
	for _, n := range a.srv.Neighbors() {
		nb := a.neighbor(cfg, n)
		state := "down"
		if n.Peer.State() == session.Established {
			state = "up"
		}
		desc := nb.Member
		if nb.Description != "" {
			desc = nb.Member + ": " + nb.Description
		}
		p := bwProtocol{
			Protocol: "BGP", BirdProtocol: bwID(n), State: state, BGPState: nb.State,
			StateChanged: nb.Since.UTC().Format(BirdwatcherTimeShort), NeighborAddress: nb.Neighbor, NeighborAS: nb.ASN,
			Description: desc, LastError: nb.LastError,
			Routes:   bwCount{Imported: nb.Accepted, Filtered: nb.Filtered, Exported: nb.Exported},
			Channels: map[string]map[string]bwCount{},
		}
		for _, f := range nb.PerFamily {
			p.Channels[f.Family] = map[string]bwCount{"routes_count": {Imported: f.Accepted, Filtered: f.Received - f.Accepted, Exported: f.Exported}}
		}
		out[p.BirdProtocol] = p
	}
	writeJSON(w, http.StatusOK, map[string]any{"api": env, "ttl": ttl, "protocols": out})
}

// bwNeighbor finds the neighbour with protocol id id.
func (a *API) bwNeighbor(id string) (routeserver.Neighbor, bool) {
	for _, n := range a.srv.Neighbors() {
		if bwID(n) == id {
			return n, true
		}
	}
	return routeserver.Neighbor{}, false
}

type bwBGP struct {
	Origin           string      `json:"origin"`
	ASPath           []string    `json:"as_path"`
	NextHop          string      `json:"next_hop"`
	LocalPref        string      `json:"local_pref"`
	MED              string      `json:"med"`
	OTC              string      `json:"otc,omitempty"`
	Communities      [][2]uint32 `json:"communities"`
	LargeCommunities [][3]uint32 `json:"large_communities"`
	ExtCommunities   [][]string  `json:"ext_communities"`
}

type bwRoute struct {
	Network      string   `json:"network"`
	FromProtocol string   `json:"from_protocol"`
	Gateway      string   `json:"gateway"`
	LearntFrom   string   `json:"learnt_from"`
	Interface    string   `json:"interface"`
	Metric       int      `json:"metric"`
	Primary      bool     `json:"primary"`
	Type         []string `json:"type"`
	Age          string   `json:"age"`
	BGP          bwBGP    `json:"bgp"`
}

// bwRouteOf is r in birdwatcher's shape. A filtered route carries its
// reasons as RS:1101:code large communities, which Alice-LG's
// [rejection_reasons] maps to text. age is the time its neighbour's
// session came up (the RIB keeps no per-route time).
func (a *API) bwRouteOf(r rib.Route, ids map[*rib.Source]string, since map[*rib.Source]time.Time) bwRoute {
	x := MakeRoute(r, a.srv.MemberName(r.Source.Member))
	out := bwRoute{
		Network: x.Prefix, FromProtocol: ids[r.Source], Gateway: x.NextHop, LearntFrom: x.Neighbor,
		Metric: 100, Primary: x.Best, Type: []string{"BGP", "unicast", "univ"},
		Age: since[r.Source].UTC().Format(BirdwatcherTimeShort),
		BGP: bwBGP{
			Origin: strings.ToUpper(x.Origin), ASPath: []string{}, NextHop: x.NextHop, LocalPref: "100", MED: "0",
			Communities: [][2]uint32{}, LargeCommunities: [][3]uint32{}, ExtCommunities: [][]string{},
		},
	}
	if out.Gateway == "" {
		out.Gateway = x.Neighbor
	}
	for _, as := range x.ASPath {
		out.BGP.ASPath = append(out.BGP.ASPath, strconv.FormatUint(uint64(as), 10))
	}
	if x.MED != nil {
		out.BGP.MED = strconv.FormatUint(uint64(*x.MED), 10)
	}
	if x.OTC != nil {
		out.BGP.OTC = strconv.FormatUint(uint64(*x.OTC), 10)
	}
	if r.Attrs != nil {
		for _, c := range r.Attrs.Communities {
			out.BGP.Communities = append(out.BGP.Communities, [2]uint32{c >> 16, c & 0xffff})
		}
		for _, l := range r.Attrs.Large {
			out.BGP.LargeCommunities = append(out.BGP.LargeCommunities, [3]uint32{l.Global, l.Local1, l.Local2})
		}
	}
	rs := a.srv.Config().Server.ASN
	for _, reason := range r.Verdict.Filtered.Reasons() {
		l := [3]uint32{rs, policy.InfoFiltered, reason.Info().Code}
		if !containsLarge(out.BGP.LargeCommunities, l) {
			out.BGP.LargeCommunities = append(out.BGP.LargeCommunities, l)
		}
	}
	return out
}

func containsLarge(ls [][3]uint32, l [3]uint32) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
}

// bwSources maps each neighbour's source to its protocol id and to the
// time its session last changed state.
func (a *API) bwSources() (map[*rib.Source]string, map[*rib.Source]time.Time) {
	ids, since := map[*rib.Source]string{}, map[*rib.Source]time.Time{}
	for _, n := range a.srv.Neighbors() {
		ids[n.Source] = bwID(n)
		since[n.Source] = n.Peer.Info().Since
	}
	return ids, since
}

// writeBWRoutes streams {"api":…,"ttl":…,"routes":[…]}: walk calls its
// argument for each route (a rib.RIB.Walk: the RIB is read in chunks and
// never locked while the response is written), and each route is encoded
// and written as it comes, so a full table takes no more memory than its
// sort keys and one chunk, however large it is and however slow the client.
func (a *API) writeBWRoutes(w http.ResponseWriter, walk func(func(rib.Route) bool)) {
	env, ttl := bwEnvelope(time.Now().UTC())
	ids, since := a.bwSources()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	head, _ := json.Marshal(env)
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString(`{"api":` + string(head) + `,"ttl":"` + ttl + `","routes":[`)
	first := true
	walk(func(r rib.Route) bool {
		if !first {
			bw.WriteByte(',')
		}
		first = false
		b, _ := json.Marshal(a.bwRouteOf(r, ids, since))
		bw.WriteByte('\n')
		_, err := bw.Write(b)
		return err == nil // the client went away: stop reading the RIB
	})
	bw.WriteString("\n]}\n")
	bw.Flush()
}

func (a *API) bwNeighborRoutes(filtered bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, ok := a.bwNeighbor(r.PathValue("id"))
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no protocol " + r.PathValue("id")})
			return
		}
		flt := rib.Filter{Source: n.Source, Member: -1, Accepted: !filtered, Filtered: filtered}
		a.writeBWRoutes(w, func(fn func(rib.Route) bool) { a.srv.RIB().Walk(flt, fn) })
	}
}

// bwNoExport lists the best routes of other members that the neighbour's
// member does not hold from the route server.
func (a *API) bwNoExport(w http.ResponseWriter, r *http.Request) {
	n, ok := a.bwNeighbor(r.PathValue("id"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no protocol " + r.PathValue("id")})
		return
	}
	a.writeBWRoutes(w, func(fn func(rib.Route) bool) {
		a.srv.RIB().Walk(rib.Filter{Member: -1, Accepted: true}, func(x rib.Route) bool {
			if !x.Best || x.Source.Member == n.Member {
				return true
			}
			if _, held := a.srv.RIB().HeldRoute(n.Member, x.Prefix); held {
				return true
			}
			return fn(x)
		})
	})
}

// bwTable is the whole table (accepted, or filtered): master4 and master6
// are one family each, any other name both.
func (a *API) bwTable(filtered bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		flt := rib.Filter{Member: -1, Accepted: !filtered, Filtered: filtered}
		switch r.PathValue("table") {
		case "master4", "t4":
			flt.HasFamily, flt.Family = true, bgp.IPv4Unicast
		case "master6", "t6":
			flt.HasFamily, flt.Family = true, bgp.IPv6Unicast
		}
		a.writeBWRoutes(w, func(fn func(rib.Route) bool) { a.srv.RIB().Walk(flt, fn) })
	}
}
