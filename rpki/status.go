package rpki

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// SourceStatus describes one source of the Manager.
type SourceStatus struct {
	// Kind is "rtr", "file", "slurm" or "registry".
	Kind string `json:"kind"`
	// Name is the cache address or the file path.
	Name       string `json:"name"`
	Preference int    `json:"preference,omitempty"`
	// State: for caches one of the State* constants; for files "loaded",
	// "error" (the previous data, if any, stays in force) or "missing".
	State string `json:"state"`
	// Selected is true for the one cache whose data is used.
	Selected  bool   `json:"selected,omitempty"`
	Version   int    `json:"version,omitempty"`
	SessionID uint16 `json:"session_id,omitempty"`
	Serial    uint32 `json:"serial,omitempty"`
	VRPs      int    `json:"vrps"`
	ASPAs     int    `json:"aspas"`
	// LastUpdate is when the data last changed or synchronised;
	// AgeSeconds is the time since then when the status was taken.
	LastUpdate    time.Time     `json:"last_update,omitzero"`
	AgeSeconds    float64       `json:"age_seconds,omitempty"`
	LastError     string        `json:"last_error,omitempty"`
	LastErrorTime time.Time     `json:"last_error_time,omitzero"`
	Refresh       time.Duration `json:"refresh_ns,omitempty"`
	Retry         time.Duration `json:"retry_ns,omitempty"`
	Expire        time.Duration `json:"expire_ns,omitempty"`
	// ExpiresAt is when an RTR cache's data stops being used unless it
	// synchronises again.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Status is what `fedrs rpki status` shows: the published data (serial,
// when it last changed, and the totals: distinct VRPs per family and
// customer ASes with an ASPA) and every source with its own counts.
type Status struct {
	// Time is when the status was taken; ages are relative to it.
	Time    time.Time      `json:"time"`
	Serial  uint32         `json:"serial"`
	Updated time.Time      `json:"updated"`
	VRPsV4  int            `json:"vrps_v4"`
	VRPsV6  int            `json:"vrps_v6"`
	ASPAs   int            `json:"aspas"`
	Sources []SourceStatus `json:"sources"`
}

// Status returns the status of the published data and of every source.
func (m *Manager) Status() Status {
	s := m.Snapshot()
	st := Status{Time: m.opts.Now(), Serial: s.Serial, Updated: s.Time, ASPAs: s.ASPAs.Len(), Sources: []SourceStatus{}}
	st.VRPsV4, st.VRPsV6 = s.VRPs.Count()
	m.mu.Lock()
	caches := append([]*RTRClient(nil), m.caches...)
	for _, f := range m.files {
		st.Sources = append(st.Sources, f.status())
	}
	for _, f := range m.slurms {
		st.Sources = append(st.Sources, f.status())
	}
	if m.registry != nil {
		st.Sources = append(st.Sources, SourceStatus{Kind: "registry", Name: "federation members", State: "loaded",
			VRPs: len(m.registry.Claims()), LastUpdate: m.regTime})
	}
	m.mu.Unlock()
	cs := []SourceStatus{}
	for _, c := range caches {
		cs = append(cs, c.Status())
	}
	st.Sources = append(cs, st.Sources...)
	for i := range st.Sources {
		if t := st.Sources[i].LastUpdate; !t.IsZero() {
			st.Sources[i].AgeSeconds = st.Time.Sub(t).Seconds()
		}
	}
	return st
}

// status must be called with Manager.mu held.
func (f *fileSource) status() SourceStatus {
	s := SourceStatus{Kind: f.kind, Name: f.path, LastUpdate: f.loaded, LastError: f.lastErr, LastErrorTime: f.errTime}
	switch {
	case f.lastErr != "" && !f.seen:
		s.State = "missing"
	case f.lastErr != "":
		s.State = "error"
	case f.feed != nil || f.slurm != nil:
		s.State = "loaded"
	default:
		s.State = "pending"
	}
	if f.feed != nil {
		s.VRPs, s.ASPAs = len(f.feed.VRPs), len(f.feed.ASPAs)
	}
	if f.slurm != nil {
		s.VRPs, s.ASPAs = len(f.slurm.PrefixAssertions), len(f.slurm.ASPAAssertions)
	}
	return s
}

// WriteText writes the status as a table, ages relative to now (the
// status's own Time when now is zero).
func (st Status) WriteText(w io.Writer, now time.Time) error {
	if now.IsZero() {
		now = st.Time
	}
	fmt.Fprintf(w, "serial %d, updated %s ago: %d IPv4 VRPs, %d IPv6 VRPs, %d ASPAs\n\n",
		st.Serial, age(now, st.Updated), st.VRPsV4, st.VRPsV6, st.ASPAs)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSOURCE\tSTATE\tSERIAL\tVRPS\tASPAS\tUPDATED\tERROR")
	for _, s := range st.Sources {
		state := s.State
		if s.Selected {
			state += " (in use)"
		}
		if s.Kind == "rtr" {
			state = fmt.Sprintf("%s v%d pref %d", state, s.Version, s.Preference)
		}
		serial := "-"
		if s.Kind == "rtr" && !s.LastUpdate.IsZero() {
			serial = fmt.Sprintf("%d/%d", s.SessionID, s.Serial)
		}
		upd := "never"
		if !s.LastUpdate.IsZero() {
			upd = age(now, s.LastUpdate) + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", s.Kind, s.Name, state, serial, s.VRPs, s.ASPAs, upd, s.LastError)
	}
	return tw.Flush()
}

func age(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Second).String()
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(v)
}
