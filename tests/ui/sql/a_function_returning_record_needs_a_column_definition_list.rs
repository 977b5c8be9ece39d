use taulu_app::schema::sql;

fn main() {
    let _ = sql!("SELECT * FROM jsonb_to_recordset($1::jsonb)", serde_json::json!([]));
}
