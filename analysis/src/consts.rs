//! Constant evaluation: the value of a `const` as the compiler would compute it, for the
//! expressions the servers use to name message types and endpoints (`PM_BASE + 0x02`,
//! `Endpoint::new(3, 0)`, `Endpoint(0)`, `u32::MAX`, casts, shifts and masks).
//!
//! Invariant: an expression the evaluator does not understand has no value (`None`); it never
//! guesses one. Callers then treat the operand as decided at run time.

use crate::index::{Index, Item, Ty};
use crate::source::ModId;

/// A constant's value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// An integer (message types, slots, bases).
    Int(i128),
    /// An endpoint: its packed value and the slot it names.
    Endpoint {
        /// The slot (the process-table index the manifest gives each service).
        slot: u64,
        /// The packed value (generation and slot).
        raw: u64,
    },
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// An enum variant, by path.
    Variant(String),
}

impl Value {
    /// The integer, if it is one.
    pub fn int(&self) -> Option<i128> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// Bits of a packed endpoint that hold the slot, when the kernel's source does not say
/// (`kernel_sim::endpoint::SLOT_BITS`).
const DEFAULT_SLOT_BITS: i128 = 16;
/// How deep constants may refer to other constants before evaluation gives up (a cycle in broken
/// input must terminate).
const MAX_CONST_DEPTH: usize = 32;

fn int_limit(ty: &str, what: &str) -> Option<i128> {
    let (min, max): (i128, i128) = match ty {
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" => (0, u64::MAX.into()),
        "usize" => (0, u64::MAX.into()),
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "i64" => (i64::MIN.into(), i64::MAX.into()),
        _ => return None,
    };
    match what {
        "MAX" => Some(max),
        "MIN" => Some(min),
        _ => None,
    }
}

impl Index {
    /// The value of the constant at `path`.
    pub fn const_value(&self, path: &str) -> Option<Value> {
        self.const_value_depth(path, 0)
    }

    fn const_value_depth(&self, path: &str, depth: usize) -> Option<Value> {
        match self.items.get(path)? {
            Item::Const(id) => {
                let c = &self.consts[*id];
                self.eval_depth(c.module, &c.expr, c.self_ty.as_ref(), depth + 1)
            }
            Item::Variant { .. } => Some(Value::Variant(path.to_string())),
            _ => None,
        }
    }

    fn slot_bits(&self) -> i128 {
        self.const_value_depth("kernel_sim::endpoint::SLOT_BITS", MAX_CONST_DEPTH - 2)
            .and_then(|v| v.int())
            .unwrap_or(DEFAULT_SLOT_BITS)
    }

    fn endpoint_from_raw(&self, raw: i128) -> Value {
        let mask = (1i128 << self.slot_bits()) - 1;
        Value::Endpoint { slot: (raw & mask) as u64, raw: raw as u64 }
    }

    /// The value of `expr` written in module `m` (`Self` is `self_ty`).
    pub fn eval(&self, m: ModId, expr: &syn::Expr, self_ty: Option<&Ty>) -> Option<Value> {
        self.eval_depth(m, expr, self_ty, 0)
    }

    fn eval_depth(&self, m: ModId, expr: &syn::Expr, self_ty: Option<&Ty>, depth: usize) -> Option<Value> {
        if depth > MAX_CONST_DEPTH {
            return None;
        }
        let ev = |e: &syn::Expr| self.eval_depth(m, e, self_ty, depth + 1);
        match expr {
            syn::Expr::Lit(l) => match &l.lit {
                syn::Lit::Int(i) => i.base10_parse::<i128>().ok().map(Value::Int),
                syn::Lit::Bool(b) => Some(Value::Bool(b.value)),
                syn::Lit::Str(s) => Some(Value::Str(s.value())),
                _ => None,
            },
            syn::Expr::Paren(p) => ev(&p.expr),
            syn::Expr::Group(g) => ev(&g.expr),
            syn::Expr::Cast(c) => ev(&c.expr),
            syn::Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
                syn::Stmt::Expr(e, None) => ev(e),
                _ => None,
            },
            syn::Expr::Unary(u) => match (&u.op, ev(&u.expr)?) {
                (syn::UnOp::Neg(_), Value::Int(i)) => Some(Value::Int(-i)),
                (syn::UnOp::Not(_), Value::Int(i)) => Some(Value::Int(!i)),
                (syn::UnOp::Not(_), Value::Bool(b)) => Some(Value::Bool(!b)),
                _ => None,
            },
            syn::Expr::Binary(b) => {
                let (l, r) = (ev(&b.left)?.int()?, ev(&b.right)?.int()?);
                let v = match b.op {
                    syn::BinOp::Add(_) => l.checked_add(r)?,
                    syn::BinOp::Sub(_) => l.checked_sub(r)?,
                    syn::BinOp::Mul(_) => l.checked_mul(r)?,
                    syn::BinOp::Div(_) => l.checked_div(r)?,
                    syn::BinOp::Rem(_) => l.checked_rem(r)?,
                    syn::BinOp::Shl(_) => l.checked_shl(u32::try_from(r).ok()?)?,
                    syn::BinOp::Shr(_) => l.checked_shr(u32::try_from(r).ok()?)?,
                    syn::BinOp::BitAnd(_) => l & r,
                    syn::BinOp::BitOr(_) => l | r,
                    syn::BinOp::BitXor(_) => l ^ r,
                    _ => return None,
                };
                Some(Value::Int(v))
            }
            syn::Expr::Path(p) => {
                let segs: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
                if let [ty, what] = segs.as_slice()
                    && let Some(v) = int_limit(ty, what)
                {
                    return Some(Value::Int(v));
                }
                let path = self.resolve_path(m, &segs, self_ty)?;
                self.const_value_depth(&path, depth + 1)
            }
            syn::Expr::Call(c) => {
                let syn::Expr::Path(fp) = &*c.func else { return None };
                let path = self.resolve_syn_path(m, &fp.path, self_ty)?;
                let args: Vec<&syn::Expr> = c.args.iter().collect();
                match self.items.get(&path)? {
                    // `Endpoint(raw)`: the tuple constructor of the packed value.
                    Item::Struct if path.ends_with("::Endpoint") && args.len() == 1 => {
                        Some(self.endpoint_from_raw(ev(args[0])?.int()?))
                    }
                    // `Endpoint::new(slot, generation)`.
                    Item::Fn(_) if path.ends_with("::Endpoint::new") && args.len() == 2 => {
                        let (slot, generation) = (ev(args[0])?.int()?, ev(args[1])?.int()?);
                        Some(Value::Endpoint {
                            slot: slot as u64,
                            raw: ((generation << self.slot_bits()) | slot) as u64,
                        })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
}
