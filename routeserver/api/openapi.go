package api

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the control API described in OpenAPI 3.1 (openapi.json),
// served at GET /v1/openapi.json. A test keeps it in step with the
// endpoints and the response types.
//
//go:embed openapi.json
var OpenAPI []byte

// serveOpenAPI is GET /v1/openapi.json.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(OpenAPI)
}
