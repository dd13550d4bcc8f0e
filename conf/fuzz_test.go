package conf

import "testing"

// FuzzParse checks that no input makes Parse panic, and that an input it
// accepts also passes Validate.
func FuzzParse(f *testing.F) {
	f.Add(Example)
	for _, tc := range brokenConfigs {
		f.Add(doc(tc.toml))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.toml")
		if err != nil {
			return
		}
		if err := Validate(c); err != nil {
			t.Fatalf("Parse accepted what Validate rejects:\n%v", err)
		}
		_ = Diff(c, c)
	})
}
