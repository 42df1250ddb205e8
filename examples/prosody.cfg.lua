-- Prosody 0.12: attach Fargo as an external component (XEP-0114).
-- Put this at the end of /etc/prosody/prosody.cfg.lua (outside any VirtualHost)
-- and use the same domain and secret in fargo.toml [component].

component_ports = { 5347 }

-- Prosody 0.12 keeps Nagle's algorithm on: a small stanza written right after
-- another (the ack of a session-initiate, then the session-accept) waits for
-- the peer's delayed ACK, about 40 ms on Linux, on every hop. Calls set up
-- visibly faster without it. (network_settings is global: it goes outside
-- any VirtualHost or Component.)
network_settings = { nagle = false }
component_interface = "127.0.0.1"   -- Fargo runs on the same host

Component "sip.example.net"
    component_secret = "change-me"

-- Prosody accepts one connection per component domain ("Component already
-- connected"); run one Fargo instance per domain with Prosody.
