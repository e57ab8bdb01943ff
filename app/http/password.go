package http

import (
	_ "embed"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/scaling-aws/scaling-aws/app"
)

// commonPasswords is the blocklist of NIST SP 800-63B section 5.1.1.2
// ("passwords obtained from previous breach corpuses", "commonly-used"):
// the 10,000 most frequent passwords of 8 to 72 bytes (shorter ones are
// refused anyway) of the frequency-ranked list passwords.json of the npm
// package @zxcvbn-ts/language-common 4.1.3 (MIT licence, Copyright (c)
// 2012-2016 Dan Wheeler and Dropbox, Inc., (c) 2021 @zxcvbn-ts), the list of
// Dropbox's zxcvbn drawn from leaked password sets (Xato's 10 million
// passwords). One password a line, most common first.
//
//go:embed commonpasswords.txt
var commonPasswordsText string

var commonPasswords = func() map[string]struct{} {
	m := make(map[string]struct{}, 10000)
	for _, p := range strings.Split(strings.TrimSuffix(commonPasswordsText, "\n"), "\n") {
		m[strings.ToLower(p)] = struct{}{}
	}
	return m
}()

// checkPassword applies the password rules: 8 to 72 bytes (bcrypt ignores
// what follows byte 72), UTF-8 without control characters (NUL, tab, line
// breaks: what a form or a terminal mangles), not only blanks, and not
// one of the common passwords (compared without case).
func checkPassword(p string) error {
	if len(p) < minPassword || len(p) > maxPassword {
		return app.Errorf(app.EINVALID, "password must be %d to %d bytes, got %d", minPassword, maxPassword, len(p))
	}
	if !utf8.ValidString(p) {
		return app.Errorf(app.EINVALID, "password must be UTF-8 text")
	}
	blank := true
	for i, r := range p {
		if unicode.IsControl(r) {
			return app.Errorf(app.EINVALID, "password holds the control character U+%04X at byte %d: use printable characters only", r, i)
		}
		if !unicode.IsSpace(r) {
			blank = false
		}
	}
	if blank {
		return app.Errorf(app.EINVALID, "password is only blanks: choose one with other characters")
	}
	if _, common := commonPasswords[strings.ToLower(p)]; common {
		return app.Errorf(app.EINVALID, "password is one of the 10,000 most common passwords, the first an attacker tries: choose another")
	}
	return nil
}
