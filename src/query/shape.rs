//! SQL text once per query shape. A SELECT whose every part has a text that follows from its
//! type (a table, a column list, a comparison of columns and values, a join on two columns, a sort
//! key, LIMIT) is recorded as [`Part`]s instead of a node tree: each part is the address of a
//! generic function that builds that part's nodes from the type alone, a few bits the type does
//! not say (an operator, a direction), and where its values start; the values themselves go
//! straight into one `Vec`, in the order they were bound. The parts are the key of a per-thread
//! map from shapes to texts: a query renders its text the first time its thread meets its shape
//! and copies it after, with its values put in text order by a permutation kept with the text.
//!
//! Everything else (a raw fragment, a subquery, GROUP BY, a lock, ..) turns the record into the
//! untyped [`SelectCore`] by calling the same functions with the values instead of slots, and the
//! query goes on as a node tree. Debug builds render every cached query both ways and compare.

use std::{
    cell::RefCell,
    collections::HashMap,
    hash::{BuildHasherDefault, Hash, Hasher},
};

use super::{
    render::{Node, SelectCore, Source, Writer},
    value::Param,
};

/// What a part's type does not say of its text, written by `shape_bits` and read back in the
/// same order by `shape`. Full at 32 bits (the expression is then not shaped).
#[derive(Default, Clone, Copy)]
#[doc(hidden)]
pub struct Bits {
    word: u32,
    used: u32,
}

impl Bits {
    /// Appends `width` bits of `value`; false when they do not fit.
    #[inline]
    pub fn push(&mut self, value: u32, width: u32) -> bool {
        if self.used + width > 32 {
            return false;
        }
        self.word |= value << self.used;
        self.used += width;
        true
    }

    /// Takes the next `width` bits.
    #[inline]
    pub fn take(&mut self, width: u32) -> u32 {
        let value = self.word & ((1 << width) - 1);
        self.word >>= width;
        value
    }

    fn read(word: u32) -> Self {
        Bits { word, used: 0 }
    }
}

/// Where a shape's bound values come from: numbered slots (rendering the text of a shape), or
/// the values themselves in bind order (turning the record into a node tree).
#[doc(hidden)]
pub enum Fill<'a> {
    Slots(u16),
    Values(&'a mut std::vec::IntoIter<Param>),
}

impl Fill<'_> {
    /// The next bound value, `cast` to a domain's base type when it has one.
    #[inline]
    pub fn param(&mut self, cast: Option<&'static str>) -> Node {
        match self {
            Fill::Slots(next) => {
                let slot = *next;
                *next += 1;
                Node::Slot(slot, cast)
            }
            Fill::Values(values) => Node::Param(values.next().expect("a value for every slot of the shape"), cast),
        }
    }
}

/// Builds one part of a SELECT into the core, from its type and its bits.
#[doc(hidden)]
pub type PartFn = fn(&mut Bits, &mut Fill<'_>, &mut SelectCore);

/// One recorded part: the function that builds it, its bits, and the index of its first value.
#[derive(Clone, Copy)]
struct Part {
    build: PartFn,
    /// The bits, and the index of the first value above them (one word, compared at once).
    word: u64,
}

impl Part {
    fn bits(&self) -> Bits {
        Bits::read(self.word as u32)
    }

    fn start(&self) -> u16 {
        (self.word >> 32) as u16
    }
}

impl PartialEq for Part {
    fn eq(&self, other: &Part) -> bool {
        // Two functions the compiler merged have the same machine code, so they build the same
        // nodes; one function with two addresses (two codegen units) only costs a second entry.
        std::ptr::fn_addr_eq(self.build, other.build) && self.word == other.word
    }
}

/// The most parts a shaped SELECT records; one more turns it into a node tree.
const MAX_PARTS: usize = 12;

/// Which clauses a record already has (a second column list or LIMIT replaces the first, which
/// the node tree does and a record does not).
pub(crate) const ITEMS: u8 = 1;
pub(crate) const LIMIT: u8 = 2;
pub(crate) const OFFSET: u8 = 4;

/// A SELECT recorded as its shape and its values.
#[derive(Clone)]
pub(crate) struct Shaped {
    key: Key,
    seen: u8,
    params: Vec<Param>,
}

fn nothing(_: &mut Bits, _: &mut Fill<'_>, _: &mut SelectCore) {}

impl Shaped {
    /// A record that starts with `from` (the part that sets FROM), on the heap: a builder moves
    /// its query at every call, and a pointer moves for free where the record would be copied
    /// (a copy of a record just written also stalls on the stores it reads back).
    #[inline]
    pub(crate) fn boxed(from: PartFn) -> Box<Self> {
        const EMPTY: Shaped = Shaped {
            key: Key { parts: [Part { build: nothing, word: 0 }; MAX_PARTS], len: 0, hash: 0 },
            seen: 0,
            params: Vec::new(),
        };
        let mut shaped = Box::new(EMPTY);
        shaped.push(from, Bits::default(), 0);
        shaped
    }

    /// Whether a part for `clause` (one of [`ITEMS`], [`LIMIT`], [`OFFSET`], or 0) can be
    /// recorded: room, and the clause not set yet.
    #[inline]
    pub(crate) fn has_room(&self, clause: u8) -> bool {
        usize::from(self.key.len) < MAX_PARTS
            && self.seen & clause == 0
            && self.params.len() < usize::from(u16::MAX / 2)
    }

    /// Records a part (after [`has_room`](Self::has_room)): its function and its bits; its values
    /// go into the `Vec` returned, in the order the function takes them. (Not generic: it is
    /// compiled once, not once per query type.)
    #[inline]
    pub(crate) fn push(&mut self, build: PartFn, bits: Bits, clause: u8) -> &mut Vec<Param> {
        let part = Part { build, word: u64::from(bits.word) | (self.params.len() as u64) << 32 };
        let key = &mut self.key;
        key.parts[usize::from(key.len)] = part;
        key.len += 1;
        for word in [build as usize as u64, part.word] {
            key.hash = (key.hash.rotate_left(26) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        self.seen |= clause;
        if self.params.capacity() == 0 {
            // One allocation of room for a few values, not a grow from nothing.
            self.params = Vec::with_capacity(4);
        }
        &mut self.params
    }

    /// The node tree of the record, with its values (taken: the record is left without them).
    pub(crate) fn take_core(&mut self) -> SelectCore {
        let mut core = SelectCore::new(Source::Cte(""));
        let mut values = std::mem::take(&mut self.params).into_iter();
        for part in self.key.parts() {
            (part.build)(&mut part.bits(), &mut Fill::Values(&mut values), &mut core);
        }
        core
    }

    /// The text (with `LIMIT 1` when `first` and no limit of its own) and the values in text
    /// order: the text from this thread's cache, rendered on the first meeting of the shape.
    pub(crate) fn compile(&self, first: bool) -> (String, Vec<Param>) {
        let compiled = self.with_text(first, |text| {
            let params = match &text.order {
                None => self.params.clone(),
                Some(order) => self.in_text_order(order),
            };
            (String::from(&*text.sql), params)
        });
        self.check(first, &compiled);
        compiled
    }

    /// [`compile`](Self::compile) of a record that is not needed after: its values move into
    /// the statement when they were bound in text order (the usual case) instead of being copied.
    pub(crate) fn take_compiled(&mut self, first: bool) -> (String, Vec<Param>) {
        let (sql, order) = self.with_text(first, |text| (String::from(&*text.sql), text.order.clone()));
        #[cfg(debug_assertions)]
        let record = self.clone();
        let params = match order {
            None => std::mem::take(&mut self.params),
            Some(order) => self.in_text_order(&order),
        };
        let compiled = (sql, params);
        #[cfg(debug_assertions)]
        record.check(first, &compiled);
        compiled
    }

    /// Copies of the values in text order (`order`: bind-order indices, as the text reads them).
    fn in_text_order(&self, order: &[u16]) -> Vec<Param> {
        order.iter().map(|&i| self.params[usize::from(i)].clone()).collect()
    }

    /// Runs `f` on the text of this record's shape: this thread's, or rendered now.
    #[inline]
    fn with_text<R>(&self, first: bool, f: impl FnOnce(&Text) -> R) -> R {
        TEXTS.with(|texts| {
            let texts = &mut texts.borrow_mut()[usize::from(first)];
            let text = match texts.get(&self.key) {
                Some(text) => text,
                None => {
                    if texts.len() >= MAX_TEXTS {
                        texts.clear();
                    }
                    texts.entry(self.key).or_insert(self.render(first))
                }
            };
            f(text)
        })
    }

    /// Debug builds: the statement is the one the node tree of the same query renders.
    #[cfg_attr(not(debug_assertions), allow(unused_variables))]
    fn check(&self, first: bool, (sql, params): &(String, Vec<Param>)) {
        #[cfg(debug_assertions)]
        {
            let mut w = Writer::default();
            w.push_select_inner(&self.clone().take_core(), first);
            assert_eq!(*sql, w.sql, "a shaped query's cached text differs from its node tree's");
            assert_eq!(format!("{params:?}"), format!("{:?}", w.params), "a shaped query's values are out of order");
        }
    }

    fn render(&self, first: bool) -> Text {
        let mut core = SelectCore::new(Source::Cte(""));
        for part in self.key.parts() {
            (part.build)(&mut part.bits(), &mut Fill::Slots(part.start()), &mut core);
        }
        let mut w = Writer::default();
        w.push_select_inner(&core, first);
        let in_order = w.slots.iter().enumerate().all(|(i, &slot)| usize::from(slot) == i);
        let order = (!in_order || w.slots.len() != self.params.len()).then(|| w.slots.into_boxed_slice());
        Text { sql: w.sql.into_boxed_str(), order }
    }
}

/// Shapes a thread keeps texts for; the map is emptied when it holds this many (a program has
/// as many shapes as it has query call sites and combinations of optional clauses, so this is
/// reached only by a program that makes shapes without end).
const MAX_TEXTS: usize = 2048;

/// A cached text, and the values' order in it (by index in bind order) when that is not the
/// order they were bound in.
struct Text {
    sql: Box<str>,
    order: Option<Box<[u16]>>,
}

/// The recorded parts, and their hash (mixed as they are recorded).
#[derive(Clone, Copy)]
struct Key {
    parts: [Part; MAX_PARTS],
    len: u8,
    hash: u64,
}

impl Key {
    fn parts(&self) -> &[Part] {
        &self.parts[..usize::from(self.len)]
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The key's own hash, already mixed as the parts were recorded.
#[derive(Default)]
struct KeyHash(u64);

impl Hasher for KeyHash {
    fn write(&mut self, _: &[u8]) {
        unreachable!("a shape key writes one u64")
    }
    fn write_u64(&mut self, hash: u64) {
        self.0 = hash ^ (hash >> 29);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

thread_local! {
    /// The texts of this thread's shapes: as they are, and for fetching the first row.
    static TEXTS: RefCell<[HashMap<Key, Text, BuildHasherDefault<KeyHash>>; 2]> = const {
        RefCell::new([HashMap::with_hasher(BuildHasherDefault::new()), HashMap::with_hasher(BuildHasherDefault::new())])
    };
}

/// How many shapes this thread keeps texts for.
pub(crate) fn cached() -> usize {
    TEXTS.with(|texts| texts.borrow().iter().map(HashMap::len).sum())
}
