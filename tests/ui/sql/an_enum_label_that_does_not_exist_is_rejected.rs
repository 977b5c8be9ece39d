use taulu_app::schema::sql;

fn main() {
    // PostgreSQL: `invalid input value for enum role: "ownr"`, when the statement is prepared.
    let _ = sql!("SELECT m.user_id FROM members m WHERE m.org_id = $1 AND m.member_role = 'ownr'", uuid::Uuid::nil());
}
