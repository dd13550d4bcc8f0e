// Package history is the route server's audit trail: a SQLite database
// (modernc.org/sqlite, pure Go) of every route version received, with its
// attributes, verdict and reasons, from when to when; what each version
// was exported to, as intervals of interned member sets; sessions; config
// loads; RPKI changes; gaps; and the writer's runs, so that a crash is
// recovered and marked.
//
// Recorder writes it (it implements routeserver.Recorder); Reader answers
// the questions of `fedrs history`. The schema is in schema.go and
// README.md.
package history
