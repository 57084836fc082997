//! Pagination of registry listings through the RFC 8288 `Link` header.
//!
//! `/v2/<repo>/tags/list` and `/v2/_catalog` return one page and, when more follow,
//! `Link: </v2/_catalog?last=x&n=100>; rel="next"`. The target is usually a path relative
//! to the registry, resolved by the caller against the registry's URL.

/// The target of the `rel="next"` link in a `Link` header value, if any.
pub fn next_link(header: &str) -> Option<&str> {
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let close = after.find('>')?;
        let target = &after[..close];
        let params_end = after[close..].find('<').map_or(after.len(), |i| close + i);
        let params = &after[close + 1..params_end];
        if params.split(';').any(is_rel_next) {
            return Some(target);
        }
        rest = &after[params_end..];
    }
    None
}

/// Whether one link parameter is `rel=next` (or a `rel` list containing `next`).
fn is_rel_next(param: &str) -> bool {
    let Some((name, value)) = param.split_once('=') else {
        return false;
    };
    let value = value.trim().trim_end_matches(',').trim().trim_matches('"');
    name.trim().eq_ignore_ascii_case("rel")
        && value
            .split_whitespace()
            .any(|rel| rel.eq_ignore_ascii_case("next"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_next_page() {
        let cases = [
            (
                r#"</v2/_catalog?last=b&n=2>; rel="next""#,
                Some("/v2/_catalog?last=b&n=2"),
            ),
            (
                r#"<https://r.example/v2/a/tags/list?last=v2&n=2>;rel=next"#,
                Some("https://r.example/v2/a/tags/list?last=v2&n=2"),
            ),
            (
                r#"</first>; rel="prev", </second>; title="x"; rel="prefetch next""#,
                Some("/second"),
            ),
            (r#"</prev>; rel="prev""#, None),
            (r#"</broken; rel="next""#, None),
            ("", None),
        ];
        for (header, expected) in cases {
            assert_eq!(next_link(header), expected, "{header}");
        }
    }
}
