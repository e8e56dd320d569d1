//! Dotted paths into a scenario (`allocation.policy`, `service.0.bands.1.slots`, and `*`
//! for every index of a list: `service.0.bands.*.slots`): setting values for variants and
//! sweeps, and finding the line a field is written on.

use toml::{Table, Value};

/// Sets `path` in `table` to `value`, creating missing tables along the way.
///
/// # Errors
///
/// A message naming the part of the path that does not exist.
pub fn set(table: &mut Table, path: &str, value: Value) -> Result<(), String> {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("`{path}` is not a dotted path like `allocation.policy` or `service.0.bands.1.slots`"));
    }
    let mut current = Value::Table(std::mem::take(table));
    let result = set_in(&mut current, &parts, path, value);
    if let Value::Table(t) = current {
        *table = t;
    }
    result
}

fn set_in(node: &mut Value, parts: &[&str], path: &str, value: Value) -> Result<(), String> {
    let (head, rest) = (parts[0], &parts[1..]);
    match node {
        Value::Table(_) if head == "*" => {
            Err(format!("in `{path}`, `*` stands for every index of a list, but here it would name a field"))
        }
        Value::Table(t) => {
            if rest.is_empty() {
                t.insert(head.to_string(), value);
                return Ok(());
            }
            if rest[0] == "*" && !t.contains_key(head) {
                return Err(format!("in `{path}`, `*` matches no entry: `{head}` is not set (an empty list)"));
            }
            let child = t.entry(head.to_string()).or_insert_with(|| Value::Table(Table::new()));
            set_in(child, rest, path, value)
        }
        Value::Array(items) if head == "*" => {
            if items.is_empty() {
                return Err(format!("in `{path}`, `*` matches no entry: the list is empty"));
            }
            for child in items.iter_mut() {
                if rest.is_empty() {
                    *child = value.clone();
                } else {
                    set_in(child, rest, path, value.clone())?;
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            let len = items.len();
            let Ok(i) = head.parse::<usize>() else {
                return Err(format!(
                    "in `{path}`, `{head}` should be an index into a list of {len} entries, or `*` for every entry"
                ));
            };
            let Some(child) = items.get_mut(i) else {
                return Err(format!(
                    "in `{path}`, index {i} is out of range: the list has {len} entries (0 to {})",
                    len.saturating_sub(1)
                ));
            };
            if rest.is_empty() {
                *child = value;
                return Ok(());
            }
            set_in(child, rest, path, value)
        }
        other => {
            Err(format!("in `{path}`, `{head}` goes inside a value of type {}, which has no fields", other.type_str()))
        }
    }
}

/// A value as a person types it after `PATH=`: TOML (`30`, `0.5`, `"waitlist"`, `true`),
/// or else the text itself (`waitlist`).
///
/// ```
/// use slotsim::scenario::paths::value_from_text;
///
/// assert_eq!(value_from_text("30"), toml::Value::Integer(30));
/// assert_eq!(value_from_text(" waitlist "), toml::Value::String("waitlist".into()));
/// ```
pub fn value_from_text(text: &str) -> Value {
    let text = text.trim();
    toml::from_str::<Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(text.to_string()))
}

/// The 1-based line on which the field at `path` is written in `src`, or its nearest
/// written ancestor (an inline table, the table header), if the text shows it.
pub fn locate(src: &str, path: &str) -> Option<usize> {
    let parts: Vec<&str> = path.split('.').collect();
    // The deepest header the path lies under: its line and depth.
    let mut best: Option<(usize, usize)> = None;
    // The current header as a path with the indexes of the arrays of tables it lies in
    // (`[[service.period]]` under the second `[[service]]` is `service.1.period`), and the
    // index of the header itself if it is an array of tables.
    let mut header: Vec<String> = Vec::new();
    let mut header_index: Option<usize> = None;
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    let mut current: std::collections::BTreeMap<String, usize> = Default::default();
    let expand = |name: &str, current: &std::collections::BTreeMap<String, usize>| -> Vec<String> {
        let names: Vec<&str> = name.split('.').map(str::trim).collect();
        let mut out = Vec::new();
        for k in 0..names.len() {
            out.push(names[k].to_string());
            if k + 1 < names.len()
                && let Some(i) = current.get(&names[..=k].join("."))
            {
                out.push(i.to_string());
            }
        }
        out
    };
    for (n, raw) in src.lines().enumerate() {
        let line = raw.trim();
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.split("]]").next()) {
            let name = name.trim().to_string();
            header = expand(&name, &current);
            let c = counts.entry(header.join(".")).or_insert(0);
            header_index = Some(*c);
            current.insert(name, *c);
            *c += 1;
            if matches_header(&parts, &header, header_index) && best.is_none_or(|(_, depth)| header.len() > depth) {
                best = Some((n + 1, header.len()));
            }
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            header = expand(name.trim(), &current);
            header_index = None;
            if matches_header(&parts, &header, None) && best.is_none_or(|(_, depth)| header.len() > depth) {
                best = Some((n + 1, header.len()));
            }
            continue;
        }
        let Some((key, _)) = line.split_once('=') else { continue };
        let key = key.trim().trim_matches('"');
        let rest = strip_header(&parts, &header, header_index);
        if let Some(rest) = rest
            && let Some(first) = rest.first()
            && *first == key
        {
            return Some(n + 1);
        }
    }
    best.map(|(line, _)| line)
}

fn matches_header(parts: &[&str], header: &[String], index: Option<usize>) -> bool {
    strip_header(parts, header, index).is_some()
}

/// The rest of `parts` after the current header (and its array index), if the path lies
/// under it.
fn strip_header<'a>(parts: &'a [&'a str], header: &[String], index: Option<usize>) -> Option<&'a [&'a str]> {
    if parts.len() < header.len() || !header.iter().zip(parts).all(|(h, p)| h == p) {
        return None;
    }
    let rest = &parts[header.len()..];
    match index {
        None => Some(rest),
        Some(i) => {
            let (first, tail) = rest.split_first()?;
            (first.parse::<usize>().ok() == Some(i)).then_some(tail)
        }
    }
}

/// The concrete paths a path with `*` wildcards stands for in `table`: each `*` is every
/// index of the list (or every key of the table) at that point, in order. A path without
/// wildcards stands for itself.
///
/// # Errors
///
/// A message naming the part of the path that does not exist.
///
/// ```
/// let t: toml::Table = toml::from_str("[[s]]\nb = [{ n = 1 }, { n = 2 }]").unwrap();
/// let p = slotsim::scenario::paths::expand(&t, "s.*.b.*.n").unwrap();
/// assert_eq!(p, vec!["s.0.b.0.n", "s.0.b.1.n"]);
/// ```
pub fn expand(table: &Table, path: &str) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("`{path}` is not a dotted path like `allocation.policy` or `service.0.bands.*.slots`"));
    }
    let mut out = Vec::new();
    expand_in(&Value::Table(table.clone()), &parts, String::new(), path, &mut out)?;
    Ok(out)
}

fn expand_in(node: &Value, parts: &[&str], prefix: String, path: &str, out: &mut Vec<String>) -> Result<(), String> {
    let Some((&head, rest)) = parts.split_first() else {
        out.push(prefix);
        return Ok(());
    };
    let join = |key: &str| if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
    let children: Vec<(String, &Value)> = match (node, head) {
        (Value::Table(t), "*") => t.iter().map(|(k, v)| (k.clone(), v)).collect(),
        (Value::Array(items), "*") => items.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        (Value::Table(t), key) => match t.get(key) {
            Some(v) => vec![(key.to_string(), v)],
            None => return Err(format!("in `{path}`, there is no field `{key}` under `{}`", display(&prefix))),
        },
        (Value::Array(items), key) => {
            let len = items.len();
            match key.parse::<usize>().ok().and_then(|i| items.get(i).map(|v| (i, v))) {
                Some((i, v)) => vec![(i.to_string(), v)],
                None => {
                    return Err(format!(
                        "in `{path}`, `{key}` is not an index of `{}`, a list of {len} entries (0 to {}, or *)",
                        display(&prefix),
                        len.saturating_sub(1)
                    ));
                }
            }
        }
        (other, key) => {
            return Err(format!(
                "in `{path}`, `{key}` goes inside a value of type {}, which has no fields",
                other.type_str()
            ));
        }
    };
    if children.is_empty() {
        return Err(format!("in `{path}`, `{}` is empty: `*` stands for nothing", display(&prefix)));
    }
    for (key, child) in children {
        expand_in(child, rest, join(&key), path, out)?;
    }
    Ok(())
}

fn display(prefix: &str) -> &str {
    if prefix.is_empty() { "the scenario" } else { prefix }
}

/// The value at a concrete `path` in `table`, if there is one.
pub fn get<'a>(table: &'a Table, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut node = table.get(parts.next()?)?;
    for part in parts {
        node = match node {
            Value::Table(t) => t.get(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_walks_tables_and_arrays() {
        let mut t: Table = toml::from_str("[a]\nb = 1\n[[s]]\nx = [1, 2]\n[[s]]\nx = [3]\n").unwrap();
        set(&mut t, "a.b", Value::Integer(5)).unwrap();
        set(&mut t, "s.1.x.0", Value::Integer(9)).unwrap();
        set(&mut t, "new.deep", Value::Boolean(true)).unwrap();
        assert_eq!(t["a"]["b"].as_integer(), Some(5));
        assert_eq!(t["s"][1]["x"][0].as_integer(), Some(9));
        assert_eq!(t["new"]["deep"].as_bool(), Some(true));
        let e = set(&mut t, "s.2.x", Value::Integer(0)).unwrap_err();
        assert!(e.contains("index 2 is out of range"), "{e}");
        let e = set(&mut t, "s.one", Value::Integer(0)).unwrap_err();
        assert!(e.contains("should be an index"), "{e}");
        let e = set(&mut t, "a.b.c", Value::Integer(0)).unwrap_err();
        assert!(e.contains("no fields"), "{e}");
    }

    #[test]
    fn a_star_sets_every_index() {
        let mut t: Table = toml::from_str("[[s]]\nb = [{ x = 1 }, { x = 2 }, { x = 3 }]\n[[s]]\nb = []\n").unwrap();
        set(&mut t, "s.0.b.*.x", Value::Integer(7)).unwrap();
        let xs: Vec<i64> = t["s"][0]["b"].as_array().unwrap().iter().map(|b| b["x"].as_integer().unwrap()).collect();
        assert_eq!(xs, [7, 7, 7]);
        let e = set(&mut t, "s.1.b.*.x", Value::Integer(7)).unwrap_err();
        assert!(e.contains("matches no entry"), "{e}");
        let e = set(&mut t, "s.*.b.*.y.z", Value::Integer(7)).unwrap_err();
        assert!(e.contains("no fields") || e.contains("matches no entry"), "{e}");
        let e = set(&mut t, "*.b", Value::Integer(7)).unwrap_err();
        assert!(e.contains("would name a field"), "{e}");
    }

    #[test]
    fn locate_finds_nested_arrays_of_tables() {
        let src = "name = \"x\"\n[[service]]\nname = \"a\"\n[[service.period]]\nfrom = \"2021-01-01\"\n[[service.period]]\nfrom = \"2021-02-01\"\n[[service]]\nname = \"pickup\"\n[[service.period]]\nuntil = \"x\"\n";
        assert_eq!(locate(src, "service.0.period.0.from"), Some(5));
        assert_eq!(locate(src, "service.0.period.1.from"), Some(7));
        assert_eq!(locate(src, "service.0.period.1"), Some(6));
        assert_eq!(locate(src, "service.1.period.0.until"), Some(11));
        assert_eq!(locate(src, "service.1.name"), Some(9));
    }

    #[test]
    fn locate_finds_lines() {
        let src = "name = \"x\"\ndays = 3\n\n[behaviour]\nshow_prob = 2\n\n[[service]]\nname = \"a\"\n[[service]]\nname = \"b\"\nbands = []\n";
        assert_eq!(locate(src, "days"), Some(2));
        assert_eq!(locate(src, "behaviour.show_prob"), Some(5));
        assert_eq!(locate(src, "behaviour.confirm_prob"), Some(4));
        assert_eq!(locate(src, "service.1.bands"), Some(11));
        assert_eq!(locate(src, "service.1.bands.0.slots"), Some(11));
        assert_eq!(locate(src, "service.0.name"), Some(8));
        assert_eq!(locate(src, "legacy.requests"), None);
    }

    #[test]
    fn expand_and_get() {
        let t: Table = toml::from_str("[[s]]\nb = [{ n = 1 }, { n = 2 }]\n[[s]]\nb = [{ n = 3 }]\n[x]\ny = 2").unwrap();
        assert_eq!(expand(&t, "s.*.b.*.n").unwrap(), vec!["s.0.b.0.n", "s.0.b.1.n", "s.1.b.0.n"]);
        assert_eq!(expand(&t, "s.1.b.0.n").unwrap(), vec!["s.1.b.0.n"]);
        assert_eq!(expand(&t, "x.*").unwrap(), vec!["x.y"]);
        assert!(expand(&t, "s.2.b").unwrap_err().contains("not an index"));
        assert!(expand(&t, "x.z").unwrap_err().contains("no field `z`"));
        assert!(expand(&t, "x.y.z").unwrap_err().contains("no fields"));
        assert!(expand(&t, "s..b").is_err());
        assert_eq!(get(&t, "s.1.b.0.n").and_then(Value::as_integer), Some(3));
        assert_eq!(get(&t, "s.0.b.5.n"), None);
        assert_eq!(get(&t, "x.y").and_then(Value::as_integer), Some(2));
    }
}
