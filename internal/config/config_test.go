package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimal = `
[component]
domain = "sip.example.net"
secret = "s3cret"
`

func TestParseMinimalUsesDefaults(t *testing.T) {
	t.Setenv("FARGO_COMPONENT_SECRET", "")
	cfg, err := Parse(minimal, "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Component.Server != "127.0.0.1:5347" || cfg.SIP.RegisterExpiry.Duration != time.Hour || cfg.Store.Driver != "sqlite" {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
}

func TestExampleFileIsValid(t *testing.T) {
	t.Setenv("FARGO_COMPONENT_SECRET", "")
	if _, err := Load(filepath.Join("..", "..", "examples", "fargo.toml")); err != nil {
		t.Fatalf("examples/fargo.toml: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Setenv("FARGO_COMPONENT_SECRET", "")
	cases := []struct {
		name, text, want string
	}{
		{"unknown key", minimal + "\n[sip]\nlisten_port = 5060\n", "unknown key(s): sip.listen_port"},
		{"unknown section", minimal + "\n[sipp]\nlisten = \"x\"\n", "unknown key(s): sipp"},
		{"missing secret", "[component]\ndomain = \"sip.example.net\"\n", "component.secret: missing"},
		{"missing domain", "[component]\nsecret = \"x\"\n", "component.domain: missing"},
		{"bad domain", "[component]\ndomain = \"a@b\"\nsecret = \"x\"\n", "not a domain name"},
		{"bad server address", minimal + "server = \"localhost\"\n", "component.server: \"localhost\" is not host:port"},
		{"bad port", strings.Replace(minimal, "secret", "server = \"127.0.0.1:99999\"\nsecret", 1), "out of range"},
		{"bad sip listen", minimal + "\n[sip]\nlisten = \"nope\"\n", "sip.listen"},
		{"contact host needed", minimal + "\n[sip]\nlisten = \"0.0.0.0:5060\"\n", "sip.contact_host: required"},
		{"bad duration", minimal + "\n[sip]\nregister_expiry = \"forever\"\n", "invalid duration"},
		{"expiry too short", minimal + "\n[sip]\nregister_expiry = \"5s\"\n", "sip.register_expiry"},
		{"retry order", minimal + "\n[sip]\nretry_min = \"10m\"\nretry_max = \"1m\"\n", "sip.retry_max"},
		{"bad driver", minimal + "\n[store]\ndriver = \"mysql\"\n", "store.driver"},
		{"bad log level", minimal + "\n[log]\nlevel = \"loud\"\n", "log.level"},
		{"bad allowed domain", minimal + "\n[registration]\nallowed_domains = [\"\"]\n", "registration.allowed_domains[0]"},
		{"toml syntax", "[component\n", "test.toml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.text, "test.toml")
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestSecretFromEnvAndFile(t *testing.T) {
	t.Setenv("FARGO_COMPONENT_SECRET", "from-env")
	cfg, err := Parse("[component]\ndomain = \"sip.example.net\"\n", "t")
	if err != nil || cfg.Component.Secret != "from-env" {
		t.Fatalf("env secret: %v %q", err, cfg.Component.Secret)
	}
	t.Setenv("FARGO_COMPONENT_SECRET", "")
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = Parse("[component]\ndomain = \"sip.example.net\"\nsecret_file = \""+p+"\"\n", "t")
	if err != nil || cfg.Component.Secret != "from-file" {
		t.Fatalf("file secret: %v %q", err, cfg.Component.Secret)
	}
}

func TestMediaValidation(t *testing.T) {
	base := "[component]\ndomain = \"sip.example.net\"\nsecret = \"s\"\n"
	for _, tc := range []struct {
		name, toml, want string
	}{
		{"bad mode", "[media]\nmode = \"sometimes\"\n", "media.mode"},
		{"bind not an IP", "[media]\nbind = \"example.net\"\n", "media.bind"},
		{"wildcard bind needs announce", "[media]\nbind = \"0.0.0.0\"\n", "media.announce_sip: required"},
		{"range too small", "[media]\nport_min = 40000\nport_max = 40001\n", "needs at least 4 ports"},
		{"privileged ports", "[media]\nport_min = 80\nport_max = 90\n", "within 1024..65535"},
		{"max relayed", "[media]\nmax_relayed = 0\n", "media.max_relayed"},
		{"idle timeout", "[media]\nidle_timeout = \"10ms\"\n", "media.idle_timeout"},
		{"kernel forwarding", "[media]\nkernel_forwarding = \"yes\"\n", "media.kernel_forwarding"},
	} {
		_, err := Parse(base+tc.toml, "t")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	cfg, err := Parse(base+"[media]\nbind = \"0.0.0.0\"\nannounce_sip = \"203.0.113.10\"\n", "t")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Media.AnnouncedXMPP().String(); got != "203.0.113.10" {
		t.Errorf("announce_xmpp defaults to announce_sip: got %s", got)
	}
}
