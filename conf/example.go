package conf

import _ "embed"

// Example is the example configuration (example.toml): a six-member
// federation of three NHS trusts and three councils. `fedrs demo` runs it
// and the README documents it.
//
//go:embed example.toml
var Example []byte

// LoadExample parses Example. It reads no files.
func LoadExample() (*Config, error) {
	return Parse(Example, "example.toml")
}
