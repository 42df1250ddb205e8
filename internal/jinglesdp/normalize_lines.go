package jinglesdp

import (
	"strconv"
	"strings"
)

// Validators of the lines normalize rewrites: each returns the line value
// in the exact form pion/sdp accepts, or false to drop the line.

// fields splits like pion/sdp does, on spaces and tabs only: splitting on
// other Unicode spaces would cut a token pion/sdp reads as one.
func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' })
}

// origin validates "user id version IN IP4|IP6 address".
func origin(v string) (string, bool) {
	f := fields(v)
	if len(f) != 6 || f[3] != "IN" || (f[4] != "IP4" && f[4] != "IP6") {
		return "", false
	}
	for _, num := range f[1:3] {
		if _, err := strconv.ParseUint(num, 10, 64); err != nil {
			return "", false
		}
	}
	return strings.Join(f, " "), true
}

// connection validates "IN IP4|IP6 address".
func connection(v string) (string, bool) {
	f := fields(v)
	if len(f) != 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
		return "", false
	}
	return strings.Join(f, " "), true
}

// bandwidth validates "type:number" with a type pion/sdp knows.
func bandwidth(v string) (string, bool) {
	typ, num, ok := strings.Cut(v, ":")
	if !ok || !knownBandwidth(strings.TrimPrefix(typ, "X-")) && !strings.HasPrefix(typ, "X-") {
		return "", false
	}
	if _, err := strconv.ParseUint(num, 10, 64); err != nil {
		return "", false
	}
	return v, true
}

func knownBandwidth(t string) bool {
	switch t {
	case "CT", "AS", "TIAS", "RS", "RR":
		return true
	}
	return false
}

// timing validates "start stop".
func timing(v string) (string, bool) {
	f := fields(v)
	if len(f) != 2 {
		return "", false
	}
	for _, num := range f {
		if _, err := strconv.ParseUint(num, 10, 64); err != nil {
			return "", false
		}
	}
	return strings.Join(f, " "), true
}

// port parses an m-line port, with or without a "/count" suffix.
func port(s string) (int, error) {
	p, count, hasCount := strings.Cut(s, "/")
	if hasCount {
		if _, err := strconv.Atoi(count); err != nil {
			return 0, err
		}
	}
	n, err := strconv.ParseUint(p, 10, 16)
	return int(n), err
}
