// Package rtr encodes and decodes the PDUs of the RPKI-to-Router protocol:
// RFC 6810 (version 0), RFC 8210 (version 1) and the ASPA PDU of
// draft-ietf-sidrops-8210bis (version 2, as stayrtr implements -10).
//
// gobgp's pkg/packet/rtr only knows version 0 (End of Data without the
// refresh, retry and expire intervals, no Router Key or ASPA PDU), so fedrs
// has its own codec. Decoding is strict: a PDU whose length does not fit its
// type and version, or an unknown type, is an *Error carrying the Error
// Report code the receiver should send.
package rtr
