//! Bench binary: building and rendering queries with the typed builder, no database. Prints
//! nanoseconds per query (median of 5 rounds of 200,000). `cargo bench --bench render`.

use std::{hint::black_box, time::Instant};

use taulu::prelude::*;
use taulu_app::schema::{LoginAttempts, Members, Role, Users, login_attempts, members, orgs, users};

taulu::alias!(Counts);
use uuid::Uuid;

fn median_ns(mut f: impl FnMut()) -> f64 {
    const N: u32 = 200_000;
    let mut rounds: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..N {
                f();
            }
            t.elapsed().as_nanos() as f64 / f64::from(N)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[2]
}

fn main() {
    let id = Uuid::from_u128(7);
    let pk = median_ns(|| {
        let q = select_from::<Users>().columns((users::id, users::email)).where_(users::id.eq(black_box(id)));
        black_box(q.to_sql());
    });
    let joined = median_ns(|| {
        let q = select_from::<Members>()
            .inner_join(orgs::id, members::org_id)
            .left_join(users::id, members::user_id)
            .where_(members::member_role.eq(black_box(Role::Admin)).and(users::email.is_not_null()))
            .columns((orgs::name, users::email, members::member_role))
            .order_by(orgs::slug)
            .limit(50);
        black_box(q.to_sql());
    });
    let build_only = median_ns(|| {
        let q = select_from::<Members>()
            .inner_join(orgs::id, members::org_id)
            .left_join(users::id, members::user_id)
            .where_(members::member_role.eq(black_box(Role::Admin)).and(users::email.is_not_null()))
            .columns((orgs::name, users::email, members::member_role))
            .order_by(orgs::slug)
            .limit(50);
        let _ = black_box(q);
    });
    let insert = median_ns(|| {
        let q = insert_into::<Users>()
            .values(users::Insert::new(black_box("ann"), "ann@example.com", "h"))
            .returning((users::id,));
        black_box(q.to_sql());
    });
    // One query per family added in the query layer's second part.
    let cte = median_ns(|| {
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
        black_box(q.to_sql());
    });
    let window = median_ns(|| {
        let q = select_from::<Members>().columns((
            members::user_id,
            taulu::query::row_number().over(partition_by((members::org_id,)).order_by(members::created_at.desc())),
            count_all().over(taulu::query::window()),
        ));
        black_box(q.to_sql());
    });
    let json = median_ns(|| {
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
        black_box(q.to_sql());
    });
    println!("build + render, per query:");
    println!("  primary-key select, 2 columns            {pk:>7.0} ns");
    println!("  3 tables, left join, and, order, limit   {joined:>7.0} ns  (build alone {build_only:.0} ns)");
    println!("  insert one row, returning id             {insert:>7.0} ns");
    println!("  CTE of an aggregate, joined              {cte:>7.0} ns");
    println!("  window functions (row_number, count)     {window:>7.0} ns");
    println!("  JSON nesting (json_array of a join)      {json:>7.0} ns");
}
