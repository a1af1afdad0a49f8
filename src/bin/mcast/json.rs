//! JSON lines for the few fixed shapes the tool prints: one object per line.

use std::fmt::Write as _;

/// Quotes and escapes `s` as a JSON string.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON object built field by field, in order.
#[derive(Debug, Default)]
pub struct Object(String);

impl Object {
    /// An empty object.
    pub fn new() -> Object {
        Object(String::new())
    }

    fn key(&mut self, key: &str) {
        self.0.push(if self.0.is_empty() { '{' } else { ',' });
        self.0.push_str(&string(key));
        self.0.push(':');
    }

    /// A string field.
    pub fn str(mut self, key: &str, value: impl AsRef<str>) -> Object {
        self.key(key);
        self.0.push_str(&string(value.as_ref()));
        self
    }

    /// A string field, or `null`.
    pub fn opt_str(self, key: &str, value: Option<impl AsRef<str>>) -> Object {
        match value {
            Some(v) => self.str(key, v),
            None => self.raw(key, "null"),
        }
    }

    /// A number (or any value whose `Display` is valid JSON: integers, floats, bools).
    pub fn num(mut self, key: &str, value: impl std::fmt::Display) -> Object {
        self.key(key);
        let _ = write!(self.0, "{value}");
        self
    }

    /// A field whose value is already JSON.
    pub fn raw(mut self, key: &str, json: &str) -> Object {
        self.key(key);
        self.0.push_str(json);
        self
    }

    /// An array of strings.
    pub fn strs<S: AsRef<str>>(self, key: &str, values: impl IntoIterator<Item = S>) -> Object {
        let items: Vec<String> = values.into_iter().map(|v| string(v.as_ref())).collect();
        self.raw(key, &format!("[{}]", items.join(",")))
    }

    /// The object's text.
    pub fn finish(self) -> String {
        if self.0.is_empty() { "{}".into() } else { self.0 + "}" }
    }
}

/// An array of already-encoded JSON values.
pub fn array(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_orders_fields() {
        assert_eq!(string("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
        let o = Object::new().str("s", "x").num("n", 3).num("b", true).opt_str("none", None::<&str>).strs("l", ["a"]);
        assert_eq!(o.finish(), r#"{"s":"x","n":3,"b":true,"none":null,"l":["a"]}"#);
        assert_eq!(Object::new().finish(), "{}");
    }
}
