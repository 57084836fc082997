//! Paging of tag and repository lists, as in the registry spec: `?n=<count>&last=<name>`
//! asks for up to `n` names sorted after `last`; a response that may have more carries
//! a `Link: <…?n=<count>&last=<its last name>>; rel="next"` header.
//!
//! Pure: the handlers parse a [`PageRequest`], the service cuts a [`Page`] out of a
//! sorted list (or the database does it with `LIMIT`), and the client reads the `next`
//! cursor back from the `Link` header.

use starling_core::{RepoName, Tag};

use super::error::{BuildIndexError as Error, BuildIndexResult as Result};

/// Page size when the request gives no `n`.
pub const DEFAULT_PAGE_SIZE: usize = 1000;
/// The largest page served; a larger `n` is served this many, as the spec allows.
pub const MAX_PAGE_SIZE: usize = 1000;

/// `?n=&last=` of a list request, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<T> {
    pub n: usize,
    pub last: Option<T>,
}

impl<T> Default for PageRequest<T> {
    fn default() -> Self {
        Self {
            n: DEFAULT_PAGE_SIZE,
            last: None,
        }
    }
}

impl<T> PageRequest<T> {
    pub fn first(n: usize) -> Self {
        Self { n, last: None }
    }

    pub fn after(n: usize, last: T) -> Self {
        Self {
            n,
            last: Some(last),
        }
    }

    /// Parses the raw query values; `last` with `parse_last` (`Tag::parse`, …).
    pub fn parse(
        n: Option<&str>,
        last: Option<&str>,
        parse_last: impl FnOnce(&str) -> starling_core::Result<T>,
    ) -> Result<Self> {
        let n = match n {
            None => DEFAULT_PAGE_SIZE,
            Some(text) => text
                .parse::<usize>()
                .map_err(|_| Error::InvalidPage {
                    name: "n",
                    reason: "must be a non-negative integer",
                })?
                .min(MAX_PAGE_SIZE),
        };
        let last = last.map(parse_last).transpose()?;
        Ok(Self { n, last })
    }

    /// One more than the page size: fetching that many tells whether a next page exists.
    pub fn probe_len(&self) -> usize {
        self.n.saturating_add(1)
    }
}

impl PageRequest<Tag> {
    pub fn parse_tags(n: Option<&str>, last: Option<&str>) -> Result<Self> {
        Self::parse(n, last, Tag::parse)
    }
}

impl PageRequest<RepoName> {
    pub fn parse_repositories(n: Option<&str>, last: Option<&str>) -> Result<Self> {
        Self::parse(n, last, RepoName::parse)
    }
}

/// One page of names and the cursor of the next page, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The `last` to ask for next: the page's last item, when more items follow.
    pub next: Option<T>,
}

impl<T: Clone> Page<T> {
    /// A page from up to `probe_len()` items already sorted and after `last`.
    pub fn from_probe(mut items: Vec<T>, request: &PageRequest<T>) -> Self {
        let more = items.len() > request.n;
        items.truncate(request.n);
        let next = if more { items.last().cloned() } else { None };
        Self { items, next }
    }
}

impl<T: Ord + Clone> Page<T> {
    /// The page of `sorted` (ascending, no duplicates) that `request` asks for.
    pub fn cut(sorted: impl IntoIterator<Item = T>, request: &PageRequest<T>) -> Self {
        let after = sorted
            .into_iter()
            .filter(|item| request.last.as_ref().is_none_or(|last| item > last))
            .take(request.probe_len())
            .collect();
        Self::from_probe(after, request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(names: &[&str]) -> Vec<Tag> {
        names.iter().map(|n| Tag::parse(n).unwrap()).collect()
    }

    #[test]
    fn pages_walk_the_whole_list_once() {
        let all = tags(&["a", "b", "c", "d", "e"]);
        let mut request = PageRequest::first(2);
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = Page::cut(all.clone(), &request);
            pages += 1;
            seen.extend(page.items.clone());
            match page.next {
                Some(next) => request = PageRequest::after(2, next),
                None => break,
            }
        }
        assert_eq!(seen, all);
        assert_eq!(pages, 3);
    }

    #[test]
    fn exact_fit_has_no_next_page() {
        let all = tags(&["a", "b"]);
        let page = Page::cut(all.clone(), &PageRequest::first(2));
        assert_eq!((page.items, page.next), (all, None));
        let empty = Page::cut(tags(&["a"]), &PageRequest::first(0));
        assert!(empty.items.is_empty() && empty.next.is_none());
        let past_the_end = Page::cut(
            tags(&["a"]),
            &PageRequest::after(5, tags(&["z"])[0].clone()),
        );
        assert!(past_the_end.items.is_empty() && past_the_end.next.is_none());
        let between = Page::cut(
            tags(&["a", "c"]),
            &PageRequest::after(5, tags(&["b"])[0].clone()),
        );
        assert_eq!(between.items, tags(&["c"]));
    }

    #[test]
    fn parameters_are_validated() {
        let parsed = PageRequest::parse_tags(Some("5"), Some("v1")).unwrap();
        assert_eq!(parsed, PageRequest::after(5, tags(&["v1"])[0].clone()));
        assert_eq!(
            PageRequest::parse_tags(None, None).unwrap().n,
            DEFAULT_PAGE_SIZE
        );
        assert_eq!(
            PageRequest::parse_tags(Some("1000000"), None).unwrap().n,
            MAX_PAGE_SIZE
        );
        for bad in ["-1", "x", "", "1.5"] {
            let err = PageRequest::parse_tags(Some(bad), None).unwrap_err();
            assert!(
                matches!(err, Error::InvalidPage { name: "n", .. }),
                "{bad}: {err}"
            );
        }
        let err = PageRequest::parse_tags(None, Some("../x")).unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err}");
        let err = PageRequest::parse_repositories(None, Some("Team/app")).unwrap_err();
        assert!(err.to_string().contains("lowercase"), "{err}");
    }
}
