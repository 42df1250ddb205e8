// Package archtest holds the test that enforces the package map and import
// rules written down in docs/ARCHITECTURE.md. It has no code of its own.
package archtest
