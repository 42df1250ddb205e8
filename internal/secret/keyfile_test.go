package secret

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(0xf0 + i) // high bytes so std and URL alphabets differ
	}
	for _, tc := range []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "std", in: base64.StdEncoding.EncodeToString(key)},
		{name: "std with newline", in: base64.StdEncoding.EncodeToString(key) + "\n"},
		{name: "raw std", in: base64.RawStdEncoding.EncodeToString(key)},
		{name: "url", in: base64.URLEncoding.EncodeToString(key)},
		{name: "raw url", in: base64.RawURLEncoding.EncodeToString(key)},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "blank", in: "  \n", wantErr: "empty"},
		{name: "not base64", in: "this is not base64!!", wantErr: "not valid base64"},
		{name: "short", in: base64.StdEncoding.EncodeToString(key[:16]), wantErr: "secret key must be 32 bytes base64, got 16 bytes"},
		{name: "long", in: base64.StdEncoding.EncodeToString(append(bytes.Clone(key), 0)), wantErr: "got 33 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKey(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseKey error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if !bytes.Equal(got, key) {
				t.Errorf("ParseKey = %x, want %x", got, key)
			}
		})
	}
}

// Errors must not echo key material: a config typo must not put a
// near-correct key into the logs.
func TestParseKeyErrorHidesInput(t *testing.T) {
	in := base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))
	_, err := ParseKey(in)
	if err == nil {
		t.Fatal("ParseKey accepted a 16-byte key")
	}
	if strings.Contains(err.Error(), in) {
		t.Errorf("error %q contains the key", err)
	}
}

func TestLoadOrCreateKeyCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub", "dir") // parent does not exist yet
	path := filepath.Join(dir, "secret.key")

	key, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateKey: %v", err)
	}
	if len(key) != KeySize {
		t.Fatalf("len(key) = %d, want %d", len(key), KeySize)
	}
	if bytes.Equal(key, make([]byte, KeySize)) {
		t.Fatal("key is all zero")
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("key file mode = %04o, want 0600", got)
		}
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := di.Mode().Perm(); got != 0o700 {
			t.Errorf("key dir mode = %04o, want 0700", got)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(key) + "\n"; string(b) != want {
		t.Errorf("key file content does not match the returned key")
	}

	// Second call loads the same key instead of making a new one.
	again, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateKey (existing): %v", err)
	}
	if !bytes.Equal(again, key) {
		t.Error("second LoadOrCreateKey returned a different key")
	}
}

func TestLoadOrCreateKeyExisting(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes on Windows")
	}
	key := bytes.Repeat([]byte{7}, KeySize)
	good := base64.StdEncoding.EncodeToString(key)
	for _, tc := range []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr string
	}{
		{name: "0600 with newline", content: good + "\n", mode: 0o600},
		{name: "0400 no newline", content: good, mode: 0o400},
		{name: "crlf", content: good + "\r\n", mode: 0o600},
		{name: "group readable", content: good + "\n", mode: 0o640, wantErr: "mode 0640"},
		{name: "world readable", content: good + "\n", mode: 0o644, wantErr: "chmod 600"},
		{name: "group writable", content: good + "\n", mode: 0o620, wantErr: "mode 0620"},
		{name: "empty", content: "", mode: 0o600, wantErr: "empty"},
		{name: "short", content: base64.StdEncoding.EncodeToString(key[:31]), mode: 0o600, wantErr: "got 31 bytes"},
		{name: "garbage", content: "not a key\n", mode: 0o600, wantErr: "not valid base64"},
		{name: "huge", content: strings.Repeat("A", 5000), mode: 0o600, wantErr: "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secret.key")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			// Chmod after writing: WriteFile's mode is filtered by umask.
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			got, err := LoadOrCreateKey(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LoadOrCreateKey error = %v, want it to contain %q", err, tc.wantErr)
				}
				// A refused file must be left alone, never replaced.
				b, _ := os.ReadFile(path)
				if string(b) != tc.content {
					t.Error("refused key file was modified")
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadOrCreateKey: %v", err)
			}
			if !bytes.Equal(got, key) {
				t.Errorf("key = %x, want %x", got, key)
			}
		})
	}
}

func TestLoadOrCreateKeyNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("LoadOrCreateKey(dir) error = %v, want not a regular file", err)
	}
}

// A created key must work with NewSealer, end to end.
func TestLoadOrCreateKeySeals(t *testing.T) {
	key, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "k"))
	if err != nil {
		t.Fatal(err)
	}
	s := mustSealer(t, key)
	sealed, err := s.Seal([]byte("pw"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(sealed, []byte("ad")); err != nil {
		t.Fatal(err)
	}
}
