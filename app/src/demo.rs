//! `cargo run -- demo`: migrate the database, show the schema, and run the product's flows
//! through the typed builder over the pool, printing what each returned.

use taulu::{Result, migrate::Migrator};

/// Migrates the application database (`DATABASE_URL`, or the local cluster's `taulu` database),
/// prints its status and schema, then runs the product's flows through the builder.
pub async fn run() -> Result<()> {
    let url = taulu::local::url_or_local(taulu_cli::LOCAL_DB).await?;
    println!("database: {url}");
    let client = taulu::connect(&url).await?;
    let migrator = Migrator::new(&crate::MIGRATIONS);
    let applied = migrator.up(&client, None).await?;
    println!("\n== migrate up: {} applied", applied.len());
    for a in &applied {
        println!("   {:06}_{} ({} ms)", a.version, a.name, a.duration.as_millis());
    }
    println!("\n== migrate status\n{}", migrator.status(&client).await?);

    println!("\n== tables");
    let tables = client
        .query(
            "SELECT c.table_name, string_agg(c.column_name || ' ' || c.udt_name, ', ' ORDER BY c.ordinal_position)
             FROM information_schema.columns c
             JOIN information_schema.tables t USING (table_schema, table_name)
             WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.table_name <> $1
             GROUP BY c.table_name ORDER BY c.table_name",
            &[&taulu::migrate::DEFAULT_TABLE],
        )
        .await?;
    for row in &tables {
        println!("   {:<15} {}", row.get::<_, String>(0), row.get::<_, String>(1));
    }
    println!("\n== enums");
    let enums = client
        .query(
            "SELECT t.typname, string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)
             FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
             JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public'
             GROUP BY t.typname ORDER BY t.typname",
            &[],
        )
        .await?;
    for row in &enums {
        println!("   {:<15} {}", row.get::<_, String>(0), row.get::<_, String>(1));
    }

    drop(client);
    let db = taulu::Db::connect(taulu::DbConfig::new(url)).await?;
    builder_flows(&db).await?;
    let (open, idle) = db.state();
    println!("   pool: {open} connections open, {idle} idle (max 5)");
    Ok(())
}

/// The product's flows through the typed builder, printing what each returned. Names carry a
/// random suffix and everything is deleted at the end, so the demo can run again and again.
async fn builder_flows(db: &taulu::Db) -> Result<()> {
    use crate::schema::{
        LoginAttempts, Members, Orgs, Role, Sessions, Users, login_attempts, members, orgs, sessions, users,
    };
    use taulu::prelude::*;

    let tag: String = format!("{:04x}", rand::random::<u16>());
    let (ann_name, bob_name, slug) = (format!("ann-{tag}"), format!("bob-{tag}"), format!("acme-{tag}"));
    println!("\n== the builder at work (demo names end in -{tag}; deleted at the end)");

    let ann: users::Row = insert_into::<Users>()
        .values(
            users::Insert::new(ann_name.clone(), format!("{ann_name}@example.com"), "argon2id$...")
                .with_display_name("Ann"),
        )
        .returning_all()
        .fetch_one(db)
        .await?;
    println!(
        "   created user {} ({}), system_role {}, created_at {}",
        ann.username, ann.id, ann.system_role, ann.created_at
    );
    let (bob_id,) = insert_into::<Users>()
        .values(users::Insert::new(bob_name.clone(), format!("{bob_name}@example.com"), "argon2id$..."))
        .returning((users::id,))
        .fetch_one(db)
        .await?;

    for (identifier, success) in [(ann_name.as_str(), false), (ann_name.as_str(), true), ("mallory", false)] {
        let user = (identifier == ann_name).then_some(ann.id);
        let mut attempt =
            login_attempts::Insert::new(identifier.to_owned(), success).with_ip("127.0.0.1".parse().unwrap());
        if let Some(id) = user {
            attempt = attempt.with_user_id(id);
        }
        insert_into::<LoginAttempts>().values(attempt).execute(db).await?;
    }
    let (tries, failures): (i64, i64) = (
        select_from::<LoginAttempts>()
            .columns((count_all(),))
            .where_(login_attempts::user_id.eq(ann.id))
            .fetch_one(db)
            .await?
            .0,
        select_from::<LoginAttempts>()
            .columns((count_all(),))
            .where_(login_attempts::user_id.eq(ann.id))
            .where_(login_attempts::success.eq(false))
            .fetch_one(db)
            .await?
            .0,
    );
    println!("   recorded login attempts: {tries} for {ann_name}, {failures} of them failed");

    let expires = chrono::Utc::now() + chrono::Duration::days(30);
    let (session_id, session_expires) = insert_into::<Sessions>()
        .values(
            sessions::Insert::new(ann.id, rand::random::<[u8; 32]>().to_vec(), expires).with_user_agent("taulu-demo"),
        )
        .returning((sessions::id, sessions::expires_at))
        .fetch_one(db)
        .await?;
    println!("   opened session {session_id}, expires {session_expires}");

    let (org_id, org_name) = insert_into::<Orgs>()
        .values(orgs::Insert::new("Acme", slug.clone()))
        .returning((orgs::id, orgs::name))
        .fetch_one(db)
        .await?;
    println!("   created org {org_name} ({slug})");
    insert_into::<Members>()
        .values_many([
            members::Insert::new(org_id, ann.id).with_member_role(Role::Owner),
            members::Insert::new(org_id, bob_id),
        ])
        .execute(db)
        .await?;
    println!("   added members: {ann_name} as owner, {bob_name} with the default role");

    for (name, id) in [(&ann_name, ann.id), (&bob_name, bob_id)] {
        let orgs_of = select_from::<Members>()
            .inner_join(orgs::id, members::org_id)
            .where_(members::user_id.eq(id))
            .columns((orgs::name, orgs::slug, members::member_role))
            .fetch_all(db)
            .await?;
        for (org, slug, role) in orgs_of {
            println!("   {name} belongs to {org} ({slug}) as {role}");
        }
    }

    let rolled_back = db
        .transaction(async |tx| {
            insert_into::<Users>()
                .values(users::Insert::new(format!("carol-{tag}"), format!("carol-{tag}@example.com"), "x"))
                .execute(tx)
                .await?;
            // Same email as ann, differently cased: the unique index refuses it, the whole
            // transaction (carol too) rolls back.
            insert_into::<Users>()
                .values(users::Insert::new(
                    format!("dave-{tag}"),
                    format!("{}@EXAMPLE.com", ann_name.to_uppercase()),
                    "x",
                ))
                .execute(tx)
                .await?;
            Ok(())
        })
        .await;
    let carol = select_from::<Users>()
        .columns((users::id,))
        .where_(users::username.eq(format!("carol-{tag}")))
        .fetch_optional(db)
        .await?;
    println!(
        "   a transaction inserting carol then a duplicate email: {}; carol exists afterwards: {}",
        match &rolled_back {
            Err(e) if e.is_unique_violation() => "failed with a unique violation, rolled back".to_owned(),
            Err(e) => format!("failed: {e}"),
            Ok(()) => "unexpectedly committed".to_owned(),
        },
        carol.is_some()
    );

    // Clean up: members and sessions go with their user and org (ON DELETE CASCADE).
    let gone = delete_from::<Users>().where_(users::id.in_([ann.id, bob_id])).execute(db).await?;
    delete_from::<Orgs>().where_(orgs::id.eq(org_id)).execute(db).await?;
    delete_from::<LoginAttempts>()
        .where_(login_attempts::identifier.in_([ann_name.clone(), "mallory".to_owned()]))
        .execute(db)
        .await?;
    println!("   cleaned up: deleted {gone} users (their sessions and memberships cascaded), the org and the attempts");
    Ok(())
}
