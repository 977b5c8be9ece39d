//! Criterion: building and rendering one query of each family with taulu alone (no database):
//! what a call costs before it reaches the pool. `cargo bench -p taulu-peer-benches --bench render`.
//! The side-by-side with diesel and sea-query is the `build` bench.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use taulu::prelude::*;
use taulu_app::schema::{LoginAttempts, Members, Role, Users, login_attempts, members, orgs, users};
use uuid::Uuid;

taulu::alias!(Counts);

fn bench(c: &mut Criterion) {
    let id = Uuid::from_u128(7);
    let mut g = c.benchmark_group("render");
    g.bench_function("primary-key select, 2 columns", |b| {
        b.iter(|| {
            let q = select_from::<Users>().columns((users::id, users::email)).where_(users::id.eq(black_box(id)));
            black_box(q.to_sql())
        })
    });
    let joined = || {
        select_from::<Members>()
            .inner_join(orgs::id, members::org_id)
            .left_join(users::id, members::user_id)
            .where_(members::member_role.eq(black_box(Role::Admin)).and(users::email.is_not_null()))
            .columns((orgs::name, users::email, members::member_role))
            .order_by(orgs::slug)
            .limit(50)
    };
    g.bench_function("3 tables, left join, and, order, limit", |b| b.iter(|| black_box(joined().to_sql())));
    g.bench_function("3 tables, built only (not rendered)", |b| b.iter(|| black_box(joined())));
    g.bench_function("insert one row, returning id", |b| {
        b.iter(|| {
            let q = insert_into::<Users>()
                .values(users::Insert::new(black_box("ann"), "ann@example.com", "h"))
                .returning((users::id,));
            black_box(q.to_sql())
        })
    });
    g.bench_function("CTE of an aggregate, joined", |b| {
        b.iter(|| {
            let counts = taulu::query::derived(
                Counts,
                select_from::<LoginAttempts>()
                    .columns((login_attempts::identifier, count_all()))
                    .where_(login_attempts::success.eq(black_box(false)))
                    .group_by((login_attempts::identifier,)),
            );
            let (who, n) = (counts.col::<0>(), counts.col::<1>());
            let q = taulu::query::with(&counts)
                .select_from::<Users>()
                .inner_join_cte(&counts, who.eq(users::username))
                .columns((users::username, n))
                .where_(n.ge(3));
            black_box(q.to_sql())
        })
    });
    g.bench_function("window functions (row_number, count)", |b| {
        b.iter(|| {
            let q = select_from::<Members>().columns((
                members::user_id,
                taulu::query::row_number().over(partition_by((members::org_id,)).order_by(members::created_at.desc())),
                count_all().over(taulu::query::window()),
            ));
            black_box(q.to_sql())
        })
    });
    g.bench_function("JSON nesting (json_array of a join)", |b| {
        b.iter(|| {
            let q = select_from::<Users>()
                .columns((
                    users::username,
                    taulu::query::json_array::<_, _, _, serde_json::Value>(Members, |m| {
                        m.inner_join(orgs::id, members::org_id)
                            .columns((orgs::slug, members::member_role))
                            .where_(members::user_id.eq(users::id))
                    }),
                ))
                .where_(users::id.eq(black_box(id)));
            black_box(q.to_sql())
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = taulu_peer_benches::criterion(std::time::Duration::from_secs(2), 40);
    targets = bench
}
criterion_main!(benches);
