// Package uscc validates Uniform Social Credit Codes, the 18-character
// identifiers of enterprises and other organisations defined by GB 32100-2015
// (统一社会信用代码).
//
// A code is laid out as
//
//	pos 1     registration authority code
//	pos 2     entity type code
//	pos 3-8   administrative division code
//	pos 9-17  organization code (GB 11714); pos 17 is its own check character
//	pos 18    check character over pos 1-17
//
// over the 31-character alphabet "0123456789ABCDEFGHJKLMNPQRTUWXY" (no I, O,
// S, V, Z). [Normalize] trims surrounding spaces, upper-cases and checks every
// rule; a failure is an [*Error] naming the rule that failed and where.
// Error messages never repeat the code itself: the code of a sole
// proprietorship identifies a natural person.
package uscc

import (
	"errors"
	"fmt"
	"strings"
)

// Alphabet is the set of characters a USCC may contain, in value order: the
// value of a character in the pos 18 check is its index here.
const Alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// Length is the length of a USCC.
const Length = 18

// Positions (1-based) of the two check characters and the span the
// organization-code check covers.
const (
	orgStart = 9  // first character of the organization code
	orgCheck = 17 // organization-code check character
	posCheck = 18 // check character of the whole code
)

// Rule names a rule of GB 32100-2015 that a code can break.
type Rule int

// The rules, in the order Normalize checks them.
const (
	RuleLength    Rule = iota + 1 // exactly 18 characters
	RuleAlphabet                  // every character in Alphabet
	RuleOrgCheck                  // pos 17 is the GB 11714 check over pos 9..16
	RuleCheckChar                 // pos 18 is the check character over pos 1..17
)

// String describes the rule in plain words.
func (r Rule) String() string {
	switch r {
	case RuleLength:
		return "length"
	case RuleAlphabet:
		return "alphabet"
	case RuleOrgCheck:
		return "organization-code check character"
	case RuleCheckChar:
		return "check character"
	default:
		return fmt.Sprintf("rule(%d)", int(r))
	}
}

// ErrInvalid matches every *Error with errors.Is, for callers that only need
// to know that a code was refused.
var ErrInvalid = errors.New("uscc: invalid code")

// Error reports why a code was refused.
type Error struct {
	Code string // the input after trimming and upper-casing
	Rule Rule   // the rule that failed
	Pos  int    // 1-based position of the offending character; for RuleLength the length found
}

func (e *Error) Error() string {
	switch e.Rule {
	case RuleLength:
		return fmt.Sprintf("uscc: length is %d characters, want %d", e.Pos, Length)
	case RuleAlphabet:
		return fmt.Sprintf("uscc: character at position %d is not allowed (alphabet %s)", e.Pos, Alphabet)
	case RuleOrgCheck:
		return fmt.Sprintf("uscc: organization-code check character at position %d does not match positions 9-16", e.Pos)
	case RuleCheckChar:
		return fmt.Sprintf("uscc: check character at position %d does not match positions 1-17", e.Pos)
	default:
		return fmt.Sprintf("uscc: %v failed at position %d", e.Rule, e.Pos)
	}
}

// Is makes errors.Is(err, ErrInvalid) true for every *Error.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Normalize trims surrounding white space, upper-cases s and validates it. It
// returns the canonical code, or an *Error naming the first rule broken.
func Normalize(s string) (string, error) {
	code := upperASCII(strings.TrimSpace(s))
	if err := check(code, Length); err != nil {
		return "", err
	}
	if code[orgCheck-1] != orgCheckChar(code[orgStart-1:orgCheck-1]) {
		return "", &Error{Code: code, Rule: RuleOrgCheck, Pos: orgCheck}
	}
	if code[posCheck-1] != checkChar(code[:posCheck-1]) {
		return "", &Error{Code: code, Rule: RuleCheckChar, Pos: posCheck}
	}
	return code, nil
}

// Valid reports whether Normalize accepts s.
func Valid(s string) bool {
	_, err := Normalize(s)
	return err == nil
}

// Complete returns the full code whose first 16 characters are first16
// (trimmed and upper-cased), computing both check characters. It fails with an
// *Error if first16 is not 16 characters of the alphabet.
func Complete(first16 string) (string, error) {
	head := upperASCII(strings.TrimSpace(first16))
	if err := check(head, orgCheck-1); err != nil {
		return "", err
	}
	head17 := head + string(orgCheckChar(head[orgStart-1:]))
	return head17 + string(checkChar(head17)), nil
}

// check enforces the length and alphabet rules on s, which must be n
// characters long.
func check(s string, n int) error {
	if len(s) != n {
		// Count characters, not bytes, so that the message is right for
		// multi-byte input.
		return &Error{Code: s, Rule: RuleLength, Pos: len([]rune(s))}
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(Alphabet, s[i]) < 0 {
			return &Error{Code: s, Rule: RuleAlphabet, Pos: i + 1}
		}
	}
	return nil
}

// orgCheckChar computes the GB 11714 check character over the 8 characters
// of org, whose letters count at their base-36 value (A=10 … Z=35).
func orgCheckChar(org string) byte {
	weights := [orgCheck - orgStart]int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < len(org); i++ {
		sum += base36(org[i]) * weights[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

// checkChar computes the pos 18 check character over the 17 characters of
// head, which must all be in Alphabet.
func checkChar(head string) byte {
	// 3^i mod 31 for pos 1..17.
	weights := [posCheck - 1]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum := 0
	for i := 0; i < len(head); i++ {
		sum += strings.IndexByte(Alphabet, head[i]) * weights[i]
	}
	return Alphabet[(31-sum%31)%31]
}

// base36 is the value of a digit or upper-case letter in base 36.
func base36(c byte) int {
	if c >= '0' && c <= '9' {
		return int(c - '0')
	}
	return int(c-'A') + 10
}

// upperASCII upper-cases ASCII letters only. strings.ToUpper would also map
// runes such as 'ı' and 'ſ' onto ASCII letters, letting a second spelling of
// a code through.
func upperASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}
