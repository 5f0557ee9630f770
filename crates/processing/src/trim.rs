//! Size limits: string caps and databag (free-form JSON) depth and byte budgets.

use serde_json::Value;

use crate::util::truncate_ellipsis;

/// A depth and byte budget for a free-form bag of data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BagSize {
    /// Containers nested deeper than this are removed.
    pub(crate) max_depth: usize,
    /// Approximate JSON bytes kept; entries past the budget are removed.
    pub(crate) max_bytes: usize,
}

/// Stack-frame local variables.
pub(crate) const FRAME_VARS: BagSize = BagSize { max_depth: 5, max_bytes: 8 * 1024 };
/// `extra`.
pub(crate) const EXTRA: BagSize = BagSize { max_depth: 7, max_bytes: 256 * 1024 };
/// `request.data`.
pub(crate) const REQUEST_DATA: BagSize = BagSize { max_depth: 7, max_bytes: 64 * 1024 };
/// One context, one breadcrumb's data.
pub(crate) const CONTEXT: BagSize = BagSize { max_depth: 7, max_bytes: 16 * 1024 };

/// Longest single string kept inside a databag.
const MAX_BAG_STRING: usize = 16 * 1024;
/// Longest source line kept in `context_line`, `pre_context`, `post_context`.
const MAX_CONTEXT_LINE: usize = 1024;

/// Trims a databag in place to its depth and byte budget.
pub(crate) fn databag(v: &mut Value, size: BagSize) {
    let mut budget = size.max_bytes;
    trim_value(v, 0, size.max_depth, &mut budget);
}

fn trim_value(v: &mut Value, depth: usize, max_depth: usize, budget: &mut usize) {
    match v {
        Value::String(s) => {
            let limit = (*budget).clamp(16, MAX_BAG_STRING);
            if s.len() > limit {
                *s = truncate_ellipsis(s, limit);
            }
            *budget = budget.saturating_sub(s.len() + 2);
        }
        Value::Array(a) => {
            *budget = budget.saturating_sub(2);
            let mut keep = a.len();
            for (i, item) in a.iter_mut().enumerate() {
                if *budget == 0 || (depth + 1 >= max_depth && is_container(item)) {
                    keep = i;
                    break;
                }
                trim_value(item, depth + 1, max_depth, budget);
                *budget = budget.saturating_sub(1);
            }
            a.truncate(keep);
        }
        Value::Object(o) => {
            *budget = budget.saturating_sub(2);
            let mut remove = Vec::new();
            for (k, item) in o.iter_mut() {
                if *budget == 0 || (depth + 1 >= max_depth && is_container(item)) {
                    remove.push(k.clone());
                    continue;
                }
                *budget = budget.saturating_sub(k.len() + 4);
                trim_value(item, depth + 1, max_depth, budget);
            }
            for k in remove {
                o.remove(&k);
            }
        }
        _ => *budget = budget.saturating_sub(6),
    }
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::Array(a) if !a.is_empty()) || matches!(v, Value::Object(o) if !o.is_empty())
}

/// Caps a source line.
pub(crate) fn context_line(s: &mut String) {
    if s.len() > MAX_CONTEXT_LINE {
        *s = truncate_ellipsis(s, MAX_CONTEXT_LINE);
    }
}

/// Caps a string field of an object at `max` characters with `…`.
pub(crate) fn string_field(obj: &mut serde_json::Map<String, Value>, key: &str, max: usize) {
    if let Some(Value::String(s)) = obj.get_mut(key) {
        if s.len() > max {
            *s = truncate_ellipsis(s, max);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth_limit() {
        let mut v = json!({"a": {"b": {"c": {"d": 1}}}, "x": 1});
        databag(&mut v, BagSize { max_depth: 2, max_bytes: 1000 });
        assert_eq!(v, json!({"a": {}, "x": 1}));
        let mut v = json!([[1, [2]], 3]);
        databag(&mut v, BagSize { max_depth: 2, max_bytes: 1000 });
        assert_eq!(v, json!([[1], 3]));
    }

    #[test]
    fn byte_budget() {
        let mut v = json!({"a": "x".repeat(100), "b": "y".repeat(100), "c": "z"});
        databag(&mut v, BagSize { max_depth: 5, max_bytes: 120 });
        let o = v.as_object().unwrap();
        assert_eq!(o["a"].as_str().unwrap().len(), 100);
        assert!(o["b"].as_str().unwrap().ends_with('…'));
        assert!(!o.contains_key("c"));
    }

    #[test]
    fn small_bags_untouched() {
        let orig = json!({"sys.argv": ["./manage.py", "runserver"], "n": 1, "t": true, "z": null});
        let mut v = orig.clone();
        databag(&mut v, EXTRA);
        assert_eq!(v, orig);
    }

    #[test]
    fn long_lines() {
        let mut s = "a".repeat(5000);
        context_line(&mut s);
        assert_eq!(s.chars().count(), MAX_CONTEXT_LINE);
    }
}
