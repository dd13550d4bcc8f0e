// Package conf holds the fedrs.toml schema: its defaults, its validation
// (every error names the file, line and field), and the diff between two
// configurations that a reload applies.
package conf
