//! Conditions: boolean expressions over event ids ("has this event already happened?").
//!
//! Grammar, loosest binding first:
//!
//! ```text
//! or_expr  := and_expr ("or" and_expr)*
//! and_expr := unary ("and" unary)*
//! unary    := "not" unary | "(" or_expr ")" | "true" | "false" | "ever" "(" event_id ")"
//!           | event_id
//! ```
//!
//! An event id holds while the event is in effect; `ever(id)` holds once it has ever started
//! (for an event that never ends, the two are the same).

use std::fmt;

/// Words that cannot be used as event ids because the condition language owns them.
pub const RESERVED_WORDS: [&str; 5] = ["and", "or", "not", "true", "false"];

/// Deeper nesting than this is refused, so that a hostile file cannot exhaust the stack.
const MAX_DEPTH: usize = 64;
/// Longer conditions than this are refused; real scenarios use a handful of terms.
const MAX_TERMS: usize = 1000;

/// A parsed condition, with event ids resolved to bit indices of the event set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Const(bool),
    Happened(u8),
    Not(Box<Condition>),
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

impl Condition {
    /// Does the condition hold on the set `happened` (bit i set = event i happened)?
    pub fn holds(&self, happened: u64) -> bool {
        match self {
            Condition::Const(value) => *value,
            Condition::Happened(bit) => happened >> bit & 1 == 1,
            Condition::Not(inner) => !inner.holds(happened),
            Condition::And(terms) => terms.iter().all(|c| c.holds(happened)),
            Condition::Or(terms) => terms.iter().any(|c| c.holds(happened)),
        }
    }

    /// The events the condition mentions, as a bit set.
    pub fn mentions(&self) -> u64 {
        match self {
            Condition::Const(_) => 0,
            Condition::Happened(bit) => 1 << bit,
            Condition::Not(inner) => inner.mentions(),
            Condition::And(terms) | Condition::Or(terms) => {
                terms.iter().fold(0, |acc, c| acc | c.mentions())
            }
        }
    }

    /// Writes the condition back as text, naming events with `name`.
    pub fn render(&self, name: &dyn Fn(u8) -> String) -> String {
        match self {
            Condition::Const(value) => value.to_string(),
            Condition::Happened(bit) => name(*bit),
            Condition::Not(inner) => format!("not {}", inner.render_operand(name)),
            Condition::And(terms) => join(terms, " and ", name),
            Condition::Or(terms) => join(terms, " or ", name),
        }
    }

    fn render_operand(&self, name: &dyn Fn(u8) -> String) -> String {
        match self {
            Condition::And(_) | Condition::Or(_) => format!("({})", self.render(name)),
            _ => self.render(name),
        }
    }
}

fn join(terms: &[Condition], separator: &str, name: &dyn Fn(u8) -> String) -> String {
    terms
        .iter()
        .map(|t| t.render_operand(name))
        .collect::<Vec<_>>()
        .join(separator)
}

/// Most (must have, must not have) terms a condition is expanded to for fast evaluation.
const MAX_MASK_TERMS: usize = 64;

/// A condition in the form the simulator evaluates many times: a disjunction of
/// (must have, must not have) bit masks, or the tree itself when that would be too long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    Masks(Vec<(u64, u64)>),
    Tree(Condition),
}

impl Test {
    pub fn new(condition: &Condition) -> Test {
        match masks(condition, false) {
            Some(terms) => Test::Masks(terms),
            None => Test::Tree(condition.clone()),
        }
    }

    pub fn holds(&self, happened: u64) -> bool {
        match self {
            Test::Masks(terms) => terms
                .iter()
                .any(|&(have, lack)| happened & have == have && happened & lack == 0),
            Test::Tree(condition) => condition.holds(happened),
        }
    }
}

/// The condition (or its negation) in disjunctive normal form, or `None` past the size limit.
fn masks(condition: &Condition, negated: bool) -> Option<Vec<(u64, u64)>> {
    let terms = match (condition, negated) {
        (Condition::Const(value), _) => {
            if *value != negated {
                vec![(0, 0)]
            } else {
                Vec::new()
            }
        }
        (Condition::Happened(bit), false) => vec![(1 << bit, 0)],
        (Condition::Happened(bit), true) => vec![(0, 1 << bit)],
        (Condition::Not(inner), _) => masks(inner, !negated)?,
        // De Morgan: a negated conjunction is a disjunction of negations, and vice versa.
        (Condition::Or(parts), false) | (Condition::And(parts), true) => {
            let mut terms = Vec::new();
            for part in parts {
                terms.extend(masks(part, negated)?);
            }
            terms
        }
        (Condition::And(parts), false) | (Condition::Or(parts), true) => {
            let mut terms = vec![(0u64, 0u64)];
            for part in parts {
                let part = masks(part, negated)?;
                let mut product = Vec::new();
                for &(have, lack) in &terms {
                    for &(h, l) in &part {
                        let (have, lack) = (have | h, lack | l);
                        if have & lack == 0 {
                            product.push((have, lack));
                        }
                    }
                }
                if product.len() > MAX_MASK_TERMS {
                    return None;
                }
                terms = product;
            }
            terms
        }
    };
    (terms.len() <= MAX_MASK_TERMS).then_some(terms)
}

/// Why a condition could not be parsed; `column` is 1-based within the condition text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at column {})", self.message, self.column)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a str),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token<'_>)>, ConditionError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' || c == ')' {
            chars.next();
            tokens.push((at, if c == '(' { Token::Open } else { Token::Close }));
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let mut end = at;
            while let Some(&(i, c)) = chars.peek() {
                if !(c.is_ascii_alphanumeric() || c == '_') {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
            tokens.push((at, Token::Word(&text[at..end])));
        } else {
            return Err(ConditionError {
                column: text[..at].chars().count() + 1,
                message: format!(
                    "unexpected character '{c}': use event ids, and, or, not and parentheses"
                ),
            });
        }
        if tokens.len() > MAX_TERMS {
            return Err(ConditionError {
                column: 1,
                message: format!("condition is longer than {MAX_TERMS} terms"),
            });
        }
    }
    Ok(tokens)
}

struct Parser<'a, 'r> {
    text: &'a str,
    tokens: Vec<(usize, Token<'a>)>,
    position: usize,
    resolve: &'r Resolve<'r>,
}

/// Resolves an event id to the bit a condition tests: `(id, false)` for the event being in
/// effect, `(id, true)` for `ever(id)`. Returns a message saying why the id is not allowed.
pub type Resolve<'a> = dyn Fn(&str, bool) -> Result<u8, String> + 'a;

/// Parses `text`, resolving each event id with `resolve` (which returns the event's bit or
/// a message saying why the id is not allowed).
pub fn parse(text: &str, resolve: &Resolve<'_>) -> Result<Condition, ConditionError> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err(ConditionError {
            column: 1,
            message: "empty condition".into(),
        });
    }
    let mut parser = Parser {
        text,
        tokens,
        position: 0,
        resolve,
    };
    let condition = parser.or_expr(0)?;
    if parser.position < parser.tokens.len() {
        return Err(parser.error_here("expected 'and', 'or' or the end of the condition"));
    }
    Ok(condition)
}

impl<'a> Parser<'a, '_> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.position).map(|(_, t)| t)
    }

    fn error_here(&self, message: &str) -> ConditionError {
        let (column, found) = match self.tokens.get(self.position) {
            Some((at, token)) => (
                self.text[..*at].chars().count() + 1,
                match token {
                    Token::Word(w) => format!("'{w}'"),
                    Token::Open => "'('".into(),
                    Token::Close => "')'".into(),
                },
            ),
            None => (self.text.chars().count() + 1, "the end".into()),
        };
        ConditionError {
            column,
            message: format!("{message}, found {found}"),
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if self.peek() == Some(&Token::Word(word)) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn resolved(&self, at: usize, id: &str, ever: bool) -> Result<u8, ConditionError> {
        (self.resolve)(id, ever).map_err(|message| ConditionError {
            column: self.text[..at].chars().count() + 1,
            message,
        })
    }

    fn or_expr(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        let mut terms = vec![self.and_expr(depth)?];
        while self.eat_word("or") {
            terms.push(self.and_expr(depth)?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap()
        } else {
            Condition::Or(terms)
        })
    }

    fn and_expr(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        let mut terms = vec![self.unary(depth)?];
        while self.eat_word("and") {
            terms.push(self.unary(depth)?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap()
        } else {
            Condition::And(terms)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        if depth > MAX_DEPTH {
            return Err(self.error_here(&format!("condition nested deeper than {MAX_DEPTH}")));
        }
        let Some(&(at, ref token)) = self.tokens.get(self.position) else {
            return Err(self.error_here("expected an event id, 'not' or '('"));
        };
        match token.clone() {
            Token::Open => {
                self.position += 1;
                let inner = self.or_expr(depth + 1)?;
                if self.peek() != Some(&Token::Close) {
                    return Err(self.error_here("expected ')'"));
                }
                self.position += 1;
                Ok(inner)
            }
            Token::Close => Err(self.error_here("expected an event id, 'not' or '('")),
            Token::Word("not") => {
                self.position += 1;
                Ok(Condition::Not(Box::new(self.unary(depth + 1)?)))
            }
            Token::Word("true") => {
                self.position += 1;
                Ok(Condition::Const(true))
            }
            Token::Word("false") => {
                self.position += 1;
                Ok(Condition::Const(false))
            }
            Token::Word("and" | "or") => Err(self.error_here("expected an event id, 'not' or '('")),
            Token::Word("ever")
                if self.tokens.get(self.position + 1).map(|t| &t.1) == Some(&Token::Open) =>
            {
                self.position += 2;
                let Some(&(at, Token::Word(id))) = self.tokens.get(self.position) else {
                    return Err(self.error_here("expected an event id inside ever(...)"));
                };
                let bit = self.resolved(at, id, true)?;
                self.position += 1;
                if self.peek() != Some(&Token::Close) {
                    return Err(self.error_here("expected ')' after ever(event"));
                }
                self.position += 1;
                Ok(Condition::Happened(bit))
            }
            Token::Word(id) => {
                let bit = self.resolved(at, id, false)?;
                self.position += 1;
                Ok(Condition::Happened(bit))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events a, b, c; `ever(c)` is bit 3 (c ends), `ever(a)` is a itself.
    fn ids(id: &str, ever: bool) -> Result<u8, String> {
        match (id, ever) {
            ("a", _) => Ok(0),
            ("b", _) => Ok(1),
            ("c", false) => Ok(2),
            ("c", true) => Ok(3),
            (other, _) => Err(format!("unknown event id '{other}'")),
        }
    }

    fn eval(text: &str, happened: u64) -> bool {
        parse(text, &ids).unwrap().holds(happened)
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        // a or b and c == a or (b and c)
        assert!(eval("a or b and c", 0b001));
        assert!(!eval("a or b and c", 0b010));
        assert!(eval("a or b and c", 0b110));
        assert!(eval("not a and b", 0b010));
        assert!(!eval("not (a or b)", 0b010));
        assert!(eval("(a or b) and not c", 0b010));
        assert!(eval("true", 0) && !eval("false", 0));
    }

    #[test]
    fn truth_table_matches_boolean_logic() {
        for s in 0..8u64 {
            let (a, b, c) = (s & 1 == 1, s & 2 == 2, s & 4 == 4);
            assert_eq!(eval("a and (b or not c)", s), a && (b || !c));
            assert_eq!(eval("not not a or b and c", s), a || (b && c));
        }
    }

    #[test]
    fn errors_name_the_column() {
        let err = parse("a and (b or c", &ids).unwrap_err();
        assert_eq!(err.column, 14);
        assert!(err.message.contains("expected ')'"));
        let err = parse("a and zz", &ids).unwrap_err();
        assert_eq!(
            (err.column, err.message.as_str()),
            (7, "unknown event id 'zz'")
        );
        assert!(parse("a b", &ids).is_err());
        assert!(parse("", &ids).unwrap_err().message.contains("empty"));
        assert!(parse("a & b", &ids).unwrap_err().message.contains("'&'"));
        assert!(parse("and", &ids).is_err());
        assert!(parse(")", &ids).is_err());
    }

    #[test]
    fn hostile_conditions_are_refused_without_overflowing_the_stack() {
        let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        let err = parse(&deep, &ids).unwrap_err();
        assert!(err.message.contains("nested deeper"), "{err}");
        let deeper = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deeper, &ids).is_err());
        let nots = format!("{}a", "not ".repeat(10_000));
        assert!(parse(&nots, &ids).is_err());
        let long = vec!["a"; 10_000].join(" and ");
        assert!(parse(&long, &ids).unwrap_err().message.contains("terms"));
    }

    #[test]
    fn masks_agree_with_the_tree_on_every_set() {
        let texts = [
            "a or b and c",
            "not (a or b)",
            "(a or b) and not c",
            "not (a and not (b or c))",
            "a and not a",
            "true",
            "false or not true",
        ];
        for text in texts {
            let condition = parse(text, &ids).unwrap();
            let test = Test::new(&condition);
            assert!(matches!(test, Test::Masks(_)), "{text}");
            for s in 0..8u64 {
                assert_eq!(test.holds(s), condition.holds(s), "{text} on {s:03b}");
            }
        }
        // Too long to expand: falls back to the tree, with the same answers.
        let wide = (0..8)
            .map(|_| "(a or b or c)")
            .collect::<Vec<_>>()
            .join(" and ");
        let condition = parse(&wide, &ids).unwrap();
        let test = Test::new(&condition);
        assert!(matches!(test, Test::Tree(_)));
        assert!((0..8).all(|s| test.holds(s) == condition.holds(s)));
    }

    #[test]
    fn ever_names_its_own_bit_and_needs_its_parentheses() {
        assert_eq!(parse("ever(c)", &ids).unwrap(), Condition::Happened(3));
        assert_eq!(parse("ever ( a )", &ids).unwrap(), Condition::Happened(0));
        assert!(eval("ever(c) and not c", 0b1000));
        assert!(!eval("ever(c) and not c", 0b1100));
        // `ever` without parentheses is an id like any other (unknown here).
        assert!(parse("ever", &ids).unwrap_err().message.contains("'ever'"));
        assert!(parse("ever(c", &ids).unwrap_err().message.contains("')'"));
        assert!(parse("ever()", &ids).is_err());
        assert!(parse("ever(not c)", &ids).is_err());
    }

    #[test]
    fn render_round_trips() {
        let name = |bit: u8| ["a", "b", "c", "ever(c)"][bit as usize].to_string();
        for text in [
            "a or b and c",
            "not (a or b)",
            "(a or b) and not c",
            "a and b and c",
            "ever(c) and not c",
        ] {
            let parsed = parse(text, &ids).unwrap();
            let again = parse(&parsed.render(&name), &ids).unwrap();
            assert_eq!(parsed, again, "{text}");
        }
    }
}
