//! Parsing of intrinsic calls, done once when a definition is loaded.

use super::{Arg, Call, Func};
use crate::path::Path;
use serde_json::Value;

/// Parses an intrinsic call such as `States.Format('{}', $.a)`.
pub fn parse(src: &str) -> Result<Call, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut p = Parser { s: &chars, i: 0 };
    p.ws();
    let call = p.call(0)?;
    p.ws();
    if p.i != chars.len() {
        return Err(format!(
            "unexpected text after the intrinsic call in '{src}' at position {}",
            p.i
        ));
    }
    Ok(call)
}

struct Parser<'a> {
    s: &'a [char],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }

    fn call(&mut self, depth: usize) -> Result<Call, String> {
        if depth > 10 {
            return Err("intrinsic functions nested too deeply".into());
        }
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            self.i += 1;
        }
        let name: String = self.s[start..self.i].iter().collect();
        let func =
            Func::from_name(&name).ok_or_else(|| format!("unknown intrinsic function '{name}'"))?;
        self.ws();
        if self.peek() != Some('(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.peek() == Some(')') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                args.push(self.arg(depth)?);
                self.ws();
                match self.peek() {
                    Some(',') => self.i += 1,
                    Some(')') => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(format!("expected ',' or ')' in arguments of {name}")),
                }
            }
        }
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            return Err(format!(
                "{name} takes {} argument(s), got {}",
                if min == max {
                    min.to_string()
                } else if max == usize::MAX {
                    format!("at least {min}")
                } else {
                    format!("{min} to {max}")
                },
                args.len()
            ));
        }
        Ok(Call { func, args })
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        match self.peek() {
            Some('\'') => self.string_literal(),
            Some('$') => self.path(),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(_) => match self.keyword() {
                Some(v) => Ok(Arg::Literal(v)),
                None => Ok(Arg::Call(Box::new(self.call(depth + 1)?))),
            },
            None => Err("unexpected end of intrinsic function".into()),
        }
    }

    /// A quoted string; the opening quote is the current character.
    fn string_literal(&mut self) -> Result<Arg, String> {
        self.i += 1;
        let mut value = String::new();
        let mut raw = String::new();
        loop {
            match self.peek() {
                None => return Err("unterminated string literal".into()),
                Some('\\') => {
                    let Some(n) = self.s.get(self.i + 1).copied() else {
                        return Err("unterminated escape in string literal".into());
                    };
                    raw.push('\\');
                    raw.push(n);
                    value.push(n);
                    self.i += 2;
                }
                Some('\'') => {
                    self.i += 1;
                    break;
                }
                Some(c) => {
                    raw.push(c);
                    value.push(c);
                    self.i += 1;
                }
            }
        }
        Ok(Arg::Str { value, raw })
    }

    /// A path runs to the next ',' or ')' outside brackets/quotes.
    fn path(&mut self) -> Result<Arg, String> {
        let start = self.i;
        let mut depth_b = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            if let Some(q) = quote {
                if c == '\\' {
                    self.i += 1;
                } else if c == q {
                    quote = None;
                }
            } else {
                match c {
                    '\'' | '"' => quote = Some(c),
                    '[' | '(' => depth_b += 1,
                    ']' => depth_b = depth_b.saturating_sub(1),
                    ')' if depth_b == 0 => break,
                    ')' => depth_b -= 1,
                    ',' if depth_b == 0 => break,
                    _ => {}
                }
            }
            self.i += 1;
        }
        let text: String = self.s[start..self.i.min(self.s.len())].iter().collect();
        Ok(Arg::Path(Path::parse(text.trim_end())?))
    }

    fn number(&mut self) -> Result<Arg, String> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        {
            self.i += 1;
        }
        let text: String = self.s[start..self.i].iter().collect();
        let v: Value =
            serde_json::from_str(&text).map_err(|_| format!("invalid number '{text}'"))?;
        Ok(Arg::Literal(v))
    }

    /// `true`, `false` or `null` as a whole word (not the start of a
    /// function name), consumed if present.
    fn keyword(&mut self) -> Option<Value> {
        for (word, v) in [
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("null", Value::Null),
        ] {
            let end = self.i + word.len();
            if end <= self.s.len()
                && self.s[self.i..end].iter().collect::<String>() == word
                && !self
                    .s
                    .get(end)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.')
            {
                self.i = end;
                return Some(v);
            }
        }
        None
    }
}
