//! `WWW-Authenticate` challenges, both ways: parsing the one a checking registry sends
//! (`Bearer realm="…",service="…",scope="…"`, the token flow of the distribution
//! spec) and writing the one the agent sends its own clients.
//!
//! The agent answers with a `Bearer` challenge whose realm is its own token endpoint
//! ([`crate::pull_auth::token`]): docker then asks that endpoint for a token, sending
//! the `docker login` credentials if it has some and nothing otherwise, so anonymous
//! pulls of public repositories keep working next to private ones. (A `Basic`
//! challenge would make docker refuse every pull it holds no credentials for.)

/// A parsed `Bearer` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerChallenge {
    pub realm: String,
    pub service: Option<String>,
    pub scope: Option<String>,
}

/// The `Bearer` challenge in a `WWW-Authenticate` value; `None` for other schemes or
/// without a realm.
pub fn parse_bearer(value: &str) -> Option<BearerChallenge> {
    let value = value.trim();
    let (scheme, params) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut challenge = BearerChallenge {
        realm: String::new(),
        service: None,
        scope: None,
    };
    for (key, param) in parameters(params) {
        match key.to_ascii_lowercase().as_str() {
            "realm" => challenge.realm = param,
            "service" => challenge.service = Some(param),
            "scope" => challenge.scope = Some(param),
            _ => {}
        }
    }
    (!challenge.realm.is_empty()).then_some(challenge)
}

/// `key=value` pairs separated by commas; values optionally quoted, with `\"` escapes
/// (a scope may hold commas inside its quotes: `repository:a:pull,push`).
fn parameters(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if chars.next().is_none() {
            break;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value.extend(std::iter::from_fn(|| chars.next_if(|c| *c != ',')));
        }
        pairs.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    pairs
}

/// The scope of a pull of `repository`, as a token request names it.
pub fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

/// The repository of a pull scope (`repository:team/app:pull`); `None` for other
/// resource types (`registry:catalog:*`).
pub fn scope_repository(scope: &str) -> Option<&str> {
    let rest = scope.strip_prefix("repository:")?;
    let (name, _actions) = rest.rsplit_once(':')?;
    (!name.is_empty()).then_some(name)
}

/// The agent's challenge: its token endpoint at `realm`, and the scope of the
/// repository asked for, if any.
pub fn agent_challenge(realm: &str, scope: Option<&str>) -> String {
    let mut challenge = format!(r#"Bearer realm="{realm}",service="{SERVICE}""#);
    if let Some(scope) = scope {
        challenge.push_str(&format!(r#",scope="{scope}""#));
    }
    challenge
}

/// The `service` the agent's tokens are for.
pub const SERVICE: &str = "starling-agent";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_distribution_spec_challenge() {
        let parsed = parse_bearer(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#,
        )
        .unwrap();
        assert_eq!(parsed.realm, "https://auth.docker.io/token");
        assert_eq!(parsed.service.as_deref(), Some("registry.docker.io"));
        assert_eq!(
            parsed.scope.as_deref(),
            Some("repository:samalba/my-app:pull,push")
        );
    }

    #[test]
    fn unquoted_values_spaces_and_case_are_accepted() {
        let parsed = parse_bearer("bearer realm=http://a/t, Service=s").unwrap();
        assert_eq!(parsed.realm, "http://a/t");
        assert_eq!(parsed.service.as_deref(), Some("s"));
        assert_eq!(parsed.scope, None);
        let escaped = parse_bearer(r#"Bearer realm="http://a/\"t\"""#).unwrap();
        assert_eq!(escaped.realm, r#"http://a/"t""#);
    }

    #[test]
    fn other_schemes_and_missing_realms_are_not_bearer_challenges() {
        assert_eq!(parse_bearer(r#"Basic realm="starling""#), None);
        assert_eq!(parse_bearer(r#"Bearer service="x""#), None);
        assert_eq!(parse_bearer("Bearer"), None);
    }

    #[test]
    fn scopes_name_their_repository() {
        assert_eq!(
            scope_repository("repository:team/app:pull"),
            Some("team/app")
        );
        assert_eq!(
            scope_repository("repository:127.0.0.1_5000/a:pull,push"),
            Some("127.0.0.1_5000/a")
        );
        assert_eq!(scope_repository("registry:catalog:*"), None);
        assert_eq!(scope_repository(&pull_scope("a/b")), Some("a/b"));
    }

    #[test]
    fn the_agent_challenge_round_trips() {
        let text = agent_challenge(
            "http://127.0.0.1:16000/auth/token",
            Some("repository:a/b:pull"),
        );
        let parsed = parse_bearer(&text).unwrap();
        assert_eq!(parsed.realm, "http://127.0.0.1:16000/auth/token");
        assert_eq!(parsed.service.as_deref(), Some(SERVICE));
        assert_eq!(parsed.scope.as_deref(), Some("repository:a/b:pull"));
    }
}
