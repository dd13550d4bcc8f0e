package conf

import "testing"

func TestLineIndex(t *testing.T) {
	src := `# comment [not.a.table]
title = "x" # key = 1
[server]
asn = 1
"quoted.key" = 2
motd = """
[fake]
line = 3
"""
raw = '''
[[member]]
'''
after = 4

[[member]]
name = "a"
prefixes = [
  "10.0.0.0/8",   # first, ] and , in a comment
  "10.1.0.0/16",

  "10.2.0.0/16 le 24",
]
max_prefixes = { ipv4 = 1, ipv6 = 2, nested = { deep = 3 } }
policy.checks.rpki = "tag"

[member.policy]
preset = "ixp"

[[member]]
name = "b"
neighbors = ["192.0.2.1",
  "192.0.2.2"]

[[rpki.cache]]
address = "x"
[[rpki.cache]]
address = "y"

[a . "b.c" . d]
e = 5
`
	idx := buildLineIndex(src)
	cases := map[string]int{
		"title":                         2,
		"server":                        3,
		"server.asn":                    4,
		"server.quoted.key":             5,
		"server.motd":                   6,
		"server.raw":                    10,
		"server.after":                  13,
		"member":                        15,
		"member.0":                      15,
		"member.0.name":                 16,
		"member.0.prefixes":             17,
		"member.0.prefixes.0":           18,
		"member.0.prefixes.1":           19,
		"member.0.prefixes.2":           21,
		"member.0.max_prefixes":         23,
		"member.0.max_prefixes.ipv6":    23,
		"member.0.max_prefixes.nested":  23,
		"member.0.policy.checks.rpki":   24,
		"member.0.policy.preset":        27,
		"member.1":                      29,
		"member.1.neighbors.1":          32,
		"rpki.cache.0.address":          35,
		"rpki.cache.1.address":          37,
		"a.b.c.d.e":                     40,
		"member.1.name.missing.subkey":  30, // falls back to the nearest known parent
		"member.1.asn":                  29, // absent key: the table header
		"nothing":                       0,
		"member.0.prefixes.7":           17,
		"member.0.max_prefixes.ipv4":    23,
		"member.0.max_prefixes.nested.": 23,
	}
	for k, want := range cases {
		if got := idx.line(k); got != want {
			t.Errorf("line(%q) = %d, want %d", k, got, want)
		}
	}
	if _, ok := idx.lines["fake"]; ok {
		t.Error("a table header inside a multi-line string was indexed")
	}
}
