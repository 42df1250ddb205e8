package config

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration file.
type Config struct {
	Component    Component    `toml:"component"`
	SIP          SIP          `toml:"sip"`
	Store        Store        `toml:"store"`
	HTTP         HTTP         `toml:"http"`
	Log          Log          `toml:"log"`
	Registration Registration `toml:"registration"`
	Shutdown     Shutdown     `toml:"shutdown"`
	Calls        Calls        `toml:"calls"`
	Media        Media        `toml:"media"`
	Debug        Debug        `toml:"debug"`
}

// Media is the media relay: it joins ICE + DTLS-SRTP clients to plain RTP
// SIP phones, and phones behind NAT to anyone.
type Media struct {
	// Mode: "auto" relays only calls whose two sides cannot talk
	// directly; "relay" relays every call; "direct" never relays.
	Mode string `toml:"mode"`
	// Bind is the IP address the relay's UDP sockets bind to.
	Bind string `toml:"bind"`
	// AnnounceSIP is the address put in the SDP toward SIP (default: bind,
	// required when bind is a wildcard); AnnounceXMPP the one in the
	// candidates toward XMPP clients (default: announce_sip).
	AnnounceSIP  string `toml:"announce_sip"`
	AnnounceXMPP string `toml:"announce_xmpp"`
	PortMin      int    `toml:"port_min"`
	PortMax      int    `toml:"port_max"`
	MaxRelayed   int    `toml:"max_relayed"`
	// RelayPrivate relays, in auto mode, calls where a side announces a
	// private (RFC 1918, CGNAT, ULA) media address.
	RelayPrivate     bool     `toml:"relay_private"`
	IdleTimeout      Duration `toml:"idle_timeout"`
	HandshakeTimeout Duration `toml:"handshake_timeout"`
	// LearnWindow is how long a plain RTP side may move its media source
	// (NAT) after its first packet or a re-INVITE; later strangers are
	// dropped.
	LearnWindow Duration `toml:"learn_window"`
	// KernelForwarding: "auto" forwards settled plain RTP calls in the
	// kernel when the process may (CAP_BPF, CAP_NET_ADMIN, Linux 6.6+),
	// "on" requires it, "off" relays every packet in the process.
	KernelForwarding string `toml:"kernel_forwarding"`
}

// Calls bounds and tunes calls.
type Calls struct {
	MaxPerUser     int      `toml:"max_per_user"`
	MaxTotal       int      `toml:"max_total"`
	RingTimeout    Duration `toml:"ring_timeout"`
	ProposeTimeout Duration `toml:"propose_timeout"`
	GatherTimeout  Duration `toml:"gather_timeout"`
}

// Component is the XEP-0114 link to the XMPP server.
type Component struct {
	Domain     string `toml:"domain"`
	Server     string `toml:"server"`
	Secret     string `toml:"secret"`
	SecretFile string `toml:"secret_file"`
	// ServerDomain is the XMPP server's own domain, pinged to check that an
	// idle link is alive; empty: the component domain minus its first label.
	ServerDomain string   `toml:"server_domain"`
	IQTimeout    Duration `toml:"iq_timeout"`
	BackoffMax   Duration `toml:"reconnect_backoff_max"`
}

// SIP is the gateway's SIP user agent.
type SIP struct {
	Listen         string   `toml:"listen"`
	ContactHost    string   `toml:"contact_host"`
	UserAgent      string   `toml:"user_agent"`
	RegisterExpiry Duration `toml:"register_expiry"`
	RequestTimeout Duration `toml:"request_timeout"`
	RetryMin       Duration `toml:"retry_min"`
	RetryMax       Duration `toml:"retry_max"`
	AuthRetryMin   Duration `toml:"auth_retry_min"`
	AuthRetryMax   Duration `toml:"auth_retry_max"`
}

// Store is where state is kept.
type Store struct {
	Driver    string `toml:"driver"`
	DataDir   string `toml:"data_dir"`
	SecretKey string `toml:"secret_key"`
}

// HTTP is the operations endpoint (/metrics, /healthz).
type HTTP struct {
	Listen string `toml:"listen"`
}

// Log selects log level and format.
type Log struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// Registration governs who may register and how presence drives SIP login.
type Registration struct {
	AllowedDomains  []string `toml:"allowed_domains"`
	PresenceGrace   Duration `toml:"presence_grace"`
	OfflineConfirm  Duration `toml:"offline_confirm"`
	ValidateTimeout Duration `toml:"validate_timeout"`
}

// Shutdown governs what SIGTERM does.
type Shutdown struct {
	DrainTimeout Duration `toml:"drain_timeout"`
	Unregister   bool     `toml:"unregister"`
}

// Duration is a time.Duration written as "30s" or "1h" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. \"30s\", \"5m\", \"1h\")", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration in Go syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the configuration used for every key the file leaves out.
func Default() Config {
	return Config{
		Component: Component{
			Server:     "127.0.0.1:5347",
			IQTimeout:  Duration{30 * time.Second},
			BackoffMax: Duration{60 * time.Second},
		},
		SIP: SIP{
			Listen:         "127.0.0.1:5070",
			UserAgent:      "fargo",
			RegisterExpiry: Duration{time.Hour},
			RequestTimeout: Duration{32 * time.Second},
			RetryMin:       Duration{5 * time.Second},
			RetryMax:       Duration{5 * time.Minute},
			AuthRetryMin:   Duration{5 * time.Minute},
			AuthRetryMax:   Duration{time.Hour},
		},
		Store:        Store{Driver: "sqlite", DataDir: "/var/lib/fargo"},
		HTTP:         HTTP{Listen: "127.0.0.1:9070"},
		Log:          Log{Level: "info", Format: "text"},
		Registration: Registration{PresenceGrace: Duration{30 * time.Second}, OfflineConfirm: Duration{10 * time.Second}, ValidateTimeout: Duration{10 * time.Second}},
		Shutdown:     Shutdown{DrainTimeout: Duration{30 * time.Second}},
		Calls: Calls{MaxPerUser: 4, MaxTotal: 1000, RingTimeout: Duration{60 * time.Second},
			ProposeTimeout: Duration{30 * time.Second}, GatherTimeout: Duration{time.Second}},
		Media: Media{Mode: "auto", Bind: "127.0.0.1", PortMin: 40000, PortMax: 49999, MaxRelayed: 1000,
			RelayPrivate: true, IdleTimeout: Duration{60 * time.Second}, HandshakeTimeout: Duration{10 * time.Second},
			LearnWindow: Duration{3 * time.Second}, KernelForwarding: "auto"},
	}
}

// Load reads the file at path over the defaults, applies environment
// overrides (FARGO_COMPONENT_SECRET, FARGO_STORE_SECRET_KEY) and validates.
func Load(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(string(raw), path)
	if err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Parse decodes TOML text (name is used in messages) and validates it.
func Parse(text, name string) (Config, error) {
	cfg := Default()
	md, err := toml.Decode(text, &cfg)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	var errs []error
	if undec := md.Undecoded(); len(undec) > 0 {
		keys := make([]string, len(undec))
		for i, k := range undec {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		errs = append(errs, fmt.Errorf("unknown key(s): %s", strings.Join(keys, ", ")))
	}
	if err := cfg.applyEnv(os.LookupEnv); err != nil {
		errs = append(errs, err)
	} else if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("%s: %w", name, errors.Join(errs...))
	}
	return cfg, nil
}

func (c *Config) applyEnv(lookup func(string) (string, bool)) error {
	if v, ok := lookup("FARGO_COMPONENT_SECRET"); ok && v != "" {
		c.Component.Secret = v
	}
	if v, ok := lookup("FARGO_STORE_SECRET_KEY"); ok && v != "" {
		c.Store.SecretKey = v
	}
	if c.Component.Secret == "" && c.Component.SecretFile != "" {
		b, err := os.ReadFile(c.Component.SecretFile)
		if err != nil {
			return fmt.Errorf("component.secret_file: %w", err)
		}
		c.Component.Secret = strings.TrimSpace(string(b))
	}
	return nil
}

// Validate checks every value and reports all problems at once.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(validateDomain("component.domain", c.Component.Domain))
	add(validateHostPort("component.server", c.Component.Server, false))
	if c.Component.ServerDomain != "" {
		add(validateDomain("component.server_domain", c.Component.ServerDomain))
	}
	if c.Component.Secret == "" {
		add(errors.New("component.secret: missing (set it, component.secret_file, or FARGO_COMPONENT_SECRET): the XMPP server's component password"))
	}
	add(validateHostPort("sip.listen", c.SIP.Listen, true))
	add(c.validateContactHost())
	add(positive("sip.register_expiry", c.SIP.RegisterExpiry, 60*time.Second))
	add(positive("sip.request_timeout", c.SIP.RequestTimeout, 100*time.Millisecond))
	add(ordered("sip.retry_min", c.SIP.RetryMin, "sip.retry_max", c.SIP.RetryMax))
	add(ordered("sip.auth_retry_min", c.SIP.AuthRetryMin, "sip.auth_retry_max", c.SIP.AuthRetryMax))
	add(positive("component.iq_timeout", c.Component.IQTimeout, 100*time.Millisecond))
	add(positive("component.reconnect_backoff_max", c.Component.BackoffMax, 100*time.Millisecond))
	if c.Store.Driver != "sqlite" {
		add(fmt.Errorf("store.driver: %q is not supported (supported: \"sqlite\")", c.Store.Driver))
	}
	if c.Store.DataDir == "" {
		add(errors.New("store.data_dir: missing"))
	}
	if c.HTTP.Listen != "" {
		add(validateHostPort("http.listen", c.HTTP.Listen, false))
	}
	add(oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error"))
	add(oneOf("log.format", c.Log.Format, "text", "json"))
	for i, d := range c.Registration.AllowedDomains {
		add(validateDomain(fmt.Sprintf("registration.allowed_domains[%d]", i), d))
	}
	add(positive("registration.presence_grace", c.Registration.PresenceGrace, 0))
	add(positive("registration.offline_confirm", c.Registration.OfflineConfirm, 0))
	add(positive("registration.validate_timeout", c.Registration.ValidateTimeout, 100*time.Millisecond))
	add(positive("shutdown.drain_timeout", c.Shutdown.DrainTimeout, 0))
	add(c.validateCalls())
	add(c.validateMedia())
	add(c.validateDebug())
	return errors.Join(errs...)
}

func (c *Config) validateContactHost() error {
	if c.SIP.ContactHost != "" {
		return validateHostPortOptional("sip.contact_host", c.SIP.ContactHost)
	}
	if bindsAll(c.SIP.Listen) {
		return fmt.Errorf("sip.contact_host: required when sip.listen (%q) binds every interface: set the address SIP peers reach this gateway at", c.SIP.Listen)
	}
	return nil
}

func (c *Config) validateCalls() error {
	var errs []error
	if c.Calls.MaxPerUser < 1 {
		errs = append(errs, fmt.Errorf("calls.max_per_user: %d, must be at least 1", c.Calls.MaxPerUser))
	}
	if c.Calls.MaxTotal < c.Calls.MaxPerUser {
		errs = append(errs, fmt.Errorf("calls.max_total: %d, must be at least calls.max_per_user (%d)", c.Calls.MaxTotal, c.Calls.MaxPerUser))
	}
	for _, d := range []struct {
		key string
		v   Duration
		min time.Duration
	}{{"calls.ring_timeout", c.Calls.RingTimeout, time.Second}, {"calls.propose_timeout", c.Calls.ProposeTimeout, time.Second}, {"calls.gather_timeout", c.Calls.GatherTimeout, 0}} {
		if err := positive(d.key, d.v, d.min); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
