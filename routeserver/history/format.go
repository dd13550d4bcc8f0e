package history

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// Table is a result as rows of text, for the table and CSV outputs.
type Table struct {
	Columns []string
	Rows    [][]string
	// CSV holds the rows with machine-readable times (RFC 3339, µs) for
	// CSV; nil means Rows.
	CSV [][]string
}

// WriteText writes an aligned table.
func (t *Table) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.Columns, "\t"))
	for _, r := range t.Rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// WriteCSV writes RFC 4180 CSV with a header row.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = strings.ToLower(c)
	}
	cw.Write(cols)
	rows := t.CSV
	if rows == nil {
		rows = t.Rows
	}
	for _, r := range rows {
		cw.Write(r)
	}
	cw.Flush()
	return cw.Error()
}

// ShowTime formats a time for the table output (local time, ms).
func ShowTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05.000 MST")
}

func showTimePtr(t *time.Time, open string) string {
	if t == nil {
		return open
	}
	return ShowTime(*t)
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

// Verdict is "accepted" or "filtered: reasons", with tagged reasons.
func (v *Version) Verdict() string {
	s := "accepted"
	if !v.Accepted {
		s = "filtered: " + strings.Join(v.Filtered, ", ")
	}
	if len(v.Tagged) > 0 {
		s += " (tagged: " + strings.Join(v.Tagged, ", ") + ")"
	}
	return s
}

func (v *Version) exportsText() string {
	if !v.Accepted {
		return "-"
	}
	if len(v.Exports) == 0 {
		return "nobody"
	}
	if len(v.Exports) == 1 && v.Exports[0].From.Equal(v.From) && sameEnd(v.Exports[0].To, v.To) {
		return membersText(&v.Exports[0])
	}
	var parts []string
	for i := range v.Exports {
		e := &v.Exports[i]
		parts = append(parts, fmt.Sprintf("[%s … %s] %s", ShowTime(e.From), showTimePtr(e.To, "now"), membersText(e)))
	}
	return strings.Join(parts, "; ")
}

// membersText lists an interval's members, with a note for those whose
// exposure began inside a session's initial transfer.
func membersText(e *Export) string {
	s := strings.Join(e.Members, " ")
	for _, t := range e.Transfers {
		s += " (" + t.Text() + ")"
	}
	return s
}

func sameEnd(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func (v *Version) causeText() string {
	s := v.Cause
	if v.To != nil {
		s += " → " + v.EndCause
	}
	if v.Recovered {
		s += " (recovered)"
	}
	return s
}

// VersionsTable shows route versions as a timeline.
func VersionsTable(vs []Version) Table {
	t := Table{Columns: []string{"FROM", "TO", "PREFIX", "MEMBER", "NEIGHBOR", "PATH_ID", "VERDICT", "AS_PATH", "NEXT_HOP", "MED", "COMMUNITIES", "CAUSE", "EXPORTED_TO"}}
	for i := range vs {
		v := &vs[i]
		row := []string{ShowTime(v.From), showTimePtr(v.To, "(held)"), v.Prefix.String(), v.Member, v.Neighbor,
			strconv.FormatUint(uint64(v.PathID), 10), v.Verdict(), v.ASPath, v.NextHop, medText(v.MED), commText(v), v.causeText(), v.exportsText()}
		t.Rows = append(t.Rows, row)
		c := slicesClone(row)
		c[0], c[1] = csvTime(&v.From), csvTime(v.To)
		t.CSV = append(t.CSV, c)
	}
	return t
}

// RIBTable shows the versions held at one instant (At).
func RIBTable(vs []Version) Table {
	t := Table{Columns: []string{"PREFIX", "MEMBER", "NEIGHBOR", "PATH_ID", "VERDICT", "AS_PATH", "NEXT_HOP", "MED", "COMMUNITIES", "SINCE", "EXPORTED_TO"}}
	for i := range vs {
		v := &vs[i]
		exp := "-"
		if v.Accepted {
			exp = "nobody"
			if len(v.Exports) > 0 {
				exp = membersText(&v.Exports[0])
			}
		}
		row := []string{v.Prefix.String(), v.Member, v.Neighbor, strconv.FormatUint(uint64(v.PathID), 10), v.Verdict(), v.ASPath, v.NextHop,
			medText(v.MED), commText(v), ShowTime(v.From), exp}
		t.Rows = append(t.Rows, row)
		c := slicesClone(row)
		c[9] = csvTime(&v.From)
		t.CSV = append(t.CSV, c)
	}
	return t
}

// ExportedTable shows what one member could receive at an instant.
func ExportedTable(vs []Version) Table {
	t := Table{Columns: []string{"PREFIX", "FROM_MEMBER", "NEIGHBOR", "AS_PATH", "NEXT_HOP", "MED", "COMMUNITIES", "SINCE"}}
	for i := range vs {
		v := &vs[i]
		since := v.From
		if len(v.Exports) > 0 {
			since = v.Exports[0].From
		}
		row := []string{v.Prefix.String(), v.Member, v.Neighbor, v.ASPath, v.NextHop, medText(v.MED), commText(v), ShowTime(since)}
		t.Rows = append(t.Rows, row)
		c := slicesClone(row)
		c[7] = csvTime(&since)
		t.CSV = append(t.CSV, c)
	}
	return t
}

// SessionsTable shows sessions.
func SessionsTable(ss []Session) Table {
	t := Table{Columns: []string{"MEMBER", "NEIGHBOR", "UP", "DOWN", "PEER_AS", "HOLD", "FAMILIES", "DOWN_REASON", "SENT", "RECEIVED"}}
	for i := range ss {
		s := &ss[i]
		asn, hold := "-", "-"
		if s.PeerASN != nil {
			asn = strconv.FormatUint(uint64(*s.PeerASN), 10)
		}
		if s.HoldTime != nil {
			hold = strconv.FormatInt(*s.HoldTime, 10) + "s"
		}
		reason := s.DownReason
		if s.Recovered {
			reason += " (recovered)"
		}
		row := []string{s.Member, s.Neighbor, showTimePtr(s.Up, "?"), showTimePtr(s.Down, "(up)"), asn, hold, familiesText(s), reason, notifyText(s.Sent), notifyText(s.Received)}
		t.Rows = append(t.Rows, row)
		c := slicesClone(row)
		c[2], c[3] = csvTime(s.Up), csvTime(s.Down)
		t.CSV = append(t.CSV, c)
	}
	return t
}

// familiesText lists the families sent on a session with the end of
// each one's initial transfer (End-of-RIB).
func familiesText(s *Session) string {
	if len(s.Families) == 0 {
		return "-"
	}
	var parts []string
	for _, f := range s.Families {
		if at, ok := s.Synced[f]; ok {
			parts = append(parts, fmt.Sprintf("%s (table sent by %s)", f, ShowTime(at)))
		} else {
			parts = append(parts, f+" (table not completely sent)")
		}
	}
	return strings.Join(parts, ", ")
}

func notifyText(n *Notify) string {
	if n == nil {
		return "-"
	}
	s := fmt.Sprintf("%d/%d %s", n.Code, n.Subcode, notificationName(n.Code, n.Subcode))
	if n.Message != "" {
		s += fmt.Sprintf(" %q", n.Message)
	}
	return s
}

// notificationName names a NOTIFICATION as the session log and the
// looking glass do ("Cease/Administrative Shutdown").
func notificationName(code, sub uint8) string {
	name := bgp.CodeName(code)
	if s := bgp.SubcodeName(code, sub); s != "" {
		name += "/" + s
	}
	return name
}

func medText(m *uint32) string {
	if m == nil {
		return "-"
	}
	return strconv.FormatUint(uint64(*m), 10)
}

func commText(v *Version) string {
	all := append(append([]string(nil), v.Communities...), v.Large...)
	if len(all) == 0 {
		return "-"
	}
	return strings.Join(all, " ")
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// NoticesText writes notices as warning lines.
func NoticesText(w io.Writer, ns []Notice) {
	for _, n := range ns {
		fmt.Fprintf(w, "note: %s … %s: %s\n", ShowTime(n.From), ShowTime(n.To), n.Text)
	}
}
