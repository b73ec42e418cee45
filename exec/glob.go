package exec

// globMatch reports whether str matches the glob pattern with exactly the
// semantics of Redis's stringmatchlen (util.c, case-sensitive): '*' any run,
// '?' one byte, '[abc]', '[^a]', '[a-z]' classes (reversed ranges allowed,
// an unterminated class runs to the end of the pattern), and '\' escaping the
// next byte. Bytes compare as C's signed char, so range ends above 0x7f
// order before ASCII as they do in Redis. Clients use KEYS and SCAN MATCH
// patterns written for Redis, so any deviation would change which keys they
// see. The pattern "*" matches every key, the empty one included, because
// KEYS and SCAN special-case it that way before calling stringmatchlen.
func globMatch(pattern, str []byte) bool {
	if len(pattern) == 1 && pattern[0] == '*' {
		return true
	}
	skip := false
	return globMatchImpl(pattern, str, &skip)
}

// at returns b[i], or 0 past the end, mirroring the NUL terminator the C
// implementation relies on.
func at(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

func globMatchImpl(p, s []byte, skipLonger *bool) bool {
	for len(p) > 0 && len(s) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for len(s) > 0 {
				if globMatchImpl(p[1:], s, skipLonger) {
					return true
				}
				if *skipLonger {
					return false
				}
				s = s[1:]
			}
			// No match for the rest of the pattern from anywhere in the
			// rest of the string: earlier stars cannot help either.
			*skipLonger = true
			return false
		case '?':
			s = s[1:]
		case '[':
			p = p[1:]
			not := at(p, 0) == '^'
			if not {
				p = p[1:]
			}
			match := false
			for {
				if at(p, 0) == '\\' && len(p) >= 2 {
					p = p[1:]
					if p[0] == s[0] {
						match = true
					}
				} else if at(p, 0) == ']' {
					break
				} else if len(p) == 0 {
					// Unterminated class: step back so the shared
					// advance below lands on the end of the pattern.
					p = nil
					break
				} else if len(p) >= 3 && p[1] == '-' {
					start, end := int(int8(p[0])), int(int8(p[2]))
					c := int(int8(s[0]))
					if start > end {
						start, end = end, start
					}
					p = p[2:]
					if c >= start && c <= end {
						match = true
					}
				} else if p[0] == s[0] {
					match = true
				}
				p = p[1:]
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s = s[1:]
			if p == nil {
				// The class consumed the whole pattern.
				return len(s) == 0
			}
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			if p[0] != s[0] {
				return false
			}
			s = s[1:]
		default:
			if p[0] != s[0] {
				return false
			}
			s = s[1:]
		}
		p = p[1:]
		if len(s) == 0 {
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			break
		}
	}
	return len(p) == 0 && len(s) == 0
}

// GlobMatch reports whether str matches the Redis glob pattern, as
// stringmatchlen does (SCAN/KEYS MATCH).
func GlobMatch(pattern, str []byte) bool { return globMatch(pattern, str) }
