package auth

import (
	"fmt"
	"math"
	"unicode"
)

// An editor token must carry at least MinTokenBits of entropy, as
// estimated by TokenBits. Tokens are compared by their hash, so a guess
// costs the server little and the throttle (throttle.go) only slows
// guessing down; a token that cannot be guessed is what keeps the editors'
// commands safe.
//
// The estimate is deliberately simple and errs low:
//   - each character is worth log2 of the alphabet the token's character
//     classes span (lower case 26, upper case 26, digits 10, other ASCII
//     symbols 33, anything else 128), so "only digits" or "only lower
//     case" tokens need to be longer;
//   - a character equal to the one before, or next to it in the character
//     set ("aa", "ab", "21"), is worth 1 bit: runs and sequences add little;
//   - a token made of a shorter one repeated ("abcabcabc…") is worth only
//     that shorter one.
//
// `openssl rand -base64 32` (about 250 bits by this estimate) and
// `openssl rand -hex 32` (about 220) pass; so do the tokens jevents
// generates (NewToken, 256 bits).

// MinTokenBits is the least estimated entropy of an editor token.
const MinTokenBits = 128

// HowToGenerate says how to make a good token, for error messages.
const HowToGenerate = "generate one with `openssl rand -base64 32`"

// TokenBits estimates the entropy of a token in bits.
func TokenBits(token string) float64 {
	r := []rune(token)
	if len(r) == 0 {
		return 0
	}
	r = r[:period(r)]
	var lower, upper, digit, symbol, other bool
	for _, c := range r {
		switch {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= '0' && c <= '9':
			digit = true
		case c < 128 && unicode.IsPrint(c):
			symbol = true
		default:
			other = true
		}
	}
	alphabet := 0
	for _, c := range []struct {
		on bool
		n  int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {symbol, 33}, {other, 128}} {
		if c.on {
			alphabet += c.n
		}
	}
	per := math.Log2(float64(max(alphabet, 2)))
	bits := per
	for i := 1; i < len(r); i++ {
		if d := r[i] - r[i-1]; d >= -1 && d <= 1 {
			bits++
		} else {
			bits += per
		}
	}
	return bits
}

// period is the length of the shortest string whose repetition makes r
// (len(r) when there is none shorter), by the prefix function.
func period(r []rune) int {
	pi := make([]int, len(r))
	for i := 1; i < len(r); i++ {
		k := pi[i-1]
		for k > 0 && r[i] != r[k] {
			k = pi[k-1]
		}
		if r[i] == r[k] {
			k++
		}
		pi[i] = k
	}
	if p := len(r) - pi[len(r)-1]; p < len(r) {
		return p
	}
	return len(r)
}

// checkStrength refuses a token weaker than MinTokenBits, saying how to
// make one; the message never contains the token.
func checkStrength(token string) error {
	if bits := TokenBits(token); bits < MinTokenBits {
		return fmt.Errorf("an editor token must carry at least %d bits of entropy; this one has about %d "+
			"(repeated characters, runs and small alphabets count little): %s", MinTokenBits, int(bits), HowToGenerate)
	}
	return nil
}
