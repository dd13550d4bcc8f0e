package policy

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fedrs/fedrs/conf"
)

// The documentation and the configuration's vocabulary follow importChecks:
// these tests fail when a row is added, moved or changed and they are not.

// TestCheckNamesFollowTable: conf.CheckNames ([policy.checks] keys, and the
// list an unknown check's error gives) is the table's names in order.
func TestCheckNamesFollowTable(t *testing.T) {
	var names []string
	for i := range importChecks {
		names = append(names, importChecks[i].name)
	}
	if !slices.Equal(names, conf.CheckNames) {
		t.Errorf("conf.CheckNames = %v\nimportChecks    = %v", conf.CheckNames, names)
	}
}

// TestReasonsInRows: every reason but none is yielded by exactly one row.
func TestReasonsInRows(t *testing.T) {
	rows := map[Reason][]string{}
	for i := range importChecks {
		for _, r := range importChecks[i].reasons {
			rows[r] = append(rows[r], importChecks[i].name)
		}
	}
	for r := ReasonNone; r < numReasons; r++ {
		if n := len(rows[r]); r == ReasonNone && n > 0 || r != ReasonNone && n != 1 {
			t.Errorf("reason %s is in the rows %v", r, rows[r])
		}
	}
}

// reasonsCell is a row's reasons as the READMEs write them:
// "`prefix_too_long` (1), `prefix_too_short` (2)", or "—" for none.
func reasonsCell(c *importCheck) string {
	if len(c.reasons) == 0 {
		return "—"
	}
	var parts []string
	for _, r := range c.reasons {
		info := r.Info()
		parts = append(parts, fmt.Sprintf("`%s` (%d)", info.Name, info.Code))
	}
	return strings.Join(parts, ", ")
}

// tableRows returns the cells of the rows of the markdown table in file
// whose header line is header.
func tableRows(t *testing.T, file, header string) [][]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	start := slices.Index(lines, header)
	if start < 0 {
		t.Fatalf("%s: no table with the header %q", file, header)
	}
	var rows [][]string
	for _, l := range lines[start+2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	return rows
}

// TestPolicyREADMEChecks: policy/README.md's table of checks has a line per
// row, in order, with its name, default action ("on" for a check that
// yields no reason) and reasons with their codes.
func TestPolicyREADMEChecks(t *testing.T) {
	rows := tableRows(t, "README.md", "| # | check | default | reason (code) | a route fails when |")
	if len(rows) != numChecks {
		t.Errorf("README.md: %d checks in the table, importChecks has %d", len(rows), numChecks)
	}
	for i := range min(len(rows), numChecks) {
		c, cells := &importChecks[i], rows[i]
		def := conf.DefaultCheckAction(c.name)
		if len(c.reasons) == 0 && def != conf.ActionOff {
			def = "on"
		}
		want := []string{strconv.Itoa(i + 1), "`" + c.name + "`", def, reasonsCell(c)}
		got := slices.Clone(cells[:min(4, len(cells))])
		if len(got) > 2 {
			got[2] = strings.Trim(got[2], "*") // **tag**
		}
		if !slices.Equal(got, want) {
			t.Errorf("README.md, check %d: %q, want %q", i+1, got, want)
		}
	}
}

// TestConfREADMEChecks: conf/README.md's table of [policy.checks] has a
// line per row, in order, with its name, default action and text.
func TestConfREADMEChecks(t *testing.T) {
	rows := tableRows(t, "../conf/README.md", "| check | default | what it checks |")
	if len(rows) != numChecks {
		t.Errorf("conf/README.md: %d checks in the table, importChecks has %d", len(rows), numChecks)
	}
	for i := range min(len(rows), numChecks) {
		c := &importChecks[i]
		want := []string{"`" + c.name + "`", conf.DefaultCheckAction(c.name), c.text}
		got := slices.Clone(rows[i])
		if len(got) == 3 {
			got[2] = strings.ReplaceAll(got[2], "`", "")
		}
		if !slices.Equal(got, want) {
			t.Errorf("conf/README.md, check %d: %q, want %q", i+1, got, want)
		}
	}
}

// TestREADMEReasons: the top README's table of reasons names every reason
// with its code, in the order of the checks that yield them.
func TestREADMEReasons(t *testing.T) {
	rows := tableRows(t, "../README.md", "| reason (code) | the route fails when |")
	re := regexp.MustCompile("`([a-z_]+)` \\((\\d+)\\)")
	seen := map[Reason]bool{}
	last := -1
	for _, cells := range rows {
		for _, m := range re.FindAllStringSubmatch(cells[0], -1) {
			r, ok := ReasonByName(m[1])
			if !ok {
				t.Errorf("README.md names the reason %q, which does not exist", m[1])
				continue
			}
			if code := strconv.Itoa(int(r.Info().Code)); m[2] != code {
				t.Errorf("README.md gives %s the code %s, want %s", m[1], m[2], code)
			}
			if seen[r] {
				t.Errorf("README.md names %s twice", r)
			}
			seen[r] = true
			row := checkIndex(r.Info().Check)
			if row < last {
				t.Errorf("README.md names %s after a reason of a later check", r)
			}
			last = row
		}
	}
	for _, r := range AllReasons() {
		if !seen[r] {
			t.Errorf("README.md's table of reasons lacks %s (%d)", r, r.Info().Code)
		}
	}
}
