//! The servers' own `macro_rules!` macros, expanded by substitution so that what they generate is
//! analysed like hand-written code: a body's statement or expression macro becomes the statements
//! it stands for, an item macro the items it defines.
//!
//! Supported: rules whose matchers are literal tokens, delimited groups, fragments (`$x:expr`,
//! `ident`, `ty`, `path`, `pat`, `tt`, `literal`, `block`...) and repetitions `$( .. ) sep op`
//! (nested too), matched greedily without backtracking as `rustc` does for these shapes; the
//! transcriber's `$x`, `$crate` and repetitions. A fragment other than a single token tree ends at
//! the next literal token of its matcher (or `,`/`;`/`=>` for an expression). Anything else - no
//! rule matching, a fragment whose end cannot be told, a repetition of unequal lengths - is *not
//! expanded*: the caller counts the invocation as a construct it did not follow (its effects
//! unknown), never drops it.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use std::collections::BTreeMap;

/// How deep a macro's expansion may invoke macros again before the analysis stops following it.
pub const MAX_EXPANSION_DEPTH: usize = 8;

/// One `macro_rules!` definition: its rules, (matcher, transcriber).
#[derive(Clone, Debug)]
pub struct MacroDef {
    /// The rules in order.
    pub rules: Vec<(TokenStream, TokenStream)>,
}

/// A piece of a matcher.
#[derive(Clone, Debug)]
enum Pat {
    /// A token to match exactly (by its text).
    Literal(String),
    /// A delimited group of matchers.
    Group(Delimiter, Vec<Pat>),
    /// `$name:kind`.
    Fragment(String, String),
    /// `$( .. ) sep op`.
    Repeat(Vec<Pat>, Option<String>, char),
}

/// What a fragment captured.
#[derive(Clone, Debug)]
enum Bound {
    /// Tokens, with the fragment kind.
    Tokens(Vec<TokenTree>, String),
    /// One set of bindings per repetition.
    Repeated(Vec<Bindings>),
}

type Bindings = BTreeMap<String, Bound>;

/// Fragment kinds that are exactly one token tree.
const ONE_TREE: [&str; 4] = ["ident", "tt", "literal", "block"];

impl MacroDef {
    /// Reads `macro_rules! name { (matcher) => { transcriber }; .. }`'s body.
    pub fn parse(body: &TokenStream) -> Option<MacroDef> {
        let tokens: Vec<TokenTree> = body.clone().into_iter().collect();
        let mut rules = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let TokenTree::Group(matcher) = &tokens[i] else { return None };
            let arrow = tokens.get(i + 1).map(ToString::to_string).unwrap_or_default()
                + &tokens.get(i + 2).map(ToString::to_string).unwrap_or_default();
            if arrow != "=>" {
                return None;
            }
            let TokenTree::Group(transcriber) = tokens.get(i + 3)? else { return None };
            rules.push((matcher.stream(), transcriber.stream()));
            i += 4;
            if tokens.get(i).is_some_and(|t| t.to_string() == ";") {
                i += 1;
            }
        }
        (!rules.is_empty()).then_some(MacroDef { rules })
    }

    /// The tokens an invocation with `input` stands for, or `None` when it cannot be told.
    pub fn expand(&self, input: &TokenStream) -> Option<TokenStream> {
        let toks: Vec<TokenTree> = input.clone().into_iter().collect();
        for (matcher, transcriber) in &self.rules {
            let pats = parse_matcher(matcher)?;
            if let Some((bindings, used)) = match_prefix(&pats, &toks, None)
                && used == toks.len()
            {
                return transcribe(transcriber, &bindings);
            }
        }
        None
    }
}

fn parse_matcher(stream: &TokenStream) -> Option<Vec<Pat>> {
    let toks: Vec<TokenTree> = stream.clone().into_iter().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            TokenTree::Punct(p) if p.as_char() == '$' => match toks.get(i + 1)? {
                TokenTree::Ident(name) => {
                    let colon = toks.get(i + 2)?;
                    let TokenTree::Ident(kind) = toks.get(i + 3)? else { return None };
                    if colon.to_string() != ":" {
                        return None;
                    }
                    out.push(Pat::Fragment(name.to_string(), kind.to_string()));
                    i += 4;
                }
                TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis => {
                    let inner = parse_matcher(&g.stream())?;
                    let next = toks.get(i + 2).map(ToString::to_string).unwrap_or_default();
                    let (sep, op, used) = match next.as_str() {
                        "*" | "+" | "?" => (None, next.chars().next()?, 3),
                        _ => {
                            let op = toks.get(i + 3).map(ToString::to_string).unwrap_or_default();
                            if !matches!(op.as_str(), "*" | "+" | "?") {
                                return None;
                            }
                            (Some(next), op.chars().next()?, 4)
                        }
                    };
                    out.push(Pat::Repeat(inner, sep, op));
                    i += used;
                }
                _ => return None,
            },
            TokenTree::Group(g) => {
                out.push(Pat::Group(g.delimiter(), parse_matcher(&g.stream())?));
                i += 1;
            }
            other => {
                out.push(Pat::Literal(other.to_string()));
                i += 1;
            }
        }
    }
    Some(out)
}

/// Matches `pats` against the start of `toks`; `follow` is the token that comes after them (where
/// a greedy fragment at their end stops). Returns the bindings and how many tokens were used.
fn match_prefix(pats: &[Pat], toks: &[TokenTree], follow: Option<&str>) -> Option<(Bindings, usize)> {
    let mut bindings = Bindings::new();
    let mut i = 0;
    for (k, pat) in pats.iter().enumerate() {
        let next_literal = match pats.get(k + 1) {
            Some(Pat::Literal(l)) => Some(l.as_str()),
            Some(_) => None,
            None => follow,
        };
        match pat {
            Pat::Literal(l) => {
                if toks.get(i).map(ToString::to_string).as_deref() != Some(l.as_str()) {
                    return None;
                }
                i += 1;
            }
            Pat::Group(delim, inner) => {
                let TokenTree::Group(g) = toks.get(i)? else { return None };
                if g.delimiter() != *delim {
                    return None;
                }
                let inner_toks: Vec<TokenTree> = g.stream().into_iter().collect();
                let (b, used) = match_prefix(inner, &inner_toks, None)?;
                if used != inner_toks.len() {
                    return None;
                }
                bindings.extend(b);
                i += 1;
            }
            Pat::Fragment(name, kind) => {
                let taken = if ONE_TREE.contains(&kind.as_str()) {
                    toks.get(i)?;
                    1
                } else {
                    let is_expr = kind == "expr";
                    // A greedy fragment must know where it ends.
                    if next_literal.is_none() && pats.get(k + 1).is_some() {
                        return None;
                    }
                    let end = toks[i..]
                        .iter()
                        .position(|t| {
                            let s = t.to_string();
                            Some(s.as_str()) == next_literal || (is_expr && (s == "," || s == ";"))
                        })
                        .unwrap_or(toks.len() - i);
                    // `=>` is two tokens: an expression stops before `=` followed by `>`.
                    let end = if is_expr {
                        (0..end)
                            .find(|&j| {
                                toks[i + j].to_string() == "="
                                    && toks.get(i + j + 1).is_some_and(|t| t.to_string() == ">")
                            })
                            .unwrap_or(end)
                    } else {
                        end
                    };
                    if end == 0 {
                        return None;
                    }
                    end
                };
                bindings.insert(name.clone(), Bound::Tokens(toks[i..i + taken].to_vec(), kind.clone()));
                i += taken;
            }
            Pat::Repeat(inner, sep, op) => {
                let stop = sep.as_deref().or(next_literal);
                let mut reps = Vec::new();
                while i < toks.len() {
                    if Some(toks[i].to_string().as_str()) == next_literal
                        && sep.is_none()
                        && !starts_with_literal(inner)
                    {
                        break;
                    }
                    let Some((b, used)) = match_prefix(inner, &toks[i..], stop) else { break };
                    if used == 0 {
                        break;
                    }
                    reps.push(b);
                    i += used;
                    if *op == '?' {
                        break;
                    }
                    match sep {
                        Some(s) if toks.get(i).is_some_and(|t| t.to_string() == *s) => {
                            // A trailing separator belongs to the repetition only if another follows.
                            if match_prefix(inner, &toks[i + 1..], stop).is_some() {
                                i += 1;
                            } else {
                                break;
                            }
                        }
                        Some(_) => break,
                        None => {}
                    }
                }
                if *op == '+' && reps.is_empty() {
                    return None;
                }
                for name in fragment_names(inner) {
                    bindings.insert(name, Bound::Repeated(reps.clone()));
                }
            }
        }
    }
    Some((bindings, i))
}

fn starts_with_literal(pats: &[Pat]) -> bool {
    matches!(pats.first(), Some(Pat::Literal(_)))
}

fn fragment_names(pats: &[Pat]) -> Vec<String> {
    let mut out = Vec::new();
    for p in pats {
        match p {
            Pat::Fragment(n, _) => out.push(n.clone()),
            Pat::Group(_, inner) | Pat::Repeat(inner, _, _) => out.extend(fragment_names(inner)),
            Pat::Literal(_) => {}
        }
    }
    out
}

/// The names a transcriber piece uses.
fn used_names(toks: &[TokenTree]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        match t {
            TokenTree::Punct(p) if p.as_char() == '$' => {
                if let Some(TokenTree::Ident(n)) = toks.get(i + 1) {
                    out.push(n.to_string());
                }
            }
            TokenTree::Group(g) => out.extend(used_names(&g.stream().into_iter().collect::<Vec<_>>())),
            _ => {}
        }
    }
    out
}

fn transcribe(stream: &TokenStream, bindings: &Bindings) -> Option<TokenStream> {
    let toks: Vec<TokenTree> = stream.clone().into_iter().collect();
    let mut out: Vec<TokenTree> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            TokenTree::Punct(p) if p.as_char() == '$' => match toks.get(i + 1)? {
                TokenTree::Ident(name) if name == "crate" => {
                    out.push(TokenTree::Ident(proc_macro2::Ident::new("crate", name.span())));
                    i += 2;
                }
                TokenTree::Ident(name) => {
                    match bindings.get(&name.to_string())? {
                        Bound::Tokens(t, kind) if kind == "expr" => {
                            // An expression keeps its precedence where it is substituted.
                            let group = Group::new(Delimiter::Parenthesis, t.iter().cloned().collect());
                            out.push(TokenTree::Group(group));
                        }
                        Bound::Tokens(t, _) => out.extend(t.iter().cloned()),
                        Bound::Repeated(_) => return None,
                    }
                    i += 2;
                }
                TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis => {
                    let next = toks.get(i + 2).map(ToString::to_string).unwrap_or_default();
                    let (sep, used) = match next.as_str() {
                        "*" | "+" | "?" => (None, 3),
                        _ => (Some(toks.get(i + 2)?.clone()), 4),
                    };
                    let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                    let mut count: Option<usize> = None;
                    for name in used_names(&inner) {
                        if let Some(Bound::Repeated(reps)) = bindings.get(&name) {
                            if count.is_some_and(|c| c != reps.len()) {
                                return None;
                            }
                            count = Some(reps.len());
                        }
                    }
                    let count = count?;
                    for k in 0..count {
                        let mut inner_bindings = bindings.clone();
                        for name in used_names(&inner) {
                            if let Some(Bound::Repeated(reps)) = bindings.get(&name) {
                                inner_bindings.extend(reps[k].clone());
                            }
                        }
                        out.extend(transcribe(&g.stream(), &inner_bindings)?);
                        if k + 1 < count
                            && let Some(s) = &sep
                        {
                            out.push(s.clone());
                        }
                    }
                    i += used;
                }
                _ => return None,
            },
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), transcribe(&g.stream(), bindings)?);
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
                i += 1;
            }
            other => {
                out.push(other.clone());
                i += 1;
            }
        }
    }
    Some(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(text: &str) -> MacroDef {
        let m: syn::ItemMacro = syn::parse_str(text).expect("a macro_rules item");
        MacroDef::parse(&m.mac.tokens).expect("rules")
    }

    fn expand(d: &MacroDef, input: &str) -> Option<String> {
        d.expand(&input.parse().expect("tokens")).map(|t| t.to_string())
    }

    #[test]
    fn fragments_are_substituted_keeping_precedence() {
        let d = def("macro_rules! bump { ($s:expr, $by:expr) => { $s.n.set($s.n.get() + $by); }; }");
        assert_eq!(
            expand(&d, "ctx.state, 1").as_deref(),
            Some("(ctx . state) . n . set ((ctx . state) . n . get () + (1)) ;")
        );
        assert_eq!(expand(&d, "ctx.state"), None, "no rule matches");
    }

    #[test]
    fn repetitions_are_expanded() {
        let d = def("macro_rules! each { ($s:expr; $($v:expr),*) => { $( $s.set($v); )* }; }");
        assert_eq!(expand(&d, "x; 5, 6").as_deref(), Some("(x) . set ((5)) ; (x) . set ((6)) ;"));
        let d = def(
            "macro_rules! errnos { ($($name:ident = $value:expr, $text:expr;)*) => { enum E { $($name = $value,)* } }; }",
        );
        assert_eq!(expand(&d, "A = 1, \"a\"; B = 2, \"b\";").as_deref(), Some("enum E { A = (1) , B = (2) , }"));
    }

    #[test]
    fn the_first_matching_rule_is_used() {
        let d = def("macro_rules! m { () => { 0 }; ($x:ident) => { $x }; }");
        assert_eq!(expand(&d, "").as_deref(), Some("0"));
        assert_eq!(expand(&d, "y").as_deref(), Some("y"));
    }
}
