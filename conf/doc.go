// Package conf holds the fedrs.toml schema: its defaults, its validation
// (every error names the file, line and field), and the diff between two
// configurations that a reload applies.
//
// Load (or Parse) reads a file, fills in every default, reads the files it
// names (MD5 password files, prefix lists, bogon lists, the control token
// file) and validates the result. Problems come back together as a *Error,
// one Issue per problem:
//
//	fedrs.toml:23: member[2] (nhs-coastal).asn: 0 is not a valid ASN; use 1-4294967295 (private: 64512-65534, 4200000000-4294967294)
//
// Array entries count from 1 in messages, as a person reading the file
// counts them. Unknown keys are errors, with a suggestion when a known key
// is close.
//
// After Load, every member's Effective policy is resolved: the global
// [policy] overlaid key by key with the keys its [member.policy] sets,
// defaults from the effective preset for keys set nowhere, bogon lists
// resolved, and every check's action filled in. The policy engine reads
// Member.Effective (or Config.MemberPolicy).
//
// A Config built in code goes through ApplyDefaults and Validate instead.
//
// Diff compares two loaded configurations for a reload: members added,
// removed and changed (with whether their sessions must be reset), and
// server settings that need a restart.
//
// Validation is in validate.go (Validate and the checks every section
// shares), validateglobal.go ([server], [history], [rpki], [policy]),
// validatemembers.go ([[group]], [[member]], the prefix registry) and
// monitoring.go ([bmp], [mrt]).
package conf
