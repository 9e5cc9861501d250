//! Percent-encoding for the two places untrusted names end up in URLs: one path segment of a
//! forge API URL (logins, projects, repositories) and a relative file path in a SARIF URI.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986 unreserved characters: safe inside one path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A relative path as an RFC 3986 `path`: unreserved characters, sub-delims, `@` and `/` stay;
/// `:` (which would turn the first segment into a scheme), `%`, `?`, `#` and non-ASCII do not.
const URI_PATH: &AsciiSet = &SEGMENT
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b'@')
    .remove(b'/');

/// Percent-encodes one path segment (`dependabot[bot]`, `My Project`).
pub fn path_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Percent-encodes a `/`-separated relative path into a URI reference.
pub fn uri_path(path: &str) -> String {
    utf8_percent_encode(path, URI_PATH).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_paths() {
        assert_eq!(path_segment("dependabot[bot]"), "dependabot%5Bbot%5D");
        assert_eq!(path_segment("My Project/x"), "My%20Project%2Fx");
        assert_eq!(path_segment("a-b_c.d~"), "a-b_c.d~");
        assert_eq!(uri_path("modules/a-b_c.d~/x.tf"), "modules/a-b_c.d~/x.tf");
        assert_eq!(uri_path("a b/100%#?.tf"), "a%20b/100%25%23%3F.tf");
        assert_eq!(uri_path("c:/x"), "c%3A/x");
        assert_eq!(uri_path("é"), "%C3%A9");
        assert_eq!(uri_path("!$&'()*+,;=@"), "!$&'()*+,;=@");
    }
}
