package demo

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// checkPorts reports the first of the demo's ports someone else holds on
// 127.0.0.1, naming what the demo needs it for.
func checkPorts(c Config) error {
	var errs []error
	for _, p := range c.ports() {
		if err := free(p); err != nil {
			errs = append(errs, fmt.Errorf("port %d (%s) is in use: %w", p.port, p.what, err))
			if len(errs) == 3 {
				break
			}
		}
	}
	return errors.Join(errs...)
}

// free binds and releases the port: the only reliable "is it free" test.
func free(p port) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port))
	if p.tcp {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		_ = ln.Close()
	}
	if p.udp {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		_ = pc.Close()
	}
	return nil
}
