package address

import "testing"

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "empty", in: "", want: ""},
		{name: "nothing to do", in: "bob", want: "bob"},
		{name: "XEP-0106 table", in: ` "&'/:<>@`, want: `\20\22\26\27\2f\3a\3c\3e\40`},
		{name: "backslash alone", in: `\`, want: `\`},
		{name: "backslash before non-sequence", in: `a\b`, want: `a\b`},
		{name: "backslash before unknown hex", in: `\41`, want: `\41`},
		{name: "backslash before sequence", in: `\20`, want: `\5c20`},
		{name: "backslash before backslash sequence", in: `\5c`, want: `\5c5c`},
		{name: "upper-case sequence", in: `\5C`, want: `\5c5C`},
		{name: "backslash then escapable", in: `\@`, want: `\\40`},
		{name: "XEP-0106 example", in: `space cadet@example.com`, want: `space\20cadet\40example.com`},
		{name: "XEP-0106 example with backslash", in: `c:\net@example.com`, want: `c\3a\net\40example.com`},
		{name: "XEP-0106 example with sequence", in: `c:\cool stuff@example.com`, want: `c\3a\cool\20stuff\40example.com`},
		{name: "XEP-0106 example literal sequence", in: `\2plus\2is\4@example.com`, want: `\2plus\2is\4\40example.com`},
		{name: "XEP-0106 example 5c", in: `foo\bar@example.com`, want: `foo\bar\40example.com`},
		{name: "UTF-8 untouched", in: "fü", want: "fü"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Escape(tt.in); got != tt.want {
				t.Errorf("Escape(%q) = %q; want %q", tt.in, got, tt.want)
			}
			if got := Unescape(tt.want); got != tt.in {
				t.Errorf("Unescape(%q) = %q; want %q", tt.want, got, tt.in)
			}
		})
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "all ten", in: `\20\22\26\27\2f\3a\3c\3e\40\5c`, want: ` "&'/:<>@\`},
		{name: "upper-case hex", in: `\2F\3A\3C\3E\5C`, want: `/:<>\`},
		{name: "unknown sequence", in: `\41\7e`, want: `\41\7e`},
		{name: "partial at end", in: `a\2`, want: `a\2`},
		{name: "backslash at end", in: `a\`, want: `a\`},
		{name: "no double decoding", in: `\5c40`, want: `\40`},
		{name: "non-hex", in: `\zz`, want: `\zz`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unescape(tt.in); got != tt.want {
				t.Errorf("Unescape(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}
