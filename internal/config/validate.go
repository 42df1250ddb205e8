package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

func validateDomain(key, d string) error {
	if d == "" {
		return fmt.Errorf("%s: missing", key)
	}
	if strings.ContainsAny(d, "@/ \t") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || len(d) > 253 {
		return fmt.Errorf("%s: %q is not a domain name", key, d)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%s: %q is not a domain name", key, d)
		}
	}
	return nil
}

// validateHostPort accepts "host:port" with a literal IP or a name; an empty
// host is accepted only when allowAny, meaning every interface.
func validateHostPort(key, v string, allowAny bool) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%s: %q is not host:port (%v)", key, v, err)
	}
	if host == "" && !allowAny {
		return fmt.Errorf("%s: %q has no host", key, v)
	}
	if err := validatePort(port); err != nil {
		return fmt.Errorf("%s: %q: %w", key, v, err)
	}
	if host != "" && !isIP(host) {
		if err := validateDomain(key, host); err != nil {
			return fmt.Errorf("%s: %q: host is neither an IP address nor a domain name", key, v)
		}
	}
	return nil
}

// validateHostPortOptional accepts "host" or "host:port".
func validateHostPortOptional(key, v string) error {
	if _, _, err := net.SplitHostPort(v); err == nil {
		return validateHostPort(key, v, false)
	}
	h := strings.Trim(v, "[]")
	if isIP(h) {
		return nil
	}
	if err := validateDomain(key, h); err != nil {
		return fmt.Errorf("%s: %q is neither host nor host:port", key, v)
	}
	return nil
}

func validatePort(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q out of range 1-65535", p)
	}
	return nil
}

func isIP(h string) bool {
	_, err := netip.ParseAddr(h)
	return err == nil
}

func bindsAll(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsUnspecified()
}

func positive(key string, d Duration, min time.Duration) error {
	if d.Duration <= 0 || d.Duration < min {
		if min > 0 {
			return fmt.Errorf("%s: %s is too small (minimum %s)", key, d.Duration, min)
		}
		return fmt.Errorf("%s: must be positive, got %s", key, d.Duration)
	}
	return nil
}

func ordered(kmin string, min Duration, kmax string, max Duration) error {
	if min.Duration <= 0 {
		return fmt.Errorf("%s: must be positive, got %s", kmin, min.Duration)
	}
	if max.Duration < min.Duration {
		return fmt.Errorf("%s (%s) must not be below %s (%s)", kmax, max.Duration, kmin, min.Duration)
	}
	return nil
}

func oneOf(key, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%s: %q is not one of %s", key, v, strings.Join(allowed, ", "))
}
