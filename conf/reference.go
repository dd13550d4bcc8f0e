package conf

import _ "embed"

// Reference is the configuration reference (conf/README.md, Markdown):
// every key with its type, default and meaning. `fedrs man` renders it as
// fedrs.toml(5).
//
//go:embed README.md
var Reference string
