//! Organisations and their members: create (the creator becomes the owner, in one transaction),
//! list mine with my role, add members, change roles, remove members or leave. Owners and admins
//! manage members; only owners make or unmake owners; the last owner can neither leave nor be
//! demoted or removed.
//!
//! Every change to an org's members starts by locking the org's row (`FOR UPDATE`, that row
//! alone), so concurrent changes to one org run one after another, in one lock order, and the
//! "last owner" check cannot be raced.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use taulu::{Tx, prelude::*, query::Aliased};
use uuid::Uuid;

use super::{
    AppState,
    auth::CurrentUser,
    error::{ApiError, ApiResult},
};
use crate::schema::{Members, Orgs, Role, Users, members, orgs, users};

#[derive(Deserialize)]
pub struct NewOrg {
    pub name: String,
    pub slug: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct MyOrg {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    /// Serialized as its SQL label (`"owner"`), by taulu's `serde` feature.
    pub role: Role,
}

/// `POST /orgs`: 201; the org and the creator's owner membership commit together or not at all.
pub async fn create(
    State(app): State<AppState>,
    user: CurrentUser,
    Json(req): Json<NewOrg>,
) -> ApiResult<(StatusCode, Json<MyOrg>)> {
    let me = user.me.id;
    let (id, name, slug) = app
        .db
        .transaction(async |tx| {
            let org = insert_into::<Orgs>()
                .values(orgs::Insert::new(req.name.trim(), req.slug.trim()))
                .returning((orgs::id, orgs::name, orgs::slug))
                .fetch_one(tx)
                .await?;
            insert_into::<Members>()
                .values(members::Insert::new(org.0, me).with_member_role(Role::Owner))
                .execute(tx)
                .await?;
            Ok(org)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(MyOrg { id, name, slug, role: Role::Owner })))
}

/// `GET /orgs`: the caller's orgs with the caller's role in each, by name.
pub async fn list_mine(State(app): State<AppState>, user: CurrentUser) -> ApiResult<Json<Vec<MyOrg>>> {
    let rows = select_from::<Members>()
        .inner_join(orgs::id, members::org_id)
        .where_(members::user_id.eq(user.me.id))
        .columns((orgs::id, orgs::name, orgs::slug, members::member_role))
        .order_by(orgs::name)
        .fetch_all(&app.db)
        .await?;
    Ok(Json(rows.into_iter().map(|(id, name, slug, role)| MyOrg { id, name, slug, role }).collect()))
}

/// `GET /orgs/{slug}`: the org's row as it is in the database (`orgs::Row`, serialized by taulu's
/// `serde` feature), for its members only (404 for anyone else).
pub async fn show(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> ApiResult<Json<orgs::Row>> {
    let found = select_from::<Orgs>()
        .inner_join(members::org_id, orgs::id)
        .where_(orgs::slug.eq(slug))
        .where_(members::user_id.eq(user.me.id))
        .all()
        .fetch_optional(&app.db)
        .await?;
    let (org, _membership) = found.ok_or(ApiError::NotFound("no such org"))?;
    Ok(Json(org))
}

#[derive(Deserialize)]
pub struct AddMember {
    pub email: String,
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
}

#[derive(Deserialize)]
pub struct ChangeRole {
    pub role: String,
}

taulu::alias!(Mine);

/// `GET /orgs/{slug}/members`: for members of the org only (404 for anyone else): the members
/// joined to the caller's own membership row, an alias of the same table.
pub async fn list_members(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<Member>>> {
    let mine = members::user_id.of::<Mine>();
    let rows = select_from::<Members>()
        .inner_join(orgs::id, members::org_id)
        .inner_join(users::id, members::user_id)
        .inner_join_on(Aliased::<Members, Mine>::default(), members::org_id.of::<Mine>().eq(members::org_id))
        .where_(orgs::slug.eq(slug))
        .where_(mine.eq(user.me.id))
        .columns((users::id, users::username, members::member_role))
        .order_by(users::username)
        .fetch_all(&app.db)
        .await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound("no such org"));
    }
    Ok(Json(rows.into_iter().map(|(user_id, username, role)| Member { user_id, username, role }).collect()))
}

/// `POST /orgs/{slug}/members`: owners and admins add a member by email (role `member` unless
/// given; only owners add owners). 201; 404 for an unknown org or email; 409 if already a member.
pub async fn add_member(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    Json(req): Json<AddMember>,
) -> ApiResult<(StatusCode, Json<Member>)> {
    let role = match &req.role {
        Some(r) => parse_role(r)?,
        None => Role::Member,
    };
    let me = user.me.id;
    let outcome = app
        .db
        .transaction(async |tx| {
            let (org_id, my_role) = match lock_membership(tx, &slug, me).await? {
                Some(m) => m,
                None => return Ok(Err(ApiError::NotFound("no such org"))),
            };
            if let Err(e) = may_manage(my_role, None, role) {
                return Ok(Err(e));
            }
            let Some((user_id, username)) = select_from::<Users>()
                .columns((users::id, users::username))
                .where_(lower(users::email).eq(req.email.trim().to_lowercase()))
                .fetch_optional(tx)
                .await?
            else {
                return Ok(Err(ApiError::NotFound("no account has that email")));
            };
            insert_into::<Members>()
                .values(members::Insert::new(org_id, user_id).with_member_role(role))
                .execute(tx)
                .await?;
            Ok(Ok(Member { user_id, username, role }))
        })
        .await??;
    Ok((StatusCode::CREATED, Json(outcome)))
}

/// `PATCH /orgs/{slug}/members/{user_id}`: owners and admins change a member's role (only owners
/// touch owners). 409 when it would leave the org without an owner.
pub async fn change_role(
    State(app): State<AppState>,
    user: CurrentUser,
    Path((slug, target)): Path<(String, Uuid)>,
    Json(req): Json<ChangeRole>,
) -> ApiResult<StatusCode> {
    let role = parse_role(&req.role)?;
    let me = user.me.id;
    app.db
        .transaction(async |tx| {
            let (org_id, my_role, current) = match target_membership(tx, &slug, me, target).await? {
                Ok(found) => found,
                Err(e) => return Ok(Err(e)),
            };
            if let Err(e) = may_manage(my_role, Some(current), role) {
                return Ok(Err(e));
            }
            if current == Role::Owner && role != Role::Owner && owners(tx, org_id).await? == 1 {
                return Ok(Err(ApiError::Conflict("the last owner cannot be demoted".into())));
            }
            update::<Members>()
                .set(members::member_role, role)
                .where_(members::org_id.eq(org_id).and(members::user_id.eq(target)))
                .execute(tx)
                .await?;
            Ok(Ok(StatusCode::NO_CONTENT))
        })
        .await?
}

/// `DELETE /orgs/{slug}/members/{user_id}`: owners and admins remove members (only owners remove
/// owners); anyone may remove themselves (leave). 409 for the last owner.
pub async fn remove_member(
    State(app): State<AppState>,
    user: CurrentUser,
    Path((slug, target)): Path<(String, Uuid)>,
) -> ApiResult<StatusCode> {
    let me = user.me.id;
    app.db
        .transaction(async |tx| {
            let (org_id, my_role, current) = match target_membership(tx, &slug, me, target).await? {
                Ok(found) => found,
                Err(e) => return Ok(Err(e)),
            };
            if target != me
                && let Err(e) = may_manage(my_role, Some(current), Role::Member)
            {
                return Ok(Err(e));
            }
            if current == Role::Owner && owners(tx, org_id).await? == 1 {
                return Ok(Err(ApiError::Conflict("the last owner cannot leave the org".into())));
            }
            delete_from::<Members>()
                .where_(members::org_id.eq(org_id).and(members::user_id.eq(target)))
                .execute(tx)
                .await?;
            Ok(Ok(StatusCode::NO_CONTENT))
        })
        .await?
}

/// The org of `slug` and the caller's role in it. The org's row is locked first (`FOR UPDATE`,
/// until the transaction ends), alone: every membership change of one org takes this one lock
/// before any other, so they run one after another in the same lock order (no deadlock) and the
/// last-owner check cannot be raced. `None` when the caller is not a member: the org is then not
/// visible to them.
async fn lock_membership(tx: &Tx<'_>, slug: &str, me: Uuid) -> taulu::Result<Option<(Uuid, Role)>> {
    let org = select_from::<Orgs>()
        .columns((orgs::id,))
        .where_(orgs::slug.eq(slug.to_owned()))
        .for_update()
        .fetch_optional(tx)
        .await?;
    let Some((org_id,)) = org else { return Ok(None) };
    Ok(role_of(tx, org_id, me).await?.map(|role| (org_id, role)))
}

/// For a change to `target`'s membership: the org (locked, see [`lock_membership`]), the caller's
/// role and `target`'s; 404 when the caller is not a member or `target` is not.
async fn target_membership(
    tx: &Tx<'_>,
    slug: &str,
    me: Uuid,
    target: Uuid,
) -> taulu::Result<Result<(Uuid, Role, Role), ApiError>> {
    let Some((org_id, my_role)) = lock_membership(tx, slug, me).await? else {
        return Ok(Err(ApiError::NotFound("no such org")));
    };
    let Some(current) = role_of(tx, org_id, target).await? else {
        return Ok(Err(ApiError::NotFound("not a member")));
    };
    Ok(Ok((org_id, my_role, current)))
}

async fn role_of(tx: &Tx<'_>, org_id: Uuid, user_id: Uuid) -> taulu::Result<Option<Role>> {
    let row = select_from::<Members>()
        .columns((members::member_role,))
        .where_(members::org_id.eq(org_id).and(members::user_id.eq(user_id)))
        .fetch_optional(tx)
        .await?;
    Ok(row.map(|(role,)| role))
}

async fn owners(tx: &Tx<'_>, org_id: Uuid) -> taulu::Result<i64> {
    let (n,) = select_from::<Members>()
        .columns((count_all(),))
        .where_(members::org_id.eq(org_id).and(members::member_role.eq(Role::Owner)))
        .fetch_one(tx)
        .await?;
    Ok(n)
}

/// Whether a member with `mine` may give someone whose role is `theirs` (`None`: not a member
/// yet) the role `to`: owners may do anything; admins manage non-owners and may not make owners.
fn may_manage(mine: Role, theirs: Option<Role>, to: Role) -> Result<(), ApiError> {
    match mine {
        Role::Owner => Ok(()),
        Role::Admin if theirs != Some(Role::Owner) && to != Role::Owner => Ok(()),
        Role::Admin => Err(ApiError::Forbidden("only owners manage owners")),
        Role::Member => Err(ApiError::Forbidden("only owners and admins manage members")),
    }
}

fn parse_role(text: &str) -> ApiResult<Role> {
    text.parse().map_err(|_| ApiError::BadRequest(format!("unknown role {text:?}: owner, admin or member")))
}
