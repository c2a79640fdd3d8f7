//! CQL2 filters (OGC API Features Part 3, OGC 21-065) compiled against a
//! collection's queryables and evaluated on snapshot records.
//!
//! The `cql2` crate reads cql2-text and cql2-json into one expression tree; this
//! module checks that tree once — every property a queryable, every literal of the
//! property's type, every operator one we evaluate — and compiles it into a
//! [`Filter`] that is then run on each candidate without allocating. Comparisons
//! follow SQL's three-valued logic: a comparison with a missing (null) value is
//! unknown, `NOT unknown` is unknown, and only features for which the whole filter
//! is true are kept.
//!
//! Spatial predicates compare geometries in lon/lat (CRS84), as OGC API Features
//! and PostGIS's `geometry` type do; `S_DWITHIN(geometry, G, metres)` measures
//! geodesic metres on GRS80 (see [`super::geodesic::within_m`]).

use super::crs::{Crs, Transformer};
use super::geodesic;
use geo::{BoundingRect, Intersects, Relate};
use geo_types::{Coord, Geometry, Point, Rect};

use serde_json::{json, Value};
use std::cmp::Ordering;

/// Longest filter accepted, in characters.
pub const MAX_LEN: usize = 16_384;
/// Deepest nesting of parentheses, brackets and braces accepted.
const MAX_DEPTH: usize = 40;

/// How a filter is written (`filter-lang`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Text,
    Json,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "cql2-text" => Some(Lang::Text),
            "cql2-json" => Some(Lang::Json),
            _ => None,
        }
    }
}

/// The type of a queryable, as its JSON Schema says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Integer,
    Number,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339.
    Timestamp,
    /// The feature's geometry; `format` names the kind (`geometry-point`, …).
    Geometry(&'static str),
}

/// A property a filter may name.
#[derive(Debug, Clone)]
pub struct Queryable {
    pub name: &'static str,
    pub ty: Type,
    pub title: &'static str,
    /// The closed set of values, where there is one.
    pub values: Vec<&'static str>,
}

impl Queryable {
    pub fn new(name: &'static str, ty: Type, title: &'static str) -> Self {
        Queryable { name, ty, title, values: Vec::new() }
    }

    pub fn one_of(name: &'static str, title: &'static str, values: impl IntoIterator<Item = &'static str>) -> Self {
        Queryable { name, ty: Type::String, title, values: values.into_iter().collect() }
    }

    /// The JSON Schema of this queryable (OGC API Features Part 3, `/queryables`).
    pub fn schema(&self) -> Value {
        let mut s = match self.ty {
            Type::String => json!({"type": "string"}),
            Type::Integer => json!({"type": "integer"}),
            Type::Number => json!({"type": "number"}),
            Type::Boolean => json!({"type": "boolean"}),
            Type::Date => json!({"type": "string", "format": "date"}),
            Type::Timestamp => json!({"type": "string", "format": "date-time"}),
            Type::Geometry(format) => json!({"format": format, "x-ogc-role": "primary-geometry"}),
        };
        if let Value::Object(m) = &mut s {
            m.insert("title".into(), json!(self.title));
            if !self.values.is_empty() {
                m.insert("enum".into(), json!(self.values));
            }
        }
        s
    }
}

/// A property value of a feature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    Null,
}

impl<'a> Scalar<'a> {
    /// A JSON value kept with a record (kind-specific attributes).
    pub fn of_json(v: Option<&'a Value>) -> Self {
        match v {
            Some(Value::String(s)) => Scalar::Str(s),
            Some(Value::Number(n)) => n.as_f64().map_or(Scalar::Null, Scalar::Num),
            Some(Value::Bool(b)) => Scalar::Bool(*b),
            _ => Scalar::Null,
        }
    }

    pub fn opt_str(v: Option<&'a str>) -> Self {
        v.map_or(Scalar::Null, Scalar::Str)
    }

    pub fn opt_num<N: Into<f64>>(v: Option<N>) -> Self {
        v.map_or(Scalar::Null, |n| Scalar::Num(n.into()))
    }
}

/// A feature's geometry, borrowed.
#[derive(Debug, Clone, Copy)]
pub enum Shape<'a> {
    Point(f64, f64),
    Geometry(&'a Geometry<f64>),
    Empty,
}

impl Shape<'_> {
    fn rect(&self) -> Option<Rect<f64>> {
        match self {
            Shape::Point(x, y) => Some(Rect::new(Coord { x: *x, y: *y }, Coord { x: *x, y: *y })),
            Shape::Geometry(g) => g.bounding_rect(),
            Shape::Empty => None,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&Geometry<f64>) -> R) -> Option<R> {
        match self {
            Shape::Point(x, y) => Some(f(&Geometry::Point(Point::new(*x, *y)))),
            Shape::Geometry(g) => Some(f(g)),
            Shape::Empty => None,
        }
    }
}

/// What a filter reads of a feature.
pub trait Feature {
    /// The value of queryable `name` (one of the collection's).
    fn property(&self, name: &str) -> Scalar<'_>;
    fn shape(&self) -> Shape<'_>;
}

/// A refused filter: what is wrong, and where (1-based line and column of the
/// cql2-text, or of the cql2-json document), where the parser knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl FilterError {
    fn new(message: impl Into<String>) -> Self {
        FilterError { message: message.into(), line: None, column: None }
    }
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "第 {l} 行第 {c} 列 (line {l}, column {c}): {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    /// A calendar date, `YYYY-MM-DD`.
    Date(String),
    /// An instant, nanoseconds since 1970.
    Time(i128),
}

#[derive(Debug, Clone)]
enum Operand {
    Prop(&'static Queryable),
    /// `CASEI(property)`: compared in lower case.
    CaseI(&'static Queryable),
    /// A literal (`CASEI('…')` already in lower case).
    Lit(Lit),
    /// `NULL`: every comparison with it is unknown.
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spatial {
    Intersects,
    Disjoint,
    Equals,
    Touches,
    Within,
    Contains,
    Overlaps,
    Crosses,
}

#[derive(Debug, Clone)]
enum Node {
    Const(Option<bool>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Cmp(Cmp, Operand, Operand),
    Like(Operand, Vec<Pat>),
    In(Operand, Vec<Operand>),
    Between(Operand, Operand, Operand),
    IsNull(Operand),
    /// The feature's geometry `op` the literal.
    Spatial(Spatial, Box<Geometry<f64>>, Rect<f64>),
    /// Within `metres` (geodesic) of the literal.
    DWithin(Box<Geometry<f64>>, Rect<f64>, f64),
}

/// A piece of a `LIKE` pattern.
#[derive(Debug, Clone, PartialEq)]
enum Pat {
    Char(char),
    /// `_`
    One,
    /// `%`
    Any,
}

/// A compiled filter.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
    /// Where every matching feature lies (CRS84), where the filter says so.
    rect: Option<[f64; 4]>,
}

/// Nesting deeper than `MAX_DEPTH`, counted outside quoted strings (`'…'` in
/// cql2-text, `"…"` in cql2-json), is refused before parsing.
fn too_deep(s: &str, lang: Lang) -> bool {
    let quote = if lang == Lang::Text { '\'' } else { '"' };
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for ch in s.chars() {
        if in_str {
            if lang == Lang::Json && escaped {
                escaped = false;
            } else if lang == Lang::Json && ch == '\\' {
                escaped = true;
            } else if ch == quote {
                in_str = false;
            }
            continue;
        }
        match ch {
            c if c == quote => in_str = true,
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return true;
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

impl Filter {
    /// Read `text` in `lang` against `queryables`; literal geometries are in `crs`
    /// (its authority axis order) and are compared in CRS84.
    pub fn parse(text: &str, lang: Lang, queryables: &'static [Queryable], crs: Crs) -> Result<Filter, FilterError> {
        if text.trim().is_empty() {
            return Err(FilterError::new("过滤条件为空 (the filter is empty)"));
        }
        if text.chars().count() > MAX_LEN {
            return Err(FilterError::new(format!("过滤条件过长 (longer than {MAX_LEN} characters)")));
        }
        if too_deep(text, lang) {
            return Err(FilterError::new(format!("嵌套过深 (nested more than {MAX_DEPTH} deep)")));
        }
        // The parser is outside code: a panic in it is a refused filter, not a dead handler.
        let parsed = std::panic::catch_unwind(|| match lang {
            Lang::Text => cql2::parse_text(text).map_err(text_error),
            Lang::Json => cql2::parse_json(text).map_err(|e| FilterError {
                message: format!("不是有效的 cql2-json (not valid cql2-json): {e}"),
                line: Some(e.line()).filter(|l| *l > 0),
                column: Some(e.column()).filter(|c| *c > 0),
            }),
        })
        .map_err(|_| FilterError::new("无法解析该过滤条件 (the filter could not be read)"))??;
        let mut c = Compiler { queryables, crs };
        let root = c.node(&parsed)?;
        let rect = required_rect(&root);
        Ok(Filter { root, rect })
    }

    /// `name = value` for each pair, `value` read as the queryable's type (the
    /// queryables as query parameters, OGC API Features Part 3); the error names
    /// the pair's name.
    pub fn equalities(
        queryables: &'static [Queryable],
        pairs: &[(&str, &str)],
    ) -> Result<Option<Filter>, (String, FilterError)> {
        let mut nodes = Vec::with_capacity(pairs.len());
        for &(name, raw) in pairs {
            let fail = |e: FilterError| (name.to_string(), e);
            let c = Compiler { queryables, crs: Crs::Crs84 };
            let q = c.queryable(name).map_err(fail)?;
            let lit = match q.ty {
                Type::String => Lit::Str(raw.to_string()),
                Type::Integer | Type::Number => match raw.trim().parse::<f64>() {
                    Ok(x) if x.is_finite() => Lit::Num(x),
                    _ => return Err(fail(FilterError::new(format!("'{raw}' 不是数 (not a number)")))),
                },
                Type::Boolean => match raw {
                    "true" => Lit::Bool(true),
                    "false" => Lit::Bool(false),
                    _ => return Err(fail(FilterError::new(format!("'{raw}' 须为 true 或 false (true or false)")))),
                },
                Type::Date => Lit::Date(parse_date(raw).map_err(fail)?),
                Type::Timestamp => Lit::Time(parse_time(raw).map_err(fail)?),
                Type::Geometry(_) => {
                    return Err(fail(FilterError::new(
                        "几何请用 bbox 或 filter (use bbox or a filter for the geometry)",
                    )))
                }
            };
            let (a, b) = (Operand::Prop(q), Operand::Lit(lit));
            check_types(&a, &b, "=").map_err(fail)?;
            nodes.push(Node::Cmp(Cmp::Eq, a, b));
        }
        Ok(match nodes.len() {
            0 => None,
            _ => Some(Filter { root: Node::And(nodes), rect: None }),
        })
    }

    /// Both filters, where there are any.
    pub fn both(a: Option<Filter>, b: Option<Filter>) -> Option<Filter> {
        match (a, b) {
            (Some(a), Some(b)) => {
                let root = Node::And(vec![a.root, b.root]);
                let rect = required_rect(&root);
                Some(Filter { root, rect })
            }
            (a, b) => a.or(b),
        }
    }

    /// Whether `f` satisfies the filter (true, not false or unknown).
    pub fn matches(&self, f: &dyn Feature) -> bool {
        eval(&self.root, f) == Some(true)
    }

    /// A box (CRS84 `[minx, miny, maxx, maxy]`) every matching feature's geometry
    /// meets, where the filter implies one; the spatial index narrows to it.
    pub fn rect(&self) -> Option<[f64; 4]> {
        self.rect
    }
}

fn text_error(e: cql2::Error) -> FilterError {
    match e {
        cql2::Error::Pest(p) => {
            let (line, column) = match p.line_col {
                pest::error::LineColLocation::Pos(lc) | pest::error::LineColLocation::Span(lc, _) => lc,
            };
            let expected = match &p.variant {
                pest::error::ErrorVariant::ParsingError { .. } => "语法错误 (syntax error)".to_string(),
                pest::error::ErrorVariant::CustomError { message } => message.clone(),
            };
            FilterError {
                message: format!("不是有效的 cql2-text (not valid cql2-text): {expected}"),
                line: Some(line),
                column: Some(column),
            }
        }
        other => FilterError::new(format!("不是有效的 cql2-text (not valid cql2-text): {other}")),
    }
}

struct Compiler {
    queryables: &'static [Queryable],
    crs: Crs,
}

fn op_name(op: &str) -> String {
    op.to_ascii_lowercase()
}

impl Compiler {
    fn queryable(&self, name: &str) -> Result<&'static Queryable, FilterError> {
        self.queryables.iter().find(|q| q.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.queryables.iter().map(|q| q.name).collect();
            FilterError::new(format!(
                "'{name}' 不是该要素集的可查询属性 (not a queryable of this collection; queryables: {})",
                names.join(", ")
            ))
        })
    }

    fn node(&mut self, e: &cql2::Expr) -> Result<Node, FilterError> {
        use cql2::Expr;
        match e {
            Expr::Bool(b) => Ok(Node::Const(Some(*b))),
            Expr::Operation { op, args } => self.operation(&op_name(op), args),
            Expr::Property { property } => {
                let q = self.queryable(property)?;
                if q.ty == Type::Boolean {
                    Ok(Node::Cmp(Cmp::Eq, Operand::Prop(q), Operand::Lit(Lit::Bool(true))))
                } else {
                    Err(FilterError::new(format!("'{property}' 不是布尔值 (not a boolean; compare it with a value)")))
                }
            }
            _ => Err(FilterError::new("过滤条件须为布尔表达式 (the filter must be a boolean expression)")),
        }
    }

    fn operation(&mut self, op: &str, args: &[Box<cql2::Expr>]) -> Result<Node, FilterError> {
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(FilterError::new(format!("{op} 须有 {n} 个参数 (takes {n} arguments, got {})", args.len())))
            }
        };
        let arg = |i: usize| args.get(i).map(|b| b.as_ref());
        match op {
            "and" | "or" => {
                if args.len() < 2 {
                    return Err(FilterError::new(format!("{op} 须有至少 2 个参数 (takes two or more arguments)")));
                }
                let nodes = args.iter().map(|a| self.node(a)).collect::<Result<Vec<_>, _>>()?;
                Ok(if op == "and" { Node::And(nodes) } else { Node::Or(nodes) })
            }
            "not" => {
                arity(1)?;
                let inner = arg(0).map(|a| self.node(a)).transpose()?.unwrap_or(Node::Const(None));
                Ok(Node::Not(Box::new(inner)))
            }
            "=" | "<>" | "<" | "<=" | ">" | ">=" => {
                arity(2)?;
                let cmp = match op {
                    "=" => Cmp::Eq,
                    "<>" => Cmp::Ne,
                    "<" => Cmp::Lt,
                    "<=" => Cmp::Le,
                    ">" => Cmp::Gt,
                    _ => Cmp::Ge,
                };
                let (a, b) = self.pair(arg(0), arg(1), op)?;
                if cmp != Cmp::Eq && cmp != Cmp::Ne {
                    for x in [&a, &b] {
                        if let Some(q) = prop_of(x) {
                            if q.ty == Type::Boolean {
                                return Err(FilterError::new(format!(
                                    "布尔属性 '{}' 只能用 = 或 <> 比较 (a boolean compares with = or <> only)",
                                    q.name
                                )));
                            }
                        }
                    }
                }
                Ok(Node::Cmp(cmp, a, b))
            }
            "like" => {
                arity(2)?;
                let value = self.operand(arg(0))?;
                if let Some(q) = prop_of(&value) {
                    if q.ty != Type::String {
                        return Err(FilterError::new(format!("LIKE 只用于文本属性 ('{}' is not a string)", q.name)));
                    }
                } else {
                    return Err(FilterError::new("LIKE 的左边须为属性 (LIKE compares a property with a pattern)"));
                }
                let pattern = match self.operand(arg(1))? {
                    Operand::Lit(Lit::Str(s)) => s,
                    _ => return Err(FilterError::new("LIKE 的模式须为文本 (the pattern is a string literal)")),
                };
                let pattern = if matches!(value, Operand::CaseI(_)) { pattern.to_lowercase() } else { pattern };
                Ok(Node::Like(value, like_pattern(&pattern)))
            }
            "in" => {
                arity(2)?;
                let value = self.operand(arg(0))?;
                let list = match arg(1) {
                    Some(cql2::Expr::Array(items)) => items,
                    _ => return Err(FilterError::new("IN 的右边须为列表 (IN takes a list)")),
                };
                if list.is_empty() {
                    return Err(FilterError::new("IN 的列表为空 (the list is empty)"));
                }
                let mut out = Vec::with_capacity(list.len());
                for item in list {
                    let o = self.operand(Some(item))?;
                    check_types(&value, &o, "IN")?;
                    out.push(o);
                }
                Ok(Node::In(value, out))
            }
            "between" => {
                arity(3)?;
                let value = self.operand(arg(0))?;
                let lo = self.operand(arg(1))?;
                let hi = self.operand(arg(2))?;
                for b in [&lo, &hi] {
                    check_types(&value, b, "BETWEEN")?;
                    if let Some(q) = prop_of(&value).filter(|q| q.ty == Type::Boolean) {
                        return Err(FilterError::new(format!("'{}' 是布尔值，不能用 BETWEEN (a boolean)", q.name)));
                    }
                }
                Ok(Node::Between(value, lo, hi))
            }
            "isnull" => {
                arity(1)?;
                Ok(Node::IsNull(self.operand(arg(0))?))
            }
            "s_intersects" | "s_disjoint" | "s_equals" | "s_touches" | "s_within" | "s_contains" | "s_overlaps"
            | "s_crosses" => {
                arity(2)?;
                let mut sp = match op {
                    "s_intersects" => Spatial::Intersects,
                    "s_disjoint" => Spatial::Disjoint,
                    "s_equals" => Spatial::Equals,
                    "s_touches" => Spatial::Touches,
                    "s_within" => Spatial::Within,
                    "s_contains" => Spatial::Contains,
                    "s_overlaps" => Spatial::Overlaps,
                    _ => Spatial::Crosses,
                };
                let (first_is_prop, g) = self.spatial_args(arg(0), arg(1), op)?;
                if !first_is_prop {
                    // `S_WITHIN(G, geometry)` is `S_CONTAINS(geometry, G)`.
                    sp = match sp {
                        Spatial::Within => Spatial::Contains,
                        Spatial::Contains => Spatial::Within,
                        s => s,
                    };
                }
                let rect = g.bounding_rect().ok_or_else(|| FilterError::new("空几何 (an empty geometry)"))?;
                Ok(Node::Spatial(sp, Box::new(g), rect))
            }
            "s_dwithin" => {
                if args.len() != 3 && args.len() != 4 {
                    return Err(FilterError::new(
                        "S_DWITHIN(geometry, 几何, 米数) 须有 3 个参数 (takes a property, a geometry and a distance in metres)",
                    ));
                }
                let (_, g) = self.spatial_args(arg(0), arg(1), op)?;
                let metres = match arg(2) {
                    Some(cql2::Expr::Float(d)) if d.is_finite() && *d >= 0.0 && *d <= 20_100_000.0 => *d,
                    _ => {
                        return Err(FilterError::new(
                            "S_DWITHIN 的距离须为 0 至 20100000 米 (the distance is metres, 0 to 20,100,000)",
                        ))
                    }
                };
                if let Some(unit) = arg(3) {
                    let ok = matches!(unit, cql2::Expr::Literal(u) | cql2::Expr::Property { property: u }
                        if matches!(u.to_ascii_lowercase().as_str(), "m" | "meters" | "metres" | "metre" | "meter"));
                    if !ok {
                        return Err(FilterError::new("S_DWITHIN 的单位只能是米 (the only unit is metres: 'm')"));
                    }
                }
                let rect = g.bounding_rect().ok_or_else(|| FilterError::new("空几何 (an empty geometry)"))?;
                Ok(Node::DWithin(Box::new(g), rect, metres))
            }
            "+" | "-" | "*" | "/" | "%" | "^" | "div" => {
                Err(FilterError::new(format!("不支持算术运算 {op} (arithmetic is not supported)")))
            }
            o if o.starts_with("t_") || o == "anyinteracts" => {
                Err(FilterError::new(format!("不支持时间关系 {o}；请用比较 (temporal relations are not supported; compare instead)")))
            }
            o if o.starts_with("a_") => {
                Err(FilterError::new(format!("不支持数组运算 {o} (array operators are not supported)")))
            }
            o => Err(FilterError::new(format!(
                "不支持的运算或函数 '{o}' (unsupported operator or function; supported: AND, OR, NOT, =, <>, <, <=, >, >=, \
                 LIKE, IN, BETWEEN, IS NULL, CASEI, S_INTERSECTS, S_DISJOINT, S_EQUALS, S_TOUCHES, S_WITHIN, S_CONTAINS, \
                 S_OVERLAPS, S_CROSSES, S_DWITHIN)"
            ))),
        }
    }

    fn pair(
        &mut self,
        a: Option<&cql2::Expr>,
        b: Option<&cql2::Expr>,
        op: &str,
    ) -> Result<(Operand, Operand), FilterError> {
        let a = self.operand(a)?;
        let b = self.operand(b)?;
        check_types(&a, &b, op)?;
        Ok((a, b))
    }

    fn operand(&mut self, e: Option<&cql2::Expr>) -> Result<Operand, FilterError> {
        use cql2::Expr;
        let Some(e) = e else { return Err(FilterError::new("缺少参数 (an argument is missing)")) };
        match e {
            Expr::Property { property } => {
                let q = self.queryable(property)?;
                if matches!(q.ty, Type::Geometry(_)) {
                    return Err(FilterError::new(format!(
                        "几何属性 '{property}' 只能用于空间函数 (a geometry is compared with S_INTERSECTS and the like)"
                    )));
                }
                Ok(Operand::Prop(q))
            }
            Expr::Literal(s) => Ok(Operand::Lit(Lit::Str(s.clone()))),
            Expr::Float(x) if x.is_finite() => Ok(Operand::Lit(Lit::Num(*x))),
            Expr::Float(_) => Err(FilterError::new("数值须为有限数 (numbers are finite)")),
            Expr::Bool(b) => Ok(Operand::Lit(Lit::Bool(*b))),
            Expr::Null => Ok(Operand::Null),
            Expr::Date { date } => match date.as_ref() {
                Expr::Literal(s) => parse_date(s).map(|d| Operand::Lit(Lit::Date(d))),
                _ => Err(FilterError::new("DATE 须为 'YYYY-MM-DD' (DATE takes a date string)")),
            },
            Expr::Timestamp { timestamp } => match timestamp.as_ref() {
                Expr::Literal(s) => parse_time(s).map(|t| Operand::Lit(Lit::Time(t))),
                _ => Err(FilterError::new("TIMESTAMP 须为 RFC 3339 时间 (TIMESTAMP takes an RFC 3339 string)")),
            },
            Expr::Operation { op, args } if op_name(op) == "casei" => {
                let [inner] = args.as_slice() else {
                    return Err(FilterError::new("CASEI 须有 1 个参数 (takes one argument)"));
                };
                match self.operand(Some(inner))? {
                    Operand::Prop(q) if q.ty == Type::String => Ok(Operand::CaseI(q)),
                    Operand::Lit(Lit::Str(s)) => Ok(Operand::Lit(Lit::Str(s.to_lowercase()))),
                    _ => Err(FilterError::new("CASEI 只用于文本 (CASEI takes a string property or literal)")),
                }
            }
            Expr::Operation { op, .. } if matches!(op.as_str(), "+" | "-" | "*" | "/" | "%" | "^" | "div") => {
                Err(FilterError::new(format!("不支持算术运算 {op} (arithmetic is not supported)")))
            }
            Expr::Operation { op, .. } => {
                Err(FilterError::new(format!("此处须为属性或值，不是 '{op}' (a property or a value is expected here)")))
            }
            Expr::Geometry(_) | Expr::BBox { .. } => {
                Err(FilterError::new("几何只能用于空间函数 (a geometry is compared with S_INTERSECTS and the like)"))
            }
            Expr::Array(_) => Err(FilterError::new("此处不能用列表 (a list is not expected here)")),
            Expr::Interval { .. } => Err(FilterError::new("不支持时间区间 (intervals are not supported)")),
        }
    }

    /// One argument the collection's geometry, the other a literal geometry (CRS84).
    fn spatial_args(
        &mut self,
        a: Option<&cql2::Expr>,
        b: Option<&cql2::Expr>,
        op: &str,
    ) -> Result<(bool, Geometry<f64>), FilterError> {
        fn is_geometry_prop(e: Option<&cql2::Expr>) -> Option<&str> {
            match e {
                Some(cql2::Expr::Property { property }) => Some(property.as_str()),
                _ => None,
            }
        }
        let (first, prop, lit) = match (is_geometry_prop(a), is_geometry_prop(b)) {
            (Some(p), _) => (true, p, b),
            (None, Some(p)) => (false, p, a),
            (None, None) => {
                return Err(FilterError::new(format!(
                    "{op} 须比较要素的几何与一个几何 (compares the features' geometry with a geometry literal)"
                )))
            }
        };
        let q = self.queryable(prop)?;
        if !matches!(q.ty, Type::Geometry(_)) {
            return Err(FilterError::new(format!("'{prop}' 不是几何属性 (not the geometry; use 'geometry')")));
        }
        let g = self.geometry(lit)?;
        Ok((first, g))
    }

    fn geometry(&mut self, e: Option<&cql2::Expr>) -> Result<Geometry<f64>, FilterError> {
        let g = match e {
            Some(cql2::Expr::Geometry(cql2::Geometry::Wkt(w))) => {
                let parsed: wkt::Wkt<f64> = w
                    .parse()
                    .map_err(|e| FilterError::new(format!("不是有效的 WKT 几何 (not a valid WKT geometry): {e}")))?;
                Geometry::<f64>::try_from(parsed)
                    .map_err(|e| FilterError::new(format!("不支持的几何 (unsupported geometry): {e}")))?
            }
            Some(cql2::Expr::Geometry(cql2::Geometry::GeoJSON(g))) => {
                let v = serde_json::to_string(g).map_err(|e| FilterError::new(e.to_string()))?;
                let g: geojson::Geometry = v.parse().map_err(|e| {
                    FilterError::new(format!("不是有效的 GeoJSON 几何 (not a valid GeoJSON geometry): {e}"))
                })?;
                super::geojson_in::to_geo(g).map_err(FilterError::new)?
            }
            Some(cql2::Expr::BBox { bbox }) => {
                let nums: Vec<f64> = bbox
                    .iter()
                    .map(|b| match b.as_ref() {
                        cql2::Expr::Float(x) if x.is_finite() => Some(*x),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| FilterError::new("BBOX 须为有限的数 (BBOX takes finite numbers)"))?;
                let [a1, a2, b1, b2] = match nums.as_slice() {
                    &[a1, a2, b1, b2] | &[a1, a2, _, b1, b2, _] => [a1, a2, b1, b2],
                    _ => return Err(FilterError::new("BBOX 须为 4 或 6 个数 (BBOX takes four or six numbers)")),
                };
                if a1 > b1 || a2 > b2 {
                    return Err(FilterError::new("BBOX 的最小值须不大于最大值 (lower corner first)"));
                }
                Geometry::Polygon(Rect::new(Coord { x: a1, y: a2 }, Coord { x: b1, y: b2 }).to_polygon())
            }
            _ => {
                return Err(FilterError::new(
                    "须为几何（WKT、GeoJSON 或 BBOX）(a geometry literal is expected: WKT, GeoJSON or BBOX)",
                ))
            }
        };
        self.in_crs84(g)
    }

    /// Literal coordinates from the filter CRS (authority axis order) to CRS84, checked.
    fn in_crs84(&self, mut g: Geometry<f64>) -> Result<Geometry<f64>, FilterError> {
        use geo::CoordsIter;
        if self.crs != Crs::Crs84 {
            let north_first = self.crs.north_first();
            let moved = Transformer::with(self.crs, Crs::Crs84, |t| {
                use geo::MapCoords;
                g.try_map_coords(|c| {
                    let (x, y) = if north_first { (c.y, c.x) } else { (c.x, c.y) };
                    t.convert((x, y)).map(|(x, y)| Coord { x, y })
                })
            });
            g = match moved {
                Ok(Ok(moved)) => moved,
                _ => {
                    return Err(FilterError::new(format!(
                        "无法将几何从 {} 转换到经纬度 (cannot transform the geometry)",
                        self.crs.code()
                    )))
                }
            };
        }
        let in_range = g.coords_iter().all(|c| {
            c.x.is_finite() && c.y.is_finite() && (-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y)
        });
        if !in_range {
            return Err(FilterError::new(
                "经度须在 -180 至 180、纬度须在 -90 至 90 之间 (longitude -180..180, latitude -90..90; CRS84 is lon/lat)",
            ));
        }
        Ok(g)
    }
}

fn prop_of(o: &Operand) -> Option<&'static Queryable> {
    match o {
        Operand::Prop(q) | Operand::CaseI(q) => Some(q),
        _ => None,
    }
}

fn lit_fits(ty: Type, lit: &Lit) -> bool {
    matches!(
        (ty, lit),
        (Type::String, Lit::Str(_))
            | (Type::Integer | Type::Number, Lit::Num(_))
            | (Type::Boolean, Lit::Bool(_))
            | (Type::Date, Lit::Date(_))
            | (Type::Timestamp, Lit::Time(_))
    )
}

fn type_name(ty: Type) -> &'static str {
    match ty {
        Type::String => "文本 (a string)",
        Type::Integer => "整数 (an integer)",
        Type::Number => "数 (a number)",
        Type::Boolean => "布尔值 (a boolean)",
        Type::Date => "日期 DATE('YYYY-MM-DD')",
        Type::Timestamp => "时间 TIMESTAMP('…Z')",
        Type::Geometry(_) => "几何 (a geometry)",
    }
}

/// The two sides can be compared: a property with a value of its type (a date or
/// time written as a plain string is read as one), or two properties of one type.
fn check_types(a: &Operand, b: &Operand, op: &str) -> Result<(), FilterError> {
    let numeric = |t: Type| matches!(t, Type::Integer | Type::Number);
    match (a, b) {
        (Operand::Prop(q) | Operand::CaseI(q), Operand::Lit(l))
        | (Operand::Lit(l), Operand::Prop(q) | Operand::CaseI(q)) => {
            if let (Operand::Prop(q), Lit::Str(v)) = (if matches!(a, Operand::Lit(_)) { b } else { a }, l) {
                if !q.values.is_empty() && !q.values.contains(&v.as_str()) {
                    return Err(FilterError::new(format!(
                        "{op}: '{v}' 不是 {} 的取值 (not a value of '{}'; one of: {})",
                        q.name,
                        q.name,
                        q.values.join(", ")
                    )));
                }
            }
            if lit_fits(q.ty, l) {
                Ok(())
            } else {
                Err(FilterError::new(format!(
                    "{op}: '{}' 须与{}比较 (compare '{}' with {})",
                    q.name,
                    type_name(q.ty),
                    q.name,
                    type_name(q.ty)
                )))
            }
        }
        (Operand::Prop(p) | Operand::CaseI(p), Operand::Prop(q) | Operand::CaseI(q)) => {
            if p.ty == q.ty || (numeric(p.ty) && numeric(q.ty)) {
                Ok(())
            } else {
                Err(FilterError::new(format!("{op}: '{}' 与 '{}' 类型不同 (of different types)", p.name, q.name)))
            }
        }
        (Operand::Lit(x), Operand::Lit(y)) => {
            if std::mem::discriminant(x) == std::mem::discriminant(y) {
                Ok(())
            } else {
                Err(FilterError::new(format!("{op}: 两个值类型不同 (the two values are of different types)")))
            }
        }
        _ => Ok(()), // NULL: unknown, whatever the other side
    }
}

fn parse_date(s: &str) -> Result<String, FilterError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt)
        .map(|_| s.to_string())
        .map_err(|_| FilterError::new(format!("'{s}' 不是日期 (not a date, YYYY-MM-DD)")))
}

fn parse_time(s: &str) -> Result<i128, FilterError> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp_nanos())
        .map_err(|_| FilterError::new(format!("'{s}' 不是 RFC 3339 时间 (not an RFC 3339 timestamp)")))
}

fn like_pattern(p: &str) -> Vec<Pat> {
    let mut out = Vec::new();
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '\\' => Pat::Char(chars.next().unwrap_or('\\')),
            '%' => Pat::Any,
            '_' => Pat::One,
            c => Pat::Char(c),
        });
    }
    out
}

/// `s` matches `pat` (`%` any run, `_` one character), by characters.
fn like(s: &str, pat: &[Pat]) -> bool {
    let text: Vec<char> = s.chars().collect();
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pat.get(p) {
            Some(Pat::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Pat::One) => {
                t += 1;
                p += 1;
            }
            Some(Pat::Char(c)) if text.get(t) == Some(c) => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat.get(p..).is_some_and(|rest| rest.iter().all(|x| *x == Pat::Any))
}

/// A value to compare: a property's or a literal's.
#[derive(Debug, Clone, PartialEq)]
enum Val<'a> {
    Str(std::borrow::Cow<'a, str>),
    Num(f64),
    Bool(bool),
    Time(i128),
}

fn value<'a>(o: &'a Operand, f: &'a dyn Feature) -> Option<Val<'a>> {
    let from = |q: &Queryable, s: Scalar<'a>, lower: bool| -> Option<Val<'a>> {
        match (q.ty, s) {
            (_, Scalar::Null) => None,
            (Type::Timestamp, Scalar::Str(t)) => parse_time(t).ok().map(Val::Time),
            (_, Scalar::Str(t)) if lower => Some(Val::Str(std::borrow::Cow::Owned(t.to_lowercase()))),
            (_, Scalar::Str(t)) => Some(Val::Str(std::borrow::Cow::Borrowed(t))),
            (_, Scalar::Num(n)) => Some(Val::Num(n)),
            (_, Scalar::Bool(b)) => Some(Val::Bool(b)),
        }
    };
    match o {
        Operand::Prop(q) => from(q, f.property(q.name), false),
        Operand::CaseI(q) => from(q, f.property(q.name), true),
        Operand::Lit(Lit::Str(s) | Lit::Date(s)) => Some(Val::Str(std::borrow::Cow::Borrowed(s))),
        Operand::Lit(Lit::Num(n)) => Some(Val::Num(*n)),
        Operand::Lit(Lit::Bool(b)) => Some(Val::Bool(*b)),
        Operand::Lit(Lit::Time(t)) => Some(Val::Time(*t)),
        Operand::Null => None,
    }
}

fn order(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::Time(x), Val::Time(y)) => Some(x.cmp(y)),
        _ => None, // a value of another type than declared: unknown
    }
}

fn eval(n: &Node, f: &dyn Feature) -> Option<bool> {
    match n {
        Node::Const(b) => *b,
        Node::And(xs) => {
            let mut out = Some(true);
            for x in xs {
                match eval(x, f) {
                    Some(false) => return Some(false),
                    None => out = None,
                    Some(true) => {}
                }
            }
            out
        }
        Node::Or(xs) => {
            let mut out = Some(false);
            for x in xs {
                match eval(x, f) {
                    Some(true) => return Some(true),
                    None => out = None,
                    Some(false) => {}
                }
            }
            out
        }
        Node::Not(x) => eval(x, f).map(|b| !b),
        Node::Cmp(c, a, b) => {
            let o = order(&value(a, f)?, &value(b, f)?)?;
            Some(match c {
                Cmp::Eq => o == Ordering::Equal,
                Cmp::Ne => o != Ordering::Equal,
                Cmp::Lt => o == Ordering::Less,
                Cmp::Le => o != Ordering::Greater,
                Cmp::Gt => o == Ordering::Greater,
                Cmp::Ge => o != Ordering::Less,
            })
        }
        Node::Like(v, pat) => match value(v, f)? {
            Val::Str(s) => Some(like(&s, pat)),
            _ => None,
        },
        Node::In(v, list) => {
            let v = value(v, f)?;
            let mut unknown = false;
            for item in list {
                match value(item, f).and_then(|x| order(&v, &x)) {
                    Some(Ordering::Equal) => return Some(true),
                    Some(_) => {}
                    None => unknown = true,
                }
            }
            if unknown {
                None
            } else {
                Some(false)
            }
        }
        Node::Between(v, lo, hi) => {
            let v = value(v, f)?;
            let lo = order(&v, &value(lo, f)?)?;
            let hi = order(&v, &value(hi, f)?)?;
            Some(lo != Ordering::Less && hi != Ordering::Greater)
        }
        Node::IsNull(v) => Some(value(v, f).is_none()),
        Node::Spatial(op, g, rect) => spatial(*op, &f.shape(), g, rect),
        Node::DWithin(g, rect, d) => {
            let shape = f.shape();
            let near = shape.rect().is_some_and(|r| rects_meet(&r, &expand(rect, *d)));
            if !near {
                return shape.rect().map(|_| false);
            }
            shape.with(|s| geodesic::within_m(s, g, *d))
        }
    }
}

fn rects_meet(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x && b.min().x <= a.max().x && a.min().y <= b.max().y && b.min().y <= a.max().y
}

/// `r` grown by at least `d` metres on every side (degrees; the whole globe in
/// longitude near a pole).
fn expand(r: &Rect<f64>, d: f64) -> Rect<f64> {
    // A degree of latitude is at least 110,574 m on GRS80; of longitude, 111,320·cos φ.
    let dlat = d / 110_000.0;
    let lat_hi = (r.max().y.abs().max(r.min().y.abs()) + dlat).min(90.0);
    let coslat = lat_hi.to_radians().cos();
    let dlon = if coslat < 1e-6 { 360.0 } else { d / (111_000.0 * coslat) };
    Rect::new(
        Coord { x: (r.min().x - dlon).max(-180.0), y: (r.min().y - dlat).max(-90.0) },
        Coord { x: (r.max().x + dlon).min(180.0), y: (r.max().y + dlat).min(90.0) },
    )
}

fn spatial(op: Spatial, shape: &Shape, g: &Geometry<f64>, rect: &Rect<f64>) -> Option<bool> {
    let r = shape.rect()?;
    let meet = rects_meet(&r, rect);
    match op {
        Spatial::Intersects if !meet => Some(false),
        Spatial::Disjoint if !meet => Some(true),
        Spatial::Intersects => shape.with(|s| s.intersects(g)),
        Spatial::Disjoint => shape.with(|s| !s.intersects(g)),
        _ if !meet => Some(false),
        Spatial::Equals => shape.with(|s| s.relate(g).is_equal_topo()),
        Spatial::Touches => shape.with(|s| s.relate(g).is_touches()),
        Spatial::Within => shape.with(|s| s.relate(g).is_within()),
        Spatial::Contains => shape.with(|s| s.relate(g).is_contains()),
        Spatial::Overlaps => shape.with(|s| s.relate(g).is_overlaps()),
        Spatial::Crosses => shape.with(|s| s.relate(g).is_crosses()),
    }
}

/// A box every match's geometry meets, from the spatial predicates every match satisfies.
fn required_rect(n: &Node) -> Option<[f64; 4]> {
    let to = |r: Rect<f64>| [r.min().x, r.min().y, r.max().x, r.max().y];
    match n {
        Node::Spatial(Spatial::Disjoint, ..) => None,
        Node::Spatial(_, _, r) => Some(to(*r)),
        Node::DWithin(_, r, d) => Some(to(expand(r, *d))),
        Node::And(xs) => xs.iter().filter_map(required_rect).reduce(|a, b| {
            // Both hold: the overlap (empty when they do not meet — nothing matches).
            let r = [a[0].max(b[0]), a[1].max(b[1]), a[2].min(b[2]), a[3].min(b[3])];
            if r[0] <= r[2] && r[1] <= r[3] {
                r
            } else {
                [f64::NAN; 4]
            }
        }),
        Node::Or(xs) => {
            let rs: Option<Vec<[f64; 4]>> = xs.iter().map(required_rect).collect();
            rs?.into_iter().reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static Q: std::sync::LazyLock<Vec<Queryable>> = std::sync::LazyLock::new(|| {
        vec![
            Queryable::new("name", Type::String, "名称"),
            Queryable::one_of("kind", "类型", ["care_home", "cemetery"]),
            Queryable::new("beds", Type::Integer, "床位"),
            Queryable::new("open", Type::Boolean, "开放"),
            Queryable::new("updated_at", Type::Timestamp, "更新"),
            Queryable::new("geometry", Type::Geometry("geometry-point"), "位置"),
        ]
    });

    struct F {
        name: &'static str,
        kind: &'static str,
        beds: Option<f64>,
        open: bool,
        at: [f64; 2],
    }

    impl Feature for F {
        fn property(&self, name: &str) -> Scalar<'_> {
            match name {
                "name" => Scalar::Str(self.name),
                "kind" => Scalar::Str(self.kind),
                "beds" => Scalar::opt_num(self.beds),
                "open" => Scalar::Bool(self.open),
                "updated_at" => Scalar::Str("2025-03-01T08:00:00Z"),
                _ => Scalar::Null,
            }
        }
        fn shape(&self) -> Shape<'_> {
            Shape::Point(self.at[0], self.at[1])
        }
    }

    const A: F = F { name: "乐土驿镇敬老院", kind: "care_home", beds: Some(40.0), open: true, at: [86.2, 44.3] };
    const B: F = F { name: "凉州户公墓", kind: "cemetery", beds: None, open: false, at: [86.5, 44.1] };

    fn m(text: &str, f: &F) -> bool {
        Filter::parse(text, Lang::Text, &Q, Crs::Crs84).map(|x| x.matches(f)).expect(text)
    }

    fn err(text: &str) -> FilterError {
        Filter::parse(text, Lang::Text, &Q, Crs::Crs84).expect_err(text)
    }

    #[test]
    fn comparisons_follow_three_valued_logic() {
        assert!(m("kind = 'care_home'", &A) && !m("kind = 'care_home'", &B));
        assert!(m("beds >= 40 AND beds < 41", &A));
        assert!(!m("beds < 100", &B), "null compares unknown");
        assert!(!m("NOT (beds < 100)", &B), "NOT unknown is unknown");
        assert!(m("beds IS NULL", &B) && m("beds IS NOT NULL", &A));
        assert!(m("beds < 100 OR kind = 'cemetery'", &B), "unknown OR true is true");
        assert!(m("open", &A) && !m("open", &B) && m("open = false", &B));
        assert!(m("beds BETWEEN 10 AND 40", &A) && !m("beds NOT BETWEEN 10 AND 40", &A));
        assert!(
            m("kind IN ('cemetery', 'care_home')", &B)
                && !m("kind IN ('cemetery')", &A)
                && m("kind NOT IN ('cemetery')", &A)
        );
        assert!(m("updated_at > TIMESTAMP('2025-02-28T21:00:00-10:00')", &A));
        assert!(!m("updated_at > TIMESTAMP('2025-03-01T08:00:00Z')", &A));
    }

    #[test]
    fn like_counts_characters_not_bytes() {
        assert!(m("name LIKE '%敬老院'", &A) && m("name LIKE '乐土驿_敬老院'", &A));
        assert!(!m("name LIKE '乐土驿__敬老院'", &A) && m("name LIKE '%驿%'", &A));
        assert!(m("CASEI(kind) LIKE 'CARE%'", &A));
        assert!(like("a%b", &like_pattern("a\\%b")) && !like("axb", &like_pattern("a\\%b")));
        assert!(like("", &like_pattern("%")) && !like("", &like_pattern("_")));
    }

    #[test]
    fn spatial_predicates_and_geodesic_distance() {
        assert!(m("S_INTERSECTS(geometry, BBOX(86, 44, 86.3, 44.4))", &A));
        assert!(!m("S_INTERSECTS(geometry, BBOX(86, 44, 86.3, 44.4))", &B));
        assert!(m("S_WITHIN(geometry, POLYGON((86 44, 87 44, 87 45, 86 45, 86 44)))", &A));
        assert!(m("S_DISJOINT(geometry, POINT(0 0))", &A));
        let d = geodesic::distance_m(A.at, [86.21, 44.3]);
        assert!(m(&format!("S_DWITHIN(geometry, POINT(86.21 44.3), {})", d + 0.01), &A));
        assert!(!m(&format!("S_DWITHIN(geometry, POINT(86.21 44.3), {})", d - 0.01), &A));
        let f = Filter::parse(
            "S_DWITHIN(geometry, POINT(86.21 44.3), 1000) AND kind = 'cemetery'",
            Lang::Text,
            &Q,
            Crs::Crs84,
        );
        let r = f.expect("parses").rect().expect("a box");
        assert!(r[0] < 86.21 && r[2] > 86.21 && r[1] < 44.3 && r[3] > 44.3);
    }

    #[test]
    fn json_and_text_agree() {
        let j = r#"{"op":"and","args":[{"op":"=","args":[{"property":"kind"},"care_home"]},
            {"op":"s_intersects","args":[{"property":"geometry"},{"type":"Point","coordinates":[86.2,44.3]}]}]}"#;
        let f = Filter::parse(j, Lang::Json, &Q, Crs::Crs84).expect("json");
        assert!(f.matches(&A) && !f.matches(&B));
    }

    #[test]
    fn bad_filters_say_what_and_where() {
        let e = err("kind = 'care_home' AND");
        assert!(e.line == Some(1) && e.column.is_some(), "{e:?}");
        assert!(err("colour = 'red'").message.contains("queryable"));
        assert!(err("beds = 'many'").message.contains("beds"));
        assert!(err("name > 3").message.contains("name"));
        assert!(err("beds + 1 > 3").message.contains("arithmetic"));
        assert!(err("S_INTERSECTS(geometry, POINT(200 10))").message.contains("longitude"));
        assert!(err("S_DWITHIN(geometry, POINT(86 44), -1)").message.contains("metres"));
        assert!(err("S_INTERSECTS(name, POINT(86 44))").message.contains("geometry"));
        assert!(err(&format!("{}kind = 'cemetery'{}", "(".repeat(50), ")".repeat(50))).message.contains("nested"));
        assert!(err("").message.contains("empty"));
        assert!(err("'a' = 1").message.contains("different"));
        assert!(err("kind = 'carehome'").message.contains("one of: care_home, cemetery"));
        let j =
            Filter::parse(r#"{"op":"=","args":[{"property":"kind"}"#, Lang::Json, &Q, Crs::Crs84).expect_err("json");
        assert!(j.line.is_some() && j.column.is_some(), "{j:?}");
        assert!(Filter::parse(r#"{"op":"frobnicate","args":[]}"#, Lang::Json, &Q, Crs::Crs84).is_err());
    }
}
