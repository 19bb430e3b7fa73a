//! Which route a request is for: the stage prefix, then the most specific path template.

use super::refusal::{Kind, Refusal};
use super::{Gateway, Matched};
use crate::gateway::event::percent_decode;
use crate::gateway::spec::Segment;

impl Gateway {
    /// API Gateway's matching: under the stage prefix first (AWS URLs), then at the root; the
    /// most specific template wins (a literal segment beats a parameter, which beats a greedy
    /// one, compared left to right).
    pub(super) fn find_route(&self, method: &str, raw_path: &str) -> Result<Matched<'_>, Refusal> {
        let segs: Vec<&str> = raw_path.split('/').filter(|s| !s.is_empty()).collect();
        let mut candidates = Vec::with_capacity(2);
        if segs.first() == Some(&self.stage.as_str()) {
            candidates.push(&segs[1..]);
        }
        candidates.push(&segs[..]);
        for segs in candidates {
            let best = self
                .api
                .resources
                .iter()
                .filter_map(|r| match_segments(&r.segments, segs).map(|(rank, p)| (rank, r, p)))
                .min_by(|a, b| a.0.cmp(&b.0));
            let Some((_, resource, params)) = best else {
                continue;
            };
            let route = resource
                .routes
                .iter()
                .find(|r| r.method == method)
                .or_else(|| resource.routes.iter().find(|r| r.method == "ANY"));
            return match route {
                Some(route) => Ok(Matched {
                    resource,
                    route,
                    path: format!("/{}", segs.join("/")),
                    params,
                }),
                // API Gateway says 403 "Missing Authentication Token" here and for unknown
                // paths; a 405 that lists the methods is what a person debugging needs.
                None => {
                    let allowed: Vec<&str> =
                        resource.routes.iter().map(|r| r.method.as_str()).collect();
                    let allowed = allowed.join(", ");
                    Err(Refusal {
                        kind: Kind::MethodNotAllowed,
                        message: format!(
                            "No route for {method} {raw_path} (this path allows {allowed})"
                        ),
                        allow: Some(allowed),
                        detail: None,
                    })
                }
            };
        }
        // API Gateway: 403 "Missing Authentication Token"; a 404 says what is actually wrong.
        Err(Refusal::new(
            Kind::NotFound,
            format!("No route for {method} {raw_path}"),
        ))
    }
}

/// A template's rank for a request (0 literal, 1 parameter, 2 greedy, per segment; lower is
/// more specific) and the decoded path parameters.
type SegmentMatch = (Vec<u8>, Vec<(String, String)>);

/// The template segments against the request's.
fn match_segments(tpl: &[Segment], segs: &[&str]) -> Option<SegmentMatch> {
    let mut rank = Vec::with_capacity(tpl.len());
    let mut params = Vec::new();
    for (i, t) in tpl.iter().enumerate() {
        match t {
            Segment::Literal(l) => {
                if percent_decode(segs.get(i)?, false) != *l {
                    return None;
                }
                rank.push(0);
            }
            Segment::Param(name) => {
                params.push((name.clone(), percent_decode(segs.get(i)?, false)));
                rank.push(1);
            }
            Segment::Greedy(name) => {
                let rest = segs.get(i..).filter(|r| !r.is_empty())?;
                let value: Vec<String> = rest.iter().map(|s| percent_decode(s, false)).collect();
                params.push((name.clone(), value.join("/")));
                rank.push(2);
                return Some((rank, params));
            }
        }
    }
    (segs.len() == tpl.len()).then_some((rank, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(t: &str) -> Vec<Segment> {
        t.split('/')
            .filter(|s| !s.is_empty())
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(n) => match n.strip_suffix('+') {
                        Some(g) => Segment::Greedy(g.into()),
                        None => Segment::Param(n.into()),
                    },
                    None => Segment::Literal(s.into()),
                },
            )
            .collect()
    }

    #[test]
    fn literal_beats_parameter_beats_greedy() {
        let a = match_segments(&seg("/orders/{id}"), &["orders", "complete"]).unwrap();
        let b = match_segments(&seg("/orders/complete"), &["orders", "complete"]).unwrap();
        let c = match_segments(&seg("/orders/{p+}"), &["orders", "complete"]).unwrap();
        assert!(b.0 < a.0 && a.0 < c.0);
        assert_eq!(a.1, vec![("id".to_owned(), "complete".to_owned())]);
        assert!(match_segments(&seg("/orders/{id}"), &["orders"]).is_none());
        assert!(match_segments(&seg("/orders/{p+}"), &["orders"]).is_none());
        assert_eq!(
            match_segments(&seg("/f/{p+}"), &["f", "a", "b%20c"])
                .unwrap()
                .1,
            vec![("p".to_owned(), "a/b c".to_owned())]
        );
    }
}
