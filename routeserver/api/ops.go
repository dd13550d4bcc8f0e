package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver"
)

func (a *API) reload(w http.ResponseWriter, r *http.Request) {
	var req ReloadRequest
	if r.ContentLength != 0 {
		dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("request body: want nothing, or JSON like {\"config\": \"/etc/fedrs/fedrs.toml\"}: %w", err))
			return
		}
	}
	running := a.srv.Config().AbsFile()
	if req.Config != "" {
		if !filepath.IsAbs(req.Config) {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("config %q: want the absolute path of the configuration file", req.Config))
			return
		}
		if !sameFile(req.Config, running) {
			writeErr(w, http.StatusConflict, fmt.Errorf("reload refused, nothing changed: this route server runs %s and reloads only that file, not %s "+
				"(a running route server's configuration file is fixed at its start, as under a service manager); "+
				"to see what %s would change: fedrs check -c %s --diff", running, req.Config, req.Config, req.Config))
			return
		}
	}
	res, err := a.srv.ReloadFile()
	if err != nil {
		writeErr(w, http.StatusUnprocessableEntity, err)
		return
	}
	writeJSON(w, http.StatusOK, ReloadResult{Config: running, Summary: res.String(), Deferred: res.Deferred, Reevaluated: res.Reevaluated,
		Reset: res.SessionsReset, Added: res.SessionsAdded, Removed: res.SessionsRemoved, RPKIProblems: res.RPKIProblems})
}

// sameFile reports whether the paths a and b name the same file: the same
// path, or (through links) the same inode.
func sameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// check is a dry-run reload: the import policy of another configuration
// file over the routes held now. Nothing changes.
func (a *API) check(w http.ResponseWriter, r *http.Request) {
	var req CheckRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("request body: want JSON like {\"config\": \"/etc/fedrs/fedrs.toml.new\"}: %w", err))
		return
	}
	if req.Config == "" || !filepath.IsAbs(req.Config) {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("config %q: want the absolute path of the configuration file to check", req.Config))
		return
	}
	if req.Limit < 0 {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("limit %d: want 0 or more (0: the default, 1000)", req.Limit))
		return
	}
	if req.Limit == 0 {
		req.Limit = 1000
	}
	cfg, err := conf.Load(req.Config)
	if err != nil {
		writeErr(w, http.StatusUnprocessableEntity, err)
		return
	}
	res, err := a.srv.DryRun(cfg, req.Limit)
	if err != nil {
		writeErr(w, http.StatusUnprocessableEntity, err)
		return
	}
	running := res.Running
	out := CheckResult{
		Config: cfg.File, ConfigHash: cfg.Hash, RunningConfig: running.File, RunningHash: running.Hash,
		Changes: res.Changes.String(), Deferred: res.Deferred, Checked: res.Checked, Limit: req.Limit,
		Totals:    CheckTotals{WouldFilter: res.NumFilter, WouldAccept: res.NumAccept, ReasonsChanged: res.NumReasons, WouldWithdraw: res.NumWithdraw},
		RPKINotes: res.RPKINotes,
	}
	conv := func(cs []routeserver.VerdictChange) []CheckRoute {
		l := make([]CheckRoute, 0, len(cs))
		for _, c := range cs {
			l = append(l, MakeCheckRoute(c))
		}
		return l
	}
	out.WouldFilter, out.WouldAccept, out.ReasonsChanged, out.WouldWithdraw = conv(res.Filter), conv(res.Accept), conv(res.Reasons), conv(res.Withdraw)
	writeJSON(w, http.StatusOK, out)
}

type messageBody struct {
	Message string `json:"message"`
	Wait    string `json:"wait"`
}

func readBody(r *http.Request) (messageBody, error) {
	var b messageBody
	if r.ContentLength == 0 {
		return b, nil
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, fmt.Errorf("request body: want JSON like {\"message\": \"maintenance until 02:00\"}: %w", err)
	}
	return b, nil
}

func (a *API) shutdown(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	if len(b.Message) > 255 {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("message is %d octets; RFC 9003 allows at most 255", len(b.Message)))
		return
	}
	if err := a.srv.ShutdownMember(r.PathValue("member"), b.Message); err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": "shut down"})
}

func (a *API) enable(w http.ResponseWriter, r *http.Request) {
	if err := a.srv.EnableMember(r.PathValue("member")); err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": "enabled"})
}

func (a *API) clear(w http.ResponseWriter, r *http.Request) {
	dir := r.URL.Query().Get("direction")
	if dir == "" {
		dir = "in"
	}
	res, err := a.srv.ClearMember(r.PathValue("member"), dir)
	if err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	out := ClearResult{Member: r.PathValue("member"), Direction: dir, Sessions: []ClearSession{}}
	done := 0
	for _, cs := range res {
		out.Sessions = append(out.Sessions, ClearSession{Neighbor: cs.Neighbor, State: cs.State,
			Families: append([]string{}, cs.Families...), Notes: cs.Notes})
		if cs.Done() {
			done++
		}
	}
	what := "ROUTE-REFRESH sent"
	if dir == "out" {
		what = "routes resent"
	}
	out.Result = fmt.Sprintf("soft clear %s: %s on %d of %d sessions", dir, what, done, len(res))
	writeJSON(w, http.StatusOK, out)
}

// maintenanceStart is POST /v1/maintenance/start (and POST
// /v1/maintenance, its first name).
func (a *API) maintenanceStart(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	wait := 5 * time.Minute
	if b.Wait != "" {
		if wait, err = conf.ParseDuration(b.Wait); err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("wait: %w", err))
			return
		}
		if wait < 0 {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("wait %q: want a duration of 0s or more, e.g. 5m", b.Wait))
			return
		}
	}
	if len(b.Message) > 255 {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("message is %d octets; RFC 9003 allows at most 255", len(b.Message)))
		return
	}
	if b.Message == "" {
		b.Message = "route server maintenance"
	}
	st, err := a.srv.StartMaintenance(b.Message, wait)
	if err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	out := MakeMaintenance(st)
	out.Result = fmt.Sprintf("GRACEFUL_SHUTDOWN sent on every route to %d sessions; sessions close in %v (at %s)",
		len(st.Sessions), wait, st.CloseAt.Format(time.RFC3339))
	writeJSON(w, http.StatusOK, out)
}

// maintenanceStatus is GET /v1/maintenance.
func (a *API) maintenanceStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, MakeMaintenance(a.srv.MaintenanceStatus()))
}

// maintenanceStop is POST /v1/maintenance/stop.
func (a *API) maintenanceStop(w http.ResponseWriter, r *http.Request) {
	res, err := a.srv.StopMaintenance()
	if err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	out := MakeMaintenance(a.srv.MaintenanceStatus())
	out.Result = res
	writeJSON(w, http.StatusOK, out)
}

// restart asks for a planned restart (fedrs restart --graceful).
func (a *API) restart(w http.ResponseWriter, r *http.Request) {
	if a.opts.Restart == nil {
		writeErr(w, http.StatusConflict, errors.New("this route server cannot restart gracefully (it was not started by fedrs run)"))
		return
	}
	res, err := a.opts.Restart()
	if err != nil {
		writeErr(w, http.StatusConflict, fmt.Errorf("graceful restart refused, nothing changed: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}
