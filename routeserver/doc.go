// Package routeserver runs the route server: it ties the BGP sessions to the
// RIB and the policy engine, serves the control API, and feeds the history
// writer.
package routeserver
