package secret

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// maxKeyFileSize bounds what LoadOrCreateKey reads: a key file is 45 bytes,
// anything much bigger is the wrong file.
const maxKeyFileSize = 4096

// ParseKey decodes a sealing key given as base64 text, as in the config
// file. Standard and URL alphabets, padded or not, are accepted; surrounding
// whitespace is ignored. Errors never include the key material.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("secret: key is empty; want 32 bytes base64")
	}
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding,
	} {
		key, err = enc.DecodeString(s)
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, errors.New("secret: key is not valid base64; want 32 bytes base64 (e.g. `openssl rand -base64 32`)")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key must be %d bytes base64, got %d bytes", KeySize, len(key))
	}
	return key, nil
}

// LoadOrCreateKey returns the sealing key stored in the file at path.
//
// If the file exists it must hold the base64 of KeySize bytes (a trailing
// newline is fine) and must not be accessible by group or others: a key
// anyone on the host can read protects nothing, so a loose mode is refused
// rather than silently fixed, and the operator decides.
//
// If the file does not exist, a fresh random key is written to it with mode
// 0600, creating the parent directory with mode 0700 if needed. The file is
// created with O_EXCL so that we never overwrite a key some other process
// wrote meanwhile: losing the key makes every sealed password unreadable.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key, err = createKey(path)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it between our read and our create.
		return loadKey(path)
	}
	return key, err
}

func loadKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("secret: key file: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the path, so the mode we check is the mode of
	// what we read.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secret: key file %s is not a regular file", path)
	}
	// Windows has no Unix permission bits; os reports 0666 or 0444 there.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret: key file %s has mode %04o, which lets group or others read it; run chmod 600 %s",
			path, fi.Mode().Perm(), path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("secret: key file %s: %w", path, err)
	}
	if len(b) > maxKeyFileSize {
		return nil, fmt.Errorf("secret: key file %s is larger than %d bytes; is it the right file?", path, maxKeyFileSize)
	}
	key, err := ParseKey(string(bytes.TrimSpace(b)))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

func createKey(path string) (key []byte, err error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("secret: key file directory: %w", err)
		}
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("secret: generate key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, fmt.Errorf("secret: create key file: %w", err)
	}
	defer func() {
		if err != nil {
			// A half-written key file would be refused (or worse, read as
			// a different key) on the next start; remove it.
			f.Close()
			os.Remove(path)
		}
	}()
	if _, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, fmt.Errorf("secret: write key file: %w", err)
	}
	// The key must be on disk before anything is sealed with it.
	if err = f.Sync(); err != nil {
		return nil, fmt.Errorf("secret: sync key file: %w", err)
	}
	if err = f.Close(); err != nil {
		return nil, fmt.Errorf("secret: close key file: %w", err)
	}
	return key, nil
}
