//! Ports of PostgreSQL's type resolution (parser/parse_func.c, parse_oper.c, parse_coerce.c):
//! implicit coercibility, overload resolution of functions and operators
//! (`func_select_candidate`), and the common type of UNION / CASE / COALESCE / IN / ARRAY
//! (`select_common_type`). Types are OIDs; the migrations' own types get OIDs of their own
//! ([`USER`], [`USER_ARRAY`]) so they go through the same rules (an enum is category `E`, a domain
//! resolves as its base type).

use super::catalog::{Catalog, Proc, oid};
use crate::model::{ColType, Schema, TypeKind};

/// `USER + i` is the migrations' type `i` (`Schema::types`), `USER_ARRAY + i` an array of it.
pub const USER: u32 = 0x4000_0000;
pub const USER_ARRAY: u32 = 0x6000_0000;
/// `ROW + i` is the row type of the migrations' table `i` (`Schema::tables`): a whole-row
/// reference (`SELECT t FROM t`) is of it; `ROW_ARRAY + i` an array of it.
pub const ROW: u32 = 0x2000_0000;
pub const ROW_ARRAY: u32 = 0x3000_0000;

/// The table a row type (or an array of one) is of: `(index, array)`.
fn row_of(t: u32) -> Option<(usize, bool)> {
    match t {
        t if (ROW..ROW_ARRAY).contains(&t) => Some(((t - ROW) as usize, false)),
        t if (ROW_ARRAY..USER).contains(&t) => Some(((t - ROW_ARRAY) as usize, true)),
        _ => None,
    }
}

pub struct Env<'a> {
    pub cat: &'static Catalog,
    pub schema: &'a Schema,
}

/// A resolved call: the candidate, its argument types with polymorphic ones made concrete, and
/// its result type.
pub struct Resolved<'c> {
    pub proc: &'c Proc,
    pub args: Vec<u32>,
    pub result: u32,
}

impl Env<'_> {
    fn user(&self, t: u32) -> Option<&TypeKind> {
        self.user_type(t).map(|u| &u.kind)
    }

    /// The migrations' type of an OID (not of an array of one).
    pub fn user_type(&self, t: u32) -> Option<&crate::model::UserType> {
        (USER..USER_ARRAY).contains(&t).then(|| &self.schema.types[(t - USER) as usize])
    }

    /// The table whose row type `t` is (not an array of one).
    pub fn table_of_row(&self, t: u32) -> Option<usize> {
        row_of(t).filter(|(_, array)| !array).map(|(i, _)| i)
    }

    /// The OID of a column type.
    pub fn of(&self, ty: &ColType) -> u32 {
        match ty {
            ColType::Builtin { name, .. } => self.cat.oid(name).unwrap_or(oid::UNKNOWN),
            ColType::User(i) => USER + *i as u32,
            ColType::Array(inner) => {
                let e = self.of(inner);
                self.array_of(e).unwrap_or(oid::UNKNOWN)
            }
        }
    }

    /// A function the migrations create, as a catalog entry.
    pub fn proc_of(&self, f: &crate::model::Function) -> Proc {
        let args: Vec<u32> = f.args.iter().map(|t| self.of(t)).collect();
        Proc {
            variadic: if f.variadic { args.last().and_then(|&t| self.elem(t)).unwrap_or(0) } else { 0 },
            args,
            result: self.of(&f.result),
            kind: b'f',
            retset: f.retset,
            // Strictness says NULL in, NULL out; a built-in also never returns NULL otherwise
            // (the exceptions are listed), but a function of the migrations may: its result is
            // taken as nullable.
            strict: false,
            volatile: f.volatile,
            defaults: f.defaults,
            names: f.arg_names.clone(),
            outs: f.outs.iter().map(|(t, n)| (self.of(t), n.clone())).collect(),
        }
    }

    /// The column type of an OID (the reverse of [`Env::of`]).
    pub fn col(&self, t: u32) -> ColType {
        if let Some((_, array)) = row_of(t) {
            // A table's row reads as a record (binary, `taulu::Raw`).
            let record = ColType::Builtin { name: "record".into(), typmods: Vec::new() };
            return if array { ColType::Array(Box::new(record)) } else { record };
        }
        if t >= USER_ARRAY {
            return ColType::Array(Box::new(ColType::User((t - USER_ARRAY) as usize)));
        }
        if t >= USER {
            return ColType::User((t - USER) as usize);
        }
        if let Some(base) = self.cat.base(t) {
            return self.col(base);
        }
        match self.cat.elem(t) {
            Some(e) => ColType::Array(Box::new(self.col(e))),
            None => ColType::Builtin { name: self.cat.name(t).to_owned(), typmods: Vec::new() },
        }
    }

    /// How PostgreSQL names the type (`int4`, `_text`, `role`).
    pub fn name(&self, t: u32) -> String {
        if let Some((i, array)) = row_of(t) {
            let name = &self.schema.tables[i].name;
            return if array { format!("_{name}") } else { name.clone() };
        }
        if t >= USER_ARRAY {
            return format!("_{}", self.schema.types[(t - USER_ARRAY) as usize].name);
        }
        if t >= USER {
            return self.schema.types[(t - USER) as usize].name.clone();
        }
        self.cat.name(t).to_owned()
    }

    /// A domain's base type (through domains of domains); any other type itself.
    pub fn base(&self, t: u32) -> u32 {
        match self.user(t) {
            Some(TypeKind::Domain { base, .. }) => self.base(self.of(base)),
            _ if t < ROW => self.cat.base(t).unwrap_or(t),
            _ => t,
        }
    }

    pub fn is_enum(&self, t: u32) -> bool {
        matches!(self.user(t), Some(TypeKind::Enum { .. }))
    }

    pub fn category(&self, t: u32) -> u8 {
        if let Some((_, array)) = row_of(t) {
            return if array { b'A' } else { b'C' };
        }
        if t >= USER_ARRAY {
            return b'A';
        }
        match self.user(t) {
            Some(TypeKind::Enum { .. }) => b'E',
            Some(TypeKind::Domain { .. }) => self.category(self.base(t)),
            Some(TypeKind::Other("composite type")) => b'C',
            Some(TypeKind::Other(_)) => b'U',
            None => self.cat.category(t),
        }
    }

    pub fn preferred(&self, t: u32) -> bool {
        t < ROW && self.cat.preferred(t)
    }

    pub fn elem(&self, t: u32) -> Option<u32> {
        if let Some((i, array)) = row_of(t) {
            return array.then_some(ROW + i as u32);
        }
        if t >= USER_ARRAY {
            return Some(t - USER_ARRAY + USER);
        }
        if t >= USER {
            return None;
        }
        self.cat.elem(t)
    }

    pub fn array_of(&self, t: u32) -> Option<u32> {
        if let Some((i, array)) = row_of(t) {
            return (!array).then_some(ROW_ARRAY + i as u32);
        }
        if t >= USER_ARRAY {
            return None;
        }
        if t >= USER {
            return Some(t - USER + USER_ARRAY);
        }
        self.cat.array_of(t)
    }

    /// `can_coerce_type` in the implicit context, for one argument.
    pub fn can_coerce(&self, input: u32, target: u32) -> bool {
        if input == target || target == oid::ANY || input == oid::UNKNOWN {
            return true;
        }
        if Catalog::is_polymorphic(target) {
            return self.fits_polymorphic(input, target);
        }
        let input = self.base(input);
        if input == target {
            return true;
        }
        if target == oid::RECORD && self.category(input) == b'C' {
            return true;
        }
        if let (Some(ie), Some(te)) = (self.elem(input), self.elem(target)) {
            // array_coerce: an array coerces where its elements coerce.
            return self.can_coerce(ie, te) && ie != oid::UNKNOWN;
        }
        if input >= ROW || target >= ROW {
            return false;
        }
        self.cat.cast(input, target) == Some(b'i')
    }

    /// Whether an argument of type `input` can bind polymorphic `target` on its own (consistency
    /// between arguments is checked by [`Env::bind_polymorphic`]).
    fn fits_polymorphic(&self, input: u32, target: u32) -> bool {
        let input = self.base(input);
        let is_array = self.elem(input).is_some();
        match target {
            oid::ANYARRAY | oid::ANYCOMPATIBLEARRAY => is_array,
            oid::ANYNONARRAY | oid::ANYCOMPATIBLENONARRAY => !is_array,
            oid::ANYENUM => self.is_enum(input),
            oid::ANYELEMENT | oid::ANYCOMPATIBLE => true,
            _ => false, // ranges and multiranges: not typed
        }
    }

    /// Makes the polymorphic arguments and result of `proc` concrete from the inputs
    /// (`check_generic_type_consistency` + `enforce_generic_type_consistency`); `None` when the
    /// inputs do not agree.
    fn bind_polymorphic(&self, declared: &[u32], inputs: &[u32], result: u32) -> Option<(Vec<u32>, u32)> {
        let mut elem: Option<u32> = None;
        let mut compatible: Vec<u32> = Vec::new();
        for (&d, &i) in declared.iter().zip(inputs) {
            if i == oid::UNKNOWN {
                continue;
            }
            let i = self.base(i);
            match d {
                oid::ANYELEMENT | oid::ANYNONARRAY | oid::ANYENUM => {
                    if elem.is_some_and(|e| e != i) {
                        return None;
                    }
                    elem = Some(i);
                }
                oid::ANYARRAY => {
                    let e = self.elem(i)?;
                    if elem.is_some_and(|x| x != e) {
                        return None;
                    }
                    elem = Some(e);
                }
                oid::ANYCOMPATIBLE | oid::ANYCOMPATIBLENONARRAY => compatible.push(i),
                oid::ANYCOMPATIBLEARRAY => compatible.push(self.elem(i)?),
                _ => {}
            }
        }
        let common = if compatible.is_empty() { None } else { Some(self.common_type(&compatible).ok()?) };
        let concrete = |t: u32| -> Option<u32> {
            Some(match t {
                oid::ANYELEMENT | oid::ANYNONARRAY | oid::ANYENUM => elem?,
                oid::ANYARRAY => self.array_of(elem?)?,
                oid::ANYCOMPATIBLE | oid::ANYCOMPATIBLENONARRAY => common?,
                oid::ANYCOMPATIBLEARRAY => self.array_of(common?)?,
                other => other,
            })
        };
        let args = declared.iter().map(|&d| concrete(d)).collect::<Option<Vec<_>>>()?;
        let result = if Catalog::is_polymorphic(result) { concrete(result)? } else { result };
        Some((args, result))
    }

    /// The argument types a candidate declares for `n` inputs (VARIADIC expanded, defaults
    /// dropped), if it takes `n`.
    fn shape(p: &Proc, n: usize) -> Option<Vec<u32>> {
        let declared = p.args.len();
        if p.variadic != 0 && n + 1 >= declared {
            let mut args = p.args[..declared - 1].to_vec();
            args.resize(n, p.variadic);
            return Some(args);
        }
        (n <= declared && n + p.defaults >= declared).then(|| p.args[..n].to_vec())
    }

    /// PostgreSQL's overload resolution over `candidates` for `inputs` (`UNKNOWN` for untyped
    /// literals and parameters).
    pub fn resolve<'c>(&self, candidates: &'c [Proc], inputs: &[u32], what: &str) -> Result<Resolved<'c>, String> {
        let shaped: Vec<(&Proc, Vec<u32>)> =
            candidates.iter().filter_map(|p| Some((p, Self::shape(p, inputs.len())?))).collect();
        if shaped.is_empty() {
            return Err(format!("{what} does not exist for {} argument(s)", inputs.len()));
        }
        let base: Vec<u32> = inputs.iter().map(|&t| self.base(t)).collect();
        let finish = |p: &'c Proc, declared: &[u32]| -> Result<Resolved<'c>, String> {
            let (args, result) = self
                .bind_polymorphic(declared, inputs, p.result)
                .ok_or_else(|| format!("{what}: the argument types do not agree; add a cast"))?;
            Ok(Resolved { proc: p, args, result })
        };
        // An exact match, also with an untyped side taken as the other side's type
        // (binary_oper_exact).
        let exact = |want: &[u32]| shaped.iter().find(|(_, a)| a.as_slice() == want);
        if let Some((p, a)) = exact(&base) {
            return finish(p, a);
        }
        if base.len() == 2 && (base[0] == oid::UNKNOWN) != (base[1] == oid::UNKNOWN) {
            let known = if base[0] == oid::UNKNOWN { base[1] } else { base[0] };
            if let Some((p, a)) = exact(&[known, known]) {
                return finish(p, a);
            }
        }
        // func_match_argtypes: every input coerces implicitly.
        let mut cands: Vec<&(&Proc, Vec<u32>)> = shaped
            .iter()
            .filter(|(p, a)| {
                base.iter().zip(a).all(|(&i, &d)| self.can_coerce(i, d))
                    && (!a.iter().any(|&d| Catalog::is_polymorphic(d))
                        || self.bind_polymorphic(a, inputs, p.result).is_some())
            })
            .collect();
        match cands.len() {
            0 => return Err(format!("{what} does not exist for ({}); add a cast", self.list(inputs))),
            1 => return finish(cands[0].0, &cands[0].1),
            _ => {}
        }
        // func_select_candidate. Most exact matches on the known inputs:
        let keep_best = |cands: &mut Vec<&(&Proc, Vec<u32>)>, score: &dyn Fn(&[u32]) -> usize| {
            let best = cands.iter().map(|(_, a)| score(a)).max().unwrap_or(0);
            cands.retain(|(_, a)| score(a) == best);
        };
        keep_best(&mut cands, &|a| base.iter().zip(a).filter(|(i, d)| **i != oid::UNKNOWN && i == d).count());
        if cands.len() == 1 {
            return finish(cands[0].0, &cands[0].1);
        }
        // .. then exact or preferred types where coercion is needed:
        keep_best(&mut cands, &|a| {
            base.iter()
                .zip(a)
                .filter(|(i, d)| {
                    **i != oid::UNKNOWN && (i == d || (self.preferred(**d) && self.category(**d) == self.category(**i)))
                })
                .count()
        });
        if cands.len() == 1 {
            return finish(cands[0].0, &cands[0].1);
        }
        // Untyped inputs: the category the candidates agree on (string wins a conflict), and its
        // preferred type where one offers it.
        if base.contains(&oid::UNKNOWN) {
            let mut resolved = true;
            let mut slots: Vec<Option<(u8, bool)>> = vec![None; base.len()];
            for (i, slot) in slots.iter_mut().enumerate().filter(|(i, _)| base[*i] == oid::UNKNOWN) {
                // A conflict is remembered, and forgiven if the string category turns up.
                let mut conflict = false;
                for (_, a) in &cands {
                    let (cat, pref) = (self.category(a[i]), self.preferred(a[i]));
                    *slot = match *slot {
                        None => Some((cat, pref)),
                        Some((c, p)) if c == cat => Some((c, p || pref)),
                        Some(_) if cat == b'S' => Some((cat, pref)),
                        Some(other) => {
                            conflict = true;
                            Some(other)
                        }
                    };
                }
                if conflict && slot.is_some_and(|(c, _)| c != b'S') {
                    resolved = false;
                    break;
                }
            }
            if resolved {
                let before = cands.clone();
                cands.retain(|(_, a)| {
                    slots.iter().enumerate().all(|(i, s)| match s {
                        Some((c, p)) => self.category(a[i]) == *c && (!*p || self.preferred(a[i])),
                        None => true,
                    })
                });
                if cands.is_empty() {
                    cands = before;
                }
                if cands.len() == 1 {
                    return finish(cands[0].0, &cands[0].1);
                }
            }
            // Last gasp: the known inputs all have one type; take the untyped ones as it too.
            let known: Vec<u32> = base.iter().copied().filter(|&t| t != oid::UNKNOWN).collect();
            if let Some(&t) = known.first().filter(|&&t| known.iter().all(|&k| k == t)) {
                let same: Vec<&&(&Proc, Vec<u32>)> =
                    cands.iter().filter(|(_, a)| a.iter().all(|&d| self.can_coerce(t, d))).collect();
                if same.len() == 1 {
                    return finish(same[0].0, &same[0].1);
                }
            }
        }
        Err(format!("{what} is not unique for ({}): PostgreSQL could not choose either; add a cast", self.list(inputs)))
    }

    fn list(&self, inputs: &[u32]) -> String {
        inputs
            .iter()
            .map(|&t| if t == oid::UNKNOWN { "unknown".to_owned() } else { self.name(t) })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `select_common_type`: the type a UNION column, CASE, COALESCE, IN list or ARRAY takes.
    /// All untyped: text.
    pub fn common_type(&self, types: &[u32]) -> Result<u32, String> {
        let mut known = types.iter().copied().filter(|&t| t != oid::UNKNOWN);
        let Some(first) = known.next() else { return Ok(oid::TEXT) };
        // All the same type (a domain included): that type.
        if types.iter().all(|&t| t == first || t == oid::UNKNOWN) {
            return Ok(first);
        }
        let mut ptype = self.base(first);
        let mut pcat = self.category(ptype);
        let mut ppref = self.preferred(ptype);
        for t in known {
            let t = self.base(t);
            if t == ptype {
                continue;
            }
            let cat = self.category(t);
            if cat != pcat {
                return Err(format!("types {} and {} cannot be matched", self.name(ptype), self.name(t)));
            }
            if !ppref && self.can_coerce(ptype, t) && !self.can_coerce(t, ptype) {
                ptype = t;
                pcat = cat;
                ppref = self.preferred(t);
            }
        }
        // Every input must coerce to the result.
        for &t in types {
            if !self.can_coerce(t, ptype) {
                return Err(format!("{} cannot be matched with {}", self.name(t), self.name(ptype)));
            }
        }
        Ok(ptype)
    }
}
