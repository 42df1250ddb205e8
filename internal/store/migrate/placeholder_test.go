package migrate

import "testing"

func TestPlaceholderArg(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Placeholder
		n    int
		want string
	}{
		{name: "question 1", p: Question, n: 1, want: "?"},
		{name: "question 2", p: Question, n: 2, want: "?"},
		{name: "dollar 1", p: Dollar, n: 1, want: "$1"},
		{name: "dollar 12", p: Dollar, n: 12, want: "$12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.arg(tc.n); got != tc.want {
				t.Errorf("arg(%d) = %q, want %q", tc.n, got, tc.want)
			}
		})
	}
}
