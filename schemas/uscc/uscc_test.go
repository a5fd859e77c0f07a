package uscc_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/creditexchange/node/schemas/uscc"
)

// Published codes of well-known enterprises. Each one is checked here by
// computation (both check characters), not taken on trust.
var published = []string{
	"91350100M000100Y43", // the worked example printed in GB 32100-2015
	"914403001922038216", // Huawei Technologies Co., Ltd.
	"9144030071526726XG", // Shenzhen Tencent Computer Systems Co., Ltd.
	"91330100716105852F", // Alibaba (China) Co., Ltd.
}

// mustComplete builds a valid code from its first 16 characters.
func mustComplete(t testing.TB, first16 string) string {
	t.Helper()
	code, err := uscc.Complete(first16)
	if err != nil {
		t.Fatalf("Complete(%q): %v", first16, err)
	}
	return code
}

// orgCheck recomputes the GB 11714 check character the slow, obvious way, so
// the test does not just repeat the implementation's arithmetic layout.
func orgCheck(org string) byte {
	weights := []int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, r := range org {
		var v int
		switch {
		case r >= '0' && r <= '9':
			v = int(r - '0')
		default:
			v = int(r-'A') + 10
		}
		sum += v * weights[i]
	}
	return "0123456789X0"[11-sum%11]
}

func TestPublishedCodes(t *testing.T) {
	for _, code := range published {
		got, err := uscc.Normalize(code)
		if err != nil || got != code {
			t.Errorf("Normalize(%q) = %q, %v; want the code back", code, got, err)
		}
		if c := orgCheck(code[8:16]); c != code[16] {
			t.Errorf("%s: recomputed organization check %c, code has %c", code, c, code[16])
		}
		if completed := mustComplete(t, code[:16]); completed != code {
			t.Errorf("Complete(%q) = %q, want %q", code[:16], completed, code)
		}
	}
}

func TestNormalize(t *testing.T) {
	valid := mustComplete(t, "92110105MA01ABCD") // entity type 2: an individual business
	tests := []struct {
		name string
		in   string
		want string
		rule uscc.Rule // zero: accepted
		pos  int
	}{
		{"published", published[0], published[0], 0, 0},
		{"completed", valid, valid, 0, 0},
		{"lower case", strings.ToLower(published[1]), published[1], 0, 0},
		{"surrounding spaces", "  " + published[2] + "\t\n", published[2], 0, 0},
		{"org check X", published[2], published[2], 0, 0},
		{"empty", "", "", uscc.RuleLength, 0},
		{"17 characters", published[0][:17], "", uscc.RuleLength, 17},
		{"19 characters", published[0] + "0", "", uscc.RuleLength, 19},
		{"inner space", published[0][:9] + " " + published[0][10:], "", uscc.RuleAlphabet, 10},
		{"letter I", "I" + published[0][1:], "", uscc.RuleAlphabet, 1},
		{"letter O", published[0][:8] + "O" + published[0][9:], "", uscc.RuleAlphabet, 9},
		{"letter S", published[0][:17] + "S", "", uscc.RuleAlphabet, 18},
		{"dotless i upper-cases to I", "ı" + published[0][2:], "", uscc.RuleAlphabet, 1},
		{"multi-byte length", "统一社会信用代码统一社会信用代码统一", "", uscc.RuleLength, 18},
		{"org check wrong", published[0][:16] + "1" + published[0][17:], "", uscc.RuleOrgCheck, 17},
		{"check character wrong", published[0][:17] + "0", "", uscc.RuleCheckChar, 18},
		{"transposed pos 3-4", published[0][:2] + published[0][3:4] + published[0][2:3] + published[0][4:], "", uscc.RuleCheckChar, 18},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := uscc.Normalize(tt.in)
			if tt.rule == 0 {
				if err != nil || got != tt.want {
					t.Fatalf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				if !uscc.Valid(tt.in) {
					t.Fatalf("Valid(%q) = false", tt.in)
				}
				return
			}
			var e *uscc.Error
			if !errors.As(err, &e) {
				t.Fatalf("Normalize(%q) = %q, %v; want *uscc.Error", tt.in, got, err)
			}
			if e.Rule != tt.rule || e.Pos != tt.pos {
				t.Fatalf("error rule %v pos %d, want %v pos %d", e.Rule, e.Pos, tt.rule, tt.pos)
			}
			if !errors.Is(err, uscc.ErrInvalid) {
				t.Fatalf("errors.Is(%v, ErrInvalid) = false", err)
			}
			if !strings.Contains(err.Error(), tt.rule.String()) {
				t.Fatalf("message %q does not name the rule %q", err, tt.rule)
			}
			if got != "" || uscc.Valid(tt.in) {
				t.Fatalf("refused code returned %q / Valid true", got)
			}
		})
	}
}

// Every single-character substitution of a valid code is refused: the
// weights of the pos 18 check are non-zero modulo the prime 31, and pos 17 is
// guarded by the organization-code check.
func TestSingleSubstitutionDetected(t *testing.T) {
	codes := append([]string{mustComplete(t, "12100000400000XY")}, published...)
	for _, code := range codes {
		for i := 0; i < len(code); i++ {
			for _, r := range uscc.Alphabet {
				if byte(r) == code[i] {
					continue
				}
				bad := code[:i] + string(r) + code[i+1:]
				if uscc.Valid(bad) {
					t.Errorf("%s: substitution at %d gives accepted %s", code, i+1, bad)
				}
			}
		}
	}
}

func TestErrorDoesNotEchoCode(t *testing.T) {
	bad := published[1][:17] + "0"
	_, err := uscc.Normalize(bad)
	if err == nil {
		t.Fatal("accepted a wrong check character")
	}
	if strings.Contains(err.Error(), bad[:10]) {
		t.Fatalf("error %q repeats the code", err)
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		in   string
		rule uscc.Rule
	}{
		{"91350100M000100Y", 0},
		{"91350100m000100y", 0},
		{"91350100M000100", uscc.RuleLength},
		{"91350100M000100YY", uscc.RuleLength},
		{"91350100M00010OY", uscc.RuleAlphabet},
	}
	for _, tt := range tests {
		got, err := uscc.Complete(tt.in)
		if tt.rule == 0 {
			if err != nil || !uscc.Valid(got) || got[:16] != strings.ToUpper(tt.in) {
				t.Errorf("Complete(%q) = %q, %v", tt.in, got, err)
			}
			continue
		}
		var e *uscc.Error
		if !errors.As(err, &e) || e.Rule != tt.rule {
			t.Errorf("Complete(%q) error = %v, want rule %v", tt.in, err, tt.rule)
		}
	}
}

func TestRuleString(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range []uscc.Rule{uscc.RuleLength, uscc.RuleAlphabet, uscc.RuleOrgCheck, uscc.RuleCheckChar} {
		s := r.String()
		if s == "" || seen[s] || strings.HasPrefix(s, "rule(") {
			t.Errorf("rule %d has name %q", int(r), s)
		}
		seen[s] = true
	}
}

func FuzzNormalize(f *testing.F) {
	for _, c := range published {
		f.Add(c)
		f.Add(strings.ToLower(c))
		f.Add(c[:17])
	}
	f.Add("")
	f.Add(" 91350100M000100Y43 ")
	f.Add("ſ1350100M000100Y43")
	f.Fuzz(func(t *testing.T, s string) {
		code, err := uscc.Normalize(s)
		if err != nil {
			var e *uscc.Error
			if !errors.As(err, &e) || code != "" {
				t.Fatalf("Normalize(%q) = %q, %v: want \"\" and *Error", s, code, err)
			}
			return
		}
		again, err := uscc.Normalize(code)
		if err != nil || again != code {
			t.Fatalf("Normalize(%q) = %q, but re-normalizing gives %q, %v", s, code, again, err)
		}
		completed, err := uscc.Complete(code[:16])
		if err != nil || completed != code {
			t.Fatalf("Complete(%q) = %q, %v; want %q", code[:16], completed, err, code)
		}
	})
}

func ExampleNormalize() {
	code, err := uscc.Normalize(" 91350100m000100y43 ")
	fmt.Println(code, err)

	_, err = uscc.Normalize("91350100M000100Y40")
	var e *uscc.Error
	if errors.As(err, &e) {
		fmt.Println(e.Rule, e.Pos)
	}
	fmt.Println(err)
	// Output:
	// 91350100M000100Y43 <nil>
	// check character 18
	// uscc: check character at position 18 does not match positions 1-17
}

func ExampleComplete() {
	code, _ := uscc.Complete("91350100M000100Y")
	fmt.Println(code, uscc.Valid(code))
	// Output: 91350100M000100Y43 true
}
