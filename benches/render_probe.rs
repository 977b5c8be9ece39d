//! Bench binary for instruction counts: builds and renders one query 20,000 times, for running
//! under callgrind, which counts instructions exactly where wall-clock timings on a shared machine
//! wander by 20%:
//! `cargo bench --bench render_probe --no-run` then
//! `valgrind --tool=callgrind target/release/deps/render_probe-* pk` (or `join`); compare the
//! `I refs` of two checkouts. `pk` and `join` render with `into_sql()` (the values move into the
//! result); `pk-copy` and `join-copy` with `to_sql()` (they are copied, the query stays usable).
//!
//! `pk-hand` / `join-hand` make the same text and parameters by hand (the lower bound for a
//! builder that renders at run time: the text's pieces pushed into a `String`, the owned values
//! into a `Vec`). The rest are the yardsticks measured before taulu renders once per query shape
//! (docs/decisions.md, Speed): `pk-sketch` / `join-sketch` do what a builder whose query lives in its type would
//! do per call (no node tree; the text looked up by the query's type, rendered once; the values
//! pushed in bind order). The sketch is not taulu's code: it is the yardstick for that
//! restructuring (docs/decisions.md, Speed). `pk-tape` / `join-tape` sketch the other design that
//! reaches the same place without changing a builder type: the builder methods push small `Copy`
//! steps onto one flat tape (a column is one pointer to its static description, a value one
//! parameter index) instead of allocating nodes; the tape itself is the key of a per-thread text
//! cache (hashed and compared word by word, no walk over a tree), so a call costs the pushes, one
//! hash, one lookup and the copy of the text.

use std::{cell::RefCell, collections::HashMap, hint::black_box};

use taulu::{
    prelude::*,
    query::{Bind, BoxedSelect, Cons, Entry, NotNull, Nullable, Only, Param},
};
use taulu_app::schema::{Members, Orgs, Role, Users, members, orgs, users};

#[path = "support/sketch.rs"]
mod sketch;
use sketch::typed_sketch;

fn pk(id: uuid::Uuid) -> (String, Vec<Param>) {
    pk_query(id).into_sql()
}

fn pk_query(id: uuid::Uuid) -> BoxedSelect<Only<Users>, (uuid::Uuid, String)> {
    select_from::<Users>().columns((users::id, users::email)).where_(users::id.eq(id)).boxed()
}

fn join(role: Role) -> (String, Vec<Param>) {
    join_query(role).into_sql()
}

fn join_query(role: Role) -> BoxedSelect<JoinScope, (String, Option<String>, Role)> {
    select_from::<Members>()
        .inner_join(orgs::id, members::org_id)
        .left_join(users::id, members::user_id)
        .where_(members::member_role.eq(role).and(users::email.is_not_null()))
        .columns((orgs::name, users::email, members::member_role))
        .order_by(orgs::slug)
        .limit(50)
        .boxed()
}

type JoinScope = Cons<Entry<Users, Nullable>, Cons<Entry<Orgs, NotNull>, Only<Members>>>;

const PK_TEXT: &str = r#"SELECT "users"."id", "users"."email" FROM "users" WHERE "users"."id" = $1"#;
const JOIN_PIECES: [&str; 3] = [
    r#"SELECT "orgs"."name", "users"."email", "members"."member_role" FROM "members" INNER JOIN "orgs" ON "orgs"."id" = "members"."org_id" LEFT JOIN "users" ON "users"."id" = "members"."user_id" WHERE ("members"."member_role" = $1"#,
    r#" AND "users"."email" IS NOT NULL) ORDER BY "orgs"."slug" LIMIT $2"#,
    "",
];

/// By hand: the pieces pushed into a `String`, the owned values into a `Vec`.
fn by_hand(pieces: &[&str], values: impl FnOnce(&mut Vec<Param>)) -> (String, Vec<Param>) {
    let mut sql = String::with_capacity(256);
    let mut params = Vec::with_capacity(2);
    for p in pieces {
        sql.push_str(p);
    }
    values(&mut params);
    (sql, params)
}

struct PkShape;
struct JoinShape;

/// The static description of a column, as `schema!` would emit one per column.
struct ColumnRef {
    #[allow(dead_code)]
    table: &'static str,
    #[allow(dead_code)]
    column: &'static str,
}

/// One step of a query's shape, 16 bytes: a clause starts, a table, a column, the `n`th bound
/// value, or a fixed piece of SQL (an operator, a keyword).
#[derive(Clone, Copy)]
enum Op {
    Clause(u8),
    Table(&'static ColumnRef),
    Column(&'static ColumnRef),
    Param(u32),
    Sql(&'static &'static str),
}

impl Op {
    /// The step as two words: its kind and its payload (an address or an index).
    fn words(&self) -> (u64, u64) {
        match *self {
            Op::Clause(c) => (0, u64::from(c)),
            Op::Table(t) => (1, t as *const ColumnRef as u64),
            Op::Column(c) => (2, c as *const ColumnRef as u64),
            Op::Param(n) => (3, u64::from(n)),
            Op::Sql(s) => (4, s as *const &str as u64),
        }
    }
}

impl PartialEq for Op {
    fn eq(&self, other: &Op) -> bool {
        self.words() == other.words()
    }
}
impl Eq for Op {}

impl std::hash::Hash for Op {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let (kind, payload) = self.words();
        h.write_u64(kind ^ payload.rotate_left(3));
    }
}

/// The statement cache's hasher: one multiply per word.
#[derive(Default)]
struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The tape sketch: the steps and values `build` pushes (what the builder methods would do), the
/// text looked up by the whole tape (rendered by `render` on a miss).
fn tape_sketch(build: impl FnOnce(&mut Vec<Op>, &mut Vec<Param>), render: fn() -> String) -> (String, Vec<Param>) {
    type Texts = HashMap<Box<[Op]>, Box<str>, std::hash::BuildHasherDefault<WordHasher>>;
    thread_local! {
        static TEXTS: RefCell<Texts> = RefCell::new(Texts::default());
    }
    let (mut tape, mut params) = (Vec::with_capacity(32), Vec::with_capacity(4));
    build(&mut tape, &mut params);
    let sql = TEXTS.with(|texts| {
        let mut texts = texts.borrow_mut();
        match texts.get(&tape[..]) {
            Some(text) => String::from(&**text),
            None => {
                let text = render();
                texts.insert(tape.into_boxed_slice(), text.clone().into_boxed_str());
                text
            }
        }
    });
    (sql, params)
}

static USERS: ColumnRef = ColumnRef { table: "users", column: "" };
static USERS_ID: ColumnRef = ColumnRef { table: "users", column: "id" };
static USERS_EMAIL: ColumnRef = ColumnRef { table: "users", column: "email" };
static MEMBERS: ColumnRef = ColumnRef { table: "members", column: "" };
static MEMBERS_ORG_ID: ColumnRef = ColumnRef { table: "members", column: "org_id" };
static MEMBERS_USER_ID: ColumnRef = ColumnRef { table: "members", column: "user_id" };
static MEMBERS_ROLE: ColumnRef = ColumnRef { table: "members", column: "member_role" };
static ORGS: ColumnRef = ColumnRef { table: "orgs", column: "" };
static ORGS_ID: ColumnRef = ColumnRef { table: "orgs", column: "id" };
static ORGS_NAME: ColumnRef = ColumnRef { table: "orgs", column: "name" };
static ORGS_SLUG: ColumnRef = ColumnRef { table: "orgs", column: "slug" };
static EQ: &str = "=";
static AND: &str = "AND";
static IS_NOT_NULL: &str = "IS NOT NULL";
static ASC: &str = "ASC";
const FROM: u8 = 0;
const ITEMS: u8 = 1;
const WHERE: u8 = 2;
const INNER_JOIN: u8 = 3;
const LEFT_JOIN: u8 = 4;
const ORDER_BY: u8 = 5;
const LIMIT: u8 = 6;

/// The steps `select_from::<Users>().columns((users::id, users::email)).where_(users::id.eq(id))`
/// would push.
fn pk_tape(id: uuid::Uuid) -> (String, Vec<Param>) {
    tape_sketch(
        |t, p| {
            t.extend([Op::Clause(FROM), Op::Table(&USERS)]);
            t.extend([Op::Clause(ITEMS), Op::Column(&USERS_ID), Op::Column(&USERS_EMAIL)]);
            p.push(Param::new(id));
            t.extend([Op::Clause(WHERE), Op::Column(&USERS_ID), Op::Param(0), Op::Sql(&EQ)]);
        },
        || pk(uuid::Uuid::nil()).0,
    )
}

/// The steps of [`join`], method by method.
fn join_tape(role: Role) -> (String, Vec<Param>) {
    tape_sketch(
        |t, p| {
            t.extend([Op::Clause(FROM), Op::Table(&MEMBERS)]);
            t.extend([Op::Clause(INNER_JOIN), Op::Table(&ORGS), Op::Column(&ORGS_ID), Op::Column(&MEMBERS_ORG_ID)]);
            t.extend([Op::Clause(LEFT_JOIN), Op::Table(&USERS), Op::Column(&USERS_ID), Op::Column(&MEMBERS_USER_ID)]);
            p.push(Param::new(role));
            t.extend([Op::Clause(WHERE), Op::Column(&MEMBERS_ROLE), Op::Param(0), Op::Sql(&EQ)]);
            t.extend([Op::Column(&USERS_EMAIL), Op::Sql(&IS_NOT_NULL), Op::Sql(&AND)]);
            t.extend([Op::Clause(ITEMS), Op::Column(&ORGS_NAME), Op::Column(&USERS_EMAIL), Op::Column(&MEMBERS_ROLE)]);
            t.extend([Op::Clause(ORDER_BY), Op::Column(&ORGS_SLUG), Op::Sql(&ASC)]);
            p.push(Param::new(50_i64));
            t.extend([Op::Clause(LIMIT), Op::Param(1)]);
        },
        || join(Role::Member).0,
    )
}

fn main() {
    let id = uuid::Uuid::from_u128(7);
    let which = std::env::args().nth(1).unwrap_or_default();
    let pk_values = |p: &mut Vec<Param>| p.push(Bind::<uuid::Uuid>::bind(black_box(id)));
    let join_values = |p: &mut Vec<Param>| {
        p.push(Bind::<Role>::bind(black_box(Role::Admin)));
        p.push(Bind::<i64>::bind(50_i64));
    };
    // The three make the same statement.
    let same =
        |a: (String, Vec<Param>), b: (String, Vec<Param>)| a.0 == b.0 && format!("{:?}", a.1) == format!("{:?}", b.1);
    assert!(same(pk(id), by_hand(&[PK_TEXT], pk_values)));
    assert!(same(pk(id), typed_sketch::<PkShape>(|| pk(uuid::Uuid::nil()).0, pk_values)));
    assert!(same(join(Role::Admin), by_hand(&JOIN_PIECES, join_values)));
    assert!(same(join(Role::Admin), typed_sketch::<JoinShape>(|| join(Role::Member).0, join_values)));
    assert!(same(pk(id), pk_tape(id)) && same(pk(id), pk_tape(id)));
    assert!(same(join(Role::Admin), join_tape(Role::Admin)) && same(join(Role::Admin), join_tape(Role::Admin)));
    // `PROBE_ITERS` raises the count for a timing (`time target/release/deps/render_probe-* pk`).
    let iters = std::env::var("PROBE_ITERS").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    for _ in 0..iters {
        black_box(match which.as_str() {
            "join" => join(black_box(Role::Admin)),
            "join-copy" => join_query(black_box(Role::Admin)).to_sql(),
            "pk-copy" => pk_query(black_box(id)).to_sql(),
            "join-hand" => by_hand(&JOIN_PIECES, join_values),
            "join-sketch" => typed_sketch::<JoinShape>(|| join(Role::Member).0, join_values),
            "pk-hand" => by_hand(&[PK_TEXT], pk_values),
            "pk-sketch" => typed_sketch::<PkShape>(|| pk(uuid::Uuid::nil()).0, pk_values),
            "pk-tape" => pk_tape(black_box(id)),
            "join-tape" => join_tape(black_box(Role::Admin)),
            _ => pk(black_box(id)),
        });
    }
}
