package sasl

import (
	"testing"
)

// FuzzServerMessages feeds arbitrary server messages to the parsers and to
// an exchange in every state: nothing may panic, and a message that parses
// must satisfy the bounds the rest of the code relies on.
func FuzzServerMessages(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.serverFirst)
		f.Add(v.serverFinal)
	}
	for _, seed := range []string{"m=x,r=a,s=QQ==,i=1", "e=invalid-proof", "r=a,s=QQ==,i=99999999", ",,,", "v=,v=", "r==,s==,i=="} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		if sf, err := parseServerFirst(msg); err == nil {
			if sf.nonce == "" || len(sf.salt) == 0 || sf.iterations < 1 || sf.iterations > maxIterations {
				t.Fatalf("parseServerFirst(%q) accepted %+v", msg, sf)
			}
		}
		if v, err := parseServerFinal(msg); err == nil && len(v) == 0 {
			t.Fatalf("parseServerFinal(%q) accepted an empty signature", msg)
		}
		// Through the mechanism, with an iteration cap that keeps the
		// fuzzer fast: the nonce is a prefix of most seeds.
		s, _ := newSCRAM(SCRAMSHA1, "user", "pencil", "a")
		_, _ = s.Start()
		if sf, err := parseServerFirst(msg); err == nil && sf.iterations > 4096 {
			return
		}
		_, _ = s.Next([]byte(msg))
		_ = s.Finish([]byte(msg))
	})
}
