// Package config owns fargo's TOML configuration: the file format, defaults,
// environment overrides and validation with errors that name the offending
// key.
//
// Tier 3 (composition). It imports the standard library and
// github.com/BurntSushi/toml only; it knows nothing of the packages it
// configures, which receive plain values from internal/app.
package config
