package conf

import (
	"slices"
	"testing"
)

// TestPrefixListPacking: a packed list gives back every entry (IPv4
// first, order kept within a family) with its ge/le, and compares equal
// only to the same entries.
func TestPrefixListPacking(t *testing.T) {
	in, err := ParsePrefixList([]byte("2001:db8::/32 le 48\n10.0.0.0/8 ge 16 le 24\n192.0.2.0/24\n2001:db8:1::/48\n0.0.0.0/0 le 32\n"), "l.txt")
	if err != nil {
		t.Fatal(err)
	}
	l := NewPrefixList(in)
	if l.Len() != 5 {
		t.Fatalf("Len %d", l.Len())
	}
	var got []string
	for r := range l.All() {
		got = append(got, r.String())
	}
	want := []string{"10.0.0.0/8 ge 16 le 24", "192.0.2.0/24", "0.0.0.0/0 le 32", "2001:db8::/32 le 48", "2001:db8:1::/48"}
	if !slices.Equal(got, want) {
		t.Errorf("entries %q, want %q", got, want)
	}
	if !l.Equal(NewPrefixList(in)) {
		t.Error("a list differs from itself")
	}
	in[1].LE = 23
	if l.Equal(NewPrefixList(in)) {
		t.Error("a changed le compares equal")
	}
	if l.Equal(NewPrefixList(in[:4])) || (PrefixList{}).Len() != 0 {
		t.Error("lengths")
	}
}
