package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "fargo.dev/fargo"

// tiers is the package map of docs/ARCHITECTURE.md: a package may import
// internal packages of its own tier or a lower one. Every internal package
// must be listed; sub-packages inherit their parent's tier.
var tiers = map[string]int{
	"internal/address":   0,
	"internal/stanza":    0,
	"internal/xdata":     0,
	"internal/leakcheck": 0,
	"internal/testlog":   0,
	"internal/jingle":    0,
	"internal/jinglesdp": 0,
	"internal/reason":    0,
	"internal/disco":     0,

	"internal/xmpp":   1,
	"internal/sip":    1,
	"internal/store":  1,
	"internal/secret": 1,
	// media and mediapath are being written concurrently; their tiers are
	// those their package docs declare (docs/ARCHITECTURE.md to follow).
	"internal/media":    1,
	"internal/rtpprobe": 1, // RTP test/demo endpoint (tones, frequency, round trip)

	"internal/gateway":   2,
	"internal/mediapath": 2,
	"internal/echo":      2,
	"internal/echobot":   2,

	"internal/config":   3,
	"internal/metrics":  3,
	"internal/app":      3,
	"internal/demo":     3,
	"internal/testkit":  3,
	"internal/archtest": 3,
	"internal/loadgen":  3,

	"cmd/fargo": 4,
	"test":      4,
	"bench":     4, // load tools run by bench/*.sh, never part of the binary
}

// forbidden lists imports a package must not have even though its tier
// would allow them: the core depends on interfaces, not transports.
var forbidden = map[string][]string{
	"internal/gateway": {"internal/xmpp", "internal/sip", "internal/store/sqlite", "internal/secret", "internal/app", "internal/config", "internal/metrics"},
}

// impure are standard packages tier 0 must not import: it does no I/O.
var impure = []string{"net", "net/http", "os", "os/exec", "syscall", "database/sql"}

// testKitOnly are third-party modules that only the test kit's own code
// may import (tests anywhere may: they never reach the binary). pion/webrtc
// is a whole WebRTC stack, and pion/interceptor exists for its API: the
// test kit uses them to play a Conversations-like client (ICE, DTLS-SRTP,
// trickle; testkit/webrtcpeer) opposite the gateway, while the gateway's
// own media (internal/media) is built from pion's parts (ice, dtls, srtp,
// rtp), owning every socket and goroutine it starts.
var testKitOnly = []string{"github.com/pion/webrtc", "github.com/pion/interceptor"}

type pkg struct {
	dir     string
	imports map[string][]string // import path -> files importing it (non-test)
	testImp map[string][]string
	hasDoc  bool
}

func TestImportRules(t *testing.T) {
	root := moduleRoot(t)
	pkgs := load(t, root)
	for dir, p := range pkgs {
		tier, ok := tierOf(dir)
		if !ok {
			t.Errorf("%s: not in the package map (add it to docs/ARCHITECTURE.md and this test)", dir)
			continue
		}
		for imp, files := range p.imports {
			checkImport(t, dir, tier, imp, files)
		}
		for imp, files := range p.testImp {
			if to, ok := internalPath(imp); ok && to == "internal/app" && dir != "cmd/fargo" && !strings.HasPrefix(dir, "test") {
				t.Errorf("%s: tests import internal/app (%v); only cmd/fargo and test/ may", dir, files)
			}
		}
	}
}

func checkImport(t *testing.T, dir string, tier int, imp string, files []string) {
	t.Helper()
	if mod, ok := testKitOnlyViolation(dir, imp); ok {
		t.Errorf("%s imports %s in %v: only the test kit may (%s)", dir, imp, files, mod)
	}
	if tier == 0 {
		for _, bad := range impure {
			if imp == bad {
				t.Errorf("%s (tier 0, pure) imports %s in %v", dir, imp, files)
			}
		}
	}
	to, ok := internalPath(imp)
	if !ok {
		return
	}
	toTier, known := tierOf(to)
	if !known {
		t.Errorf("%s imports %s, which is not in the package map", dir, to)
		return
	}
	if toTier > tier {
		t.Errorf("%s (tier %d) imports %s (tier %d) in %v: only the same or a lower tier", dir, tier, to, toTier, files)
	}
	if to == "internal/app" && dir != "cmd/fargo" {
		t.Errorf("%s imports internal/app in %v: only cmd/fargo may", dir, files)
	}
	if isTestKit(to) && !strings.HasPrefix(dir, "test/") && !isTestKit(dir) {
		t.Errorf("%s imports the test kit from production code in %v", dir, files)
	}
	for _, f := range forbidden[topDir(dir)] {
		if to == f || strings.HasPrefix(to, f+"/") {
			t.Errorf("%s must not import %s (found in %v): depend on an interface declared in %s", dir, to, files, dir)
		}
	}
}

// isTestKit: internal/testkit and its sub-packages, which may use each other.
func isTestKit(dir string) bool {
	return dir == "internal/testkit" || strings.HasPrefix(dir, "internal/testkit/")
}

// testKitOnlyViolation reports the testKitOnly module that imp belongs to
// when dir, outside the test kit, must not import it.
func testKitOnlyViolation(dir, imp string) (string, bool) {
	if isTestKit(dir) {
		return "", false
	}
	for _, mod := range testKitOnly {
		if imp == mod || strings.HasPrefix(imp, mod+"/") {
			return mod, true
		}
	}
	return "", false
}

func TestTestKitOnlyModules(t *testing.T) {
	for _, c := range []struct {
		dir, imp string
		bad      bool
	}{
		{"internal/testkit/webrtcpeer", "github.com/pion/webrtc/v4", false},
		{"internal/testkit", "github.com/pion/interceptor", false},
		{"internal/media/iceleg", "github.com/pion/webrtc/v4", true},
		{"internal/gateway", "github.com/pion/interceptor/pkg/nack", true},
		{"cmd/fargo", "github.com/pion/webrtc/v4/pkg/media", true},
		{"internal/media/iceleg", "github.com/pion/ice/v4", false},
		{"internal/media", "github.com/pion/webrtcx", false},
	} {
		if _, bad := testKitOnlyViolation(c.dir, c.imp); bad != c.bad {
			t.Errorf("%s importing %s: violation %v, want %v", c.dir, c.imp, bad, c.bad)
		}
	}
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for dir, p := range load(t, moduleRoot(t)) {
		if !p.hasDoc {
			t.Errorf("%s: no package doc comment saying what it owns and may import", dir)
		}
	}
}

func load(t *testing.T, root string) map[string]*pkg {
	t.Helper()
	pkgs := map[string]*pkg{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		p := pkgs[rel]
		if p == nil {
			p = &pkg{dir: rel, imports: map[string][]string{}, testImp: map[string][]string{}}
			pkgs[rel] = p
		}
		isTest := strings.HasSuffix(path, "_test.go")
		if f.Doc != nil && !isTest {
			p.hasDoc = true
		}
		for _, is := range f.Imports {
			ip, _ := strconv.Unquote(is.Path.Value)
			if isTest {
				p.testImp[ip] = append(p.testImp[ip], filepath.Base(path))
			} else {
				p.imports[ip] = append(p.imports[ip], filepath.Base(path))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir, p := range pkgs {
		if dir == "." {
			delete(pkgs, dir)
			continue
		}
		onlyTests := len(p.imports) == 0 && !p.hasDoc
		if onlyTests && strings.HasPrefix(dir, "test") {
			p.hasDoc = true // a test-only directory needs no package doc
		}
	}
	return pkgs
}

func internalPath(imp string) (string, bool) {
	if !strings.HasPrefix(imp, module+"/") {
		return "", false
	}
	return strings.TrimPrefix(imp, module+"/"), true
}

// tierOf finds the tier of dir or of its closest listed parent.
func tierOf(dir string) (int, bool) {
	keys := make([]string, 0, len(tiers))
	for k := range tiers {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		if dir == k || strings.HasPrefix(dir, k+"/") {
			return tiers[k], true
		}
	}
	return 0, false
}

func topDir(dir string) string {
	parts := strings.Split(dir, "/")
	if len(parts) >= 2 {
		return parts[0] + "/" + parts[1]
	}
	return dir
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}
