package main

import (
	"fmt"
	"slices"
	"strings"
)

// checkNames returns an error naming the first of names that is not in
// known, with the nearest known name as a suggestion when one is close
// (at most a third of its letters differ) and the list of known names.
func checkNames(kind string, names, known []string) error {
	for _, n := range names {
		if slices.Contains(known, n) {
			continue
		}
		msg := fmt.Sprintf("unknown %s %q", kind, n)
		if s, ok := nearest(n, known); ok {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return fmt.Errorf("%s; known: %s", msg, strings.Join(known, ", "))
	}
	return nil
}

// nearest returns the name of known closest to s by edit distance, if it is
// within a third of s's length.
func nearest(s string, known []string) (string, bool) {
	best, bestD := "", -1
	for _, k := range known {
		if d := editDistance(s, k); bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	return best, bestD >= 0 && bestD*3 <= len(s)
}

// editDistance is the Levenshtein distance between a and b, over bytes (the
// names compared are ASCII codes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
